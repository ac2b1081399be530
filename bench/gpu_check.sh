#!/usr/bin/env bash
# The GPU check: the CUDA kernels on an NVIDIA machine without network (the
# lent H200: Python 3.12 with torch, jax, cupy and the CUDA 13 libraries, no
# MLX). It installs carried wheels, builds this package as pip's isolated
# build would (against the CPU libmlx), installs it beside MLX's CUDA build,
# runs tests/test_gpu.py on CUDA and prints bench/bench_gpu.py's table.
#
#   bench/gpu_check.sh --prepare   here (network): the wheels into .gpu-wheels/
#                                  part1/ and part2/, each under 64 MiB (one
#                                  call carries at most 64 MiB; mlx-cuda-13
#                                  alone is 90 MB, so it travels split).
#   bench/gpu_check.sh             there, twice in a row while the machine is
#                                  warm: carrying .gpu-wheels/part1 (stashed in
#                                  $STASH), then .gpu-wheels/part2 (the rest,
#                                  then the check).
#   bench/gpu_check.sh --dry-run   here: --prepare, both calls' stash steps in
#                                  a scratch $STASH, the wheels' reassembly and
#                                  installation (for Python 3.12), the build, and
#                                  what runs without a GPU (tests/test_gpu.py
#                                  skips; the benchmark on the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

MLX_VERSION=0.32.4
WHEELS=.gpu-wheels
STASH=${STASH:-/tmp/mlx-cosine-decay-gpu-check}
PY=${PYTHON:-python3}
PART_BYTES=$((48 * 1024 * 1024))
LIMIT_BYTES=$((64 * 1024 * 1024))

log() { printf '== %s\n' "$*"; }

prepare() {
  local dl=$WHEELS/download
  mkdir -p "$dl" "$WHEELS/part1" "$WHEELS/part2"
  log "downloading wheels for cp312 manylinux x86_64 into $dl"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_35_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$dl" \
    "mlx==$MLX_VERSION" "mlx-cpu==$MLX_VERSION" "mlx-cuda-13==$MLX_VERSION" \
    "nanobind==3.1.0" "nvidia-cuda-crt==13.*"
  rm -f "$WHEELS"/part1/* "$WHEELS"/part2/*
  local cuda_wheel
  cuda_wheel=$(ls "$dl"/mlx_cuda_13-*.whl)
  basename "$cuda_wheel" >"$WHEELS/part2/cuda_wheel_name"
  (cd "$dl" && sha256sum "$(basename "$cuda_wheel")") >"$WHEELS/part2/cuda_wheel.sha256"
  split -b "$PART_BYTES" -d "$cuda_wheel" "$WHEELS/part1/cuda_wheel.part"
  mv "$WHEELS"/part1/cuda_wheel.part0[1-9] "$WHEELS/part2/"
  cp "$dl"/mlx-*.whl "$dl"/mlx_cpu-*.whl "$dl"/nanobind-*.whl "$dl"/nvidia_cuda_crt-*.whl \
    "$WHEELS/part2/"
  local tree
  tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
  for part in part1 part2; do
    local size
    size=$(du -cb "$WHEELS/$part" | tail -1 | cut -f1)
    log "$part: $((size / 1024 / 1024)) MiB (+ $((tree / 1024)) KiB of tracked files)"
    if ((size + tree > LIMIT_BYTES)); then
      echo "$part is over the 64 MiB a call carries" >&2
      exit 1
    fi
  done
}

# Copies the carried part into $STASH; true once every part is there.
stash() {
  mkdir -p "$STASH"
  for part in "$WHEELS"/part1 "$WHEELS"/part2; do
    if [[ -d $part ]] && compgen -G "$part/*" >/dev/null; then
      cp "$part"/* "$STASH/"
      log "stashed $part in $STASH"
    fi
  done
  [[ -f $STASH/cuda_wheel.part00 && -f $STASH/cuda_wheel.part01 && -f $STASH/cuda_wheel_name ]]
}

# The mlx-cuda-13 wheel from its parts, checked against its hash.
assemble() {
  local name
  name=$(cat "$STASH/cuda_wheel_name")
  cat "$STASH"/cuda_wheel.part0* >"$STASH/$name"
  (cd "$STASH" && sha256sum -c --quiet cuda_wheel.sha256)
  log "assembled $name"
}

# pip install of wheels into a target directory, offline, for Python 3.12.
install_into() {
  local target=$1
  shift
  rm -rf "$target"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --only-binary=:all: --python-version 3.12 --target "$target" "$@"
}

# The CUDA libraries libmlx needs (cuBLAS, cuDNN, NCCL, NVRTC, ...) are the
# machine's own nvidia-* wheels; libmlx's RPATH expects them beside it.
cuda_library_path() {
  "$PY" - <<'EOF'
import glob, importlib.util
spec = importlib.util.find_spec("nvidia")
dirs = [d for root in (spec.submodule_search_locations if spec else [])
        for d in sorted(glob.glob(root + "/*/lib"))]
print(":".join(dirs))
EOF
}

build_wheel() {
  log "building the package against the CPU libmlx (as pip's isolated build does)"
  install_into "$STASH/build-site" "$STASH"/mlx-*.whl "$STASH"/mlx_cpu-*.whl \
    "$STASH"/nanobind-*.whl "$STASH"/nvidia_cuda_crt-*.whl
  rm -rf "$STASH/dist"
  PYTHONPATH=$STASH/build-site "$PY" -m pip wheel -q --no-index --no-deps \
    --no-build-isolation -Cbuild-dir=build/gpu-check -w "$STASH/dist" .
  ls -la "$STASH"/dist
}

run_check() {
  assemble
  build_wheel
  log "installing mlx + mlx-cuda-13 + the package"
  install_into "$STASH/site" "$STASH"/mlx-*.whl "$STASH/$(cat "$STASH/cuda_wheel_name")" \
    "$STASH"/dist/mlx_cosine_decay-*.whl
  export PYTHONPATH=$STASH/site
  LD_LIBRARY_PATH=$(cuda_library_path)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  "$PY" -c "
import mlx.core as mx
assert mx.cuda.is_available(), 'MLX sees no CUDA GPU'
from mlx_cosine_decay import _ext
assert _ext._cuda_plugin_loaded(), 'the CUDA plugin did not load'
print('mlx', mx.__version__, 'CUDA plugin loaded')"
  log "tests/test_gpu.py on CUDA"
  "$PY" -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_cuda_plugin.py \
    -k "not symbols" -rs || status=$?
  log "benchmark"
  "$PY" bench/bench_gpu.py --sizes 1e6,1e7,1e8,1e9 --repeat 10
  exit "${status:-0}"
}

case "${1:-}" in
  --prepare)
    prepare
    ;;
  --dry-run)
    prepare
    STASH=$(mktemp -d)
    log "dry run in $STASH"
    saved=$(mktemp -d)
    mv "$WHEELS/part2" "$saved/"
    if stash; then echo "stashed everything from part1 alone?" >&2; exit 1; fi
    mv "$saved/part2" "$WHEELS/" && mv "$WHEELS/part1" "$saved/"
    stash || { echo "part2 did not complete the stash" >&2; exit 1; }
    mv "$saved/part1" "$WHEELS/"
    assemble
    install_into "$STASH/build-site" "$STASH"/mlx-*.whl "$STASH"/mlx_cpu-*.whl \
      "$STASH"/nanobind-*.whl "$STASH"/nvidia_cuda_crt-*.whl
    install_into "$STASH/site" "$STASH"/mlx-*.whl "$STASH/$(cat "$STASH/cuda_wheel_name")"
    test -f "$STASH/site/mlx/lib/libmlx.so" && test -f "$STASH/build-site/mlx/lib/libmlx.so"
    log "installs for Python 3.12 unpack; building with this Python ($("$PY" --version))"
    rm -rf "$STASH/dist"
    "$PY" -m pip wheel -q --no-deps --no-build-isolation -Cbuild-dir=build/gpu-check \
      -w "$STASH/dist" .
    unzip -l "$STASH"/dist/mlx_cosine_decay-*.whl | grep -E "libmlx_cosine_decay(_cuda)?\.so"
    log "what runs without a GPU"
    "$PY" -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_cuda_plugin.py \
      -k "not symbols" -rs
    "$PY" bench/bench_gpu.py --cpu --sizes 1e5,1e6 --repeat 3
    rm -rf "$STASH"
    log "dry run passed"
    ;;
  "")
    if stash; then
      run_check
    else
      log "part stashed; run again carrying the other part of $WHEELS"
    fi
    ;;
  *)
    echo "usage: $0 [--prepare | --dry-run]" >&2
    exit 2
    ;;
esac
