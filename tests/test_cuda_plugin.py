"""One wheel for every MLX backend on Linux: our libraries, built against the
CPU libmlx, must load against the libmlx.so of mlx-cuda-12 and mlx-cuda-13
(which replace the CPU one in a CUDA install). Without a GPU (the CUDA libmlx
needs libcuda.so.1 to load at all) this checks the dynamic symbols: every
symbol our libraries leave undefined is defined by a library they load (the
CUDA libmlx, our main library, the C/C++ runtime) or, for the Python module,
by the interpreter. Also: the CUDA plugin is built and installed, and it is
loaded only where MLX has CUDA."""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import _wheels
import mlx.core as mx
import pytest

from mlx_cosine_decay import _ext

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64",
    reason="the CUDA wheels of MLX are for Linux x86_64",
)

PACKAGE = Path(_ext.__file__).parent
PLUGIN = PACKAGE / "lib" / "libmlx_cosine_decay_cuda.so"
MAIN = PACKAGE / "lib" / "libmlx_cosine_decay.so"


def dynamic_symbols(path, defined):
    nm = shutil.which("nm")
    assert nm, "binutils' nm is needed"
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(
        [nm, "-D", flag, str(path)], capture_output=True, text=True, check=True
    ).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split()
        kind, name = parts[-2], parts[-1]
        if not defined and kind == "w":  # weak: may stay undefined
            continue
        symbols.add(name.split("@")[0])
    return symbols


def needed(path):
    out = subprocess.run(
        ["readelf", "-d", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def system_library(name):
    """A C/C++ runtime library as the dynamic loader finds it."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " ") and "x86-64" in line:
            return Path(line.split("=>")[1].strip())
    pytest.fail(f"{name} not found by ldconfig")


def unresolved(library, libmlx):
    """The symbols `library` leaves undefined that none of the libraries it
    would load beside `libmlx` defines."""
    provided = set()
    for name in needed(library):
        if name == "libmlx.so":
            path = libmlx
        elif name == "libmlx_cosine_decay.so":
            path = MAIN
        else:
            path = system_library(name)
        provided |= dynamic_symbols(path, defined=True)
    missing = dynamic_symbols(library, defined=False) - provided
    if library.name.startswith("_ext"):  # the interpreter provides the C API
        missing = {s for s in missing if not s.startswith(("Py", "_Py"))}
    return missing


def test_plugin_is_installed_beside_the_main_library():
    # Built wherever the build finds CUDA headers: the build requirements
    # bring them on Linux (pyproject.toml).
    assert MAIN.exists()
    assert PLUGIN.exists(), (
        "the CUDA plugin was not built: a build without isolation needs the build "
        "requirements nvidia-cuda-runtime and nvidia-cuda-crt (or a CUDA toolkit)"
    )
    assert set(needed(PLUGIN)) >= {"libmlx.so", "libmlx_cosine_decay.so"}
    assert not any("cuda" in n or "nvrtc" in n for n in needed(PLUGIN))  # found at run time


def test_plugin_is_loaded_only_with_cuda():
    assert _ext._cuda_plugin_loaded() == mx.cuda.is_available()


@pytest.mark.slow
@pytest.mark.parametrize("cuda", ["12", "13"])
def test_symbols_resolve_against_cuda_libmlx(cuda):
    # Downloads mlx-cuda-<cuda> once (90 MB each, cached: see tests/_wheels.py).
    wheel = _wheels.unpacked(f"mlx-cuda-{cuda}=={mx.__version__}", f"mlx_cuda_{cuda}")
    libmlx = wheel / "mlx" / "lib" / "libmlx.so"
    for library in (PLUGIN, MAIN, next(PACKAGE.glob("_ext*.so"))):
        assert unresolved(library, libmlx) == set(), library.name
    # The check can fail: the CPU libmlx lacks the CUDA backend the plugin uses.
    cpu_libmlx = Path(mx.__file__).parent / "lib" / "libmlx.so"
    assert any("cu14CommandEncoder" in s for s in unresolved(PLUGIN, cpu_libmlx))


def test_main_library_loads_the_plugin_where_mlx_has_cuda(cxx, tmp_path):
    # C++ apps do not run the package's __init__: the main library loads the
    # plugin beside it at the first op on a GPU stream, where MLX's CUDA
    # backend is present (csrc/cuda/backend.cpp). Without a GPU, a preloaded
    # mlx::core::cu::is_available() that says yes makes it try: the loader's
    # log shows the plugin opened from the main library's directory (it then
    # fails to load against this CPU libmlx, and the op stays on the CPU).
    shim = tmp_path / "cuda_available.so"
    source = tmp_path / "cuda_available.cpp"
    source.write_text("namespace mlx::core::cu { bool is_available() { return true; } }\n")
    subprocess.run([cxx, "-shared", "-fPIC", str(source), "-o", str(shim)], check=True)
    ext = next(PACKAGE.glob("_ext*.so"))
    probe = (
        "import importlib.util, mlx.core\n"
        f"spec = importlib.util.spec_from_file_location('mlx_cosine_decay._ext', {str(ext)!r})\n"
        "ext = importlib.util.module_from_spec(spec); spec.loader.exec_module(ext)\n"
        "print('loaded', ext._cuda_plugin_loaded())\n"
    )

    def run(preload):
        env = dict(os.environ, LD_DEBUG="files")
        if preload:
            # After what is preloaded already (the sanitizer run's libasan
            # must stay first).
            env["LD_PRELOAD"] = " ".join(filter(None, [os.environ.get("LD_PRELOAD"), str(shim)]))
        r = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
        )
        assert r.returncode == 0, r.stderr[-4000:]
        return r.stdout, r.stderr

    out, log = run(preload=True)
    assert "loaded False" in out
    assert f"file={PLUGIN}" in log or f"file={PLUGIN.resolve()}" in log
    out, log = run(preload=False)
    assert "loaded False" in out and PLUGIN.name not in log
