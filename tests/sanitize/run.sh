#!/usr/bin/env bash
# The fast part of the test suite under AddressSanitizer and UBSan (with
# float-cast-overflow), halting on the first report.
#
#   tests/sanitize/run.sh [pytest args]     (default: the fast tests, below)
#
# Builds the library and the extension with the sanitizers into
# build/sanitize/ (its own venv and build tree; the caller's environment is not
# touched) and runs pytest there with libasan preloaded (Python itself is not
# instrumented). Reports cannot be swallowed by pytest's capture: the first
# report ends the process with a non-zero status (-fno-sanitize-recover=all,
# halt_on_error=1), pytest runs with --capture=sys so that reports written to
# file descriptor 2 reach the log (UBSan ignores log_path when combined with
# ASan), and this script fails if the run fails or its output holds a report.
# A probe with a deliberate signed overflow runs first and must be caught.
#
# Leak detection is off: CPython and libmlx keep allocations alive until exit
# by design, which LeakSanitizer reports as leaks.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/sanitize
py=${PYTHON:-python3}
jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
start=$SECONDS

flags="-fsanitize=address,undefined -fsanitize=float-cast-overflow \
-fno-sanitize-recover=all -fno-omit-frame-pointer"
# libasan first; libstdc++ with it, so that ASan's __cxa_throw interceptor
# finds the real one (Python loads libstdc++ only later, with the extension).
libasan=$(g++ -print-file-name=libasan.so)
libstdcxx=$(g++ -print-file-name=libstdc++.so.6)
if [[ ! -e $libasan || ! -e $libstdcxx ]]; then
  echo "sanitize: libasan or libstdc++ not found (g++ -print-file-name)" >&2
  exit 1
fi
preload="$libasan $libstdcxx"

# The build and test dependencies at the project's pins.
pin() { grep -o "\"$1==[^;\"]*" "$root/pyproject.toml" | head -1 | tr -d '"'; }
if [[ ! -x $out/venv/bin/python ]]; then
  "$py" -m venv "$out/venv"
fi
vpy=$out/venv/bin/python
"$vpy" -m pip install -q --disable-pip-version-check \
  "$(pin 'mlx\[cpu\]')" "$(pin nanobind)" scikit-build-core cmake ninja \
  pytest numpy hypothesis matplotlib
echo "sanitize: environment ready after $((SECONDS - start)) s"

# -O1, the level the sanitizers' documentation suggests: Release's -O3 took
# twice as long to build here (about 880 s against 450 s on 2 loaded cores).
# The CPU kernels for the baseline instruction set only: every instruction
# set compiles the same source, and the sanitizers check that source through
# any of them; the baseline's two kernel files compile side by side on 2
# cores, where AVX2's two more took a second round (about 190 s). The bits of
# every instruction set are compared by the main test run.
isas=(-Ccmake.define.MLX_COSINE_DECAY_CPU_ISAS=baseline)
# The build imports the sanitized module (nanobind's stubgen), so libasan is
# preloaded there too (into the compilers as well: harmless, leaks off).
LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 \
CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$vpy" -m pip install -q --disable-pip-version-check \
  --no-deps --no-build-isolation --force-reinstall "$root" \
  -Cbuild-dir="$out/build" \
  -Ccmake.build-type=Release \
  -Ccmake.define.CMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -Ccmake.define.CMAKE_CXX_FLAGS="$flags" \
  -Ccmake.define.CMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -Ccmake.define.CMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
  ${isas[@]+"${isas[@]}"}
echo "sanitize: built after $((SECONDS - start)) s"

export LD_PRELOAD=$preload
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONDONTWRITEBYTECODE=1
reported="runtime error:|ERROR: AddressSanitizer"
cd "$root"

# The probe: undefined behaviour under pytest must fail the run and show.
g++ $flags -shared -fPIC -o "$out/ub_probe.so" "$root/tests/sanitize/ub_probe.cpp"
if UB_PROBE_LIB=$out/ub_probe.so "$vpy" -m pytest -q -p no:cacheprovider \
    --capture=sys tests/sanitize/probe_ub.py >"$out/probe.log" 2>&1; then
  echo "sanitize: the probe's undefined behaviour went unnoticed" >&2
  exit 1
fi
if ! grep -q "runtime error: signed integer overflow" "$out/probe.log"; then
  echo "sanitize: the probe's report did not reach the output" >&2
  cat "$out/probe.log" >&2
  exit 1
fi
echo "sanitize: probe caught after $((SECONDS - start)) s"

# Not here: the slow tests (a C++ build), the type checker (no C++ runs),
# the NVRTC compiles (they run NVIDIA's compiler, from the test group, not
# our code), the thread test that limits address space (ulimit -v leaves
# ASan no room for its shadow memory), and the comparison of every
# instruction set's bits (this build has the baseline's only).
if [[ $# -eq 0 ]]; then
  set -- -m "not slow" --ignore=tests/test_typing.py \
    --ignore=tests/test_cuda_kernels.py \
    --deselect tests/test_threads.py::test_threads_that_cannot_start_do_not_abort \
    --deselect tests/test_kernel.py::test_every_instruction_set_gives_the_same_bits
fi
set +e
"$vpy" -m pytest -q -p no:cacheprovider --capture=sys "$@" 2>&1 | tee "$out/pytest.log"
status=${PIPESTATUS[0]}
set -e
if grep -Eq "$reported" "$out/pytest.log"; then
  grep -E -A30 "$reported" "$out/pytest.log" | head -80 >&2
  echo "sanitize: sanitizer reports (above; all of it in $out/pytest.log)" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "sanitize: pytest failed with status $status" >&2
  exit "$status"
fi
echo "sanitize: clean, $((SECONDS - start)) s in all"
