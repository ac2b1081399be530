"""The CUDA kernels as the plugin compiles them, without a GPU: the embedded
source is csrc/cuda/cosine_decay.cu with the core headers inlined, every name
expression eval_gpu can ask for is distinct, and NVRTC (the nvidia-cuda-nvrtc
wheel, loaded with ctypes) compiles every one of them for sm_80 and sm_90 with
the plugin's options, and as PTX for the fallback path."""

import ctypes
import importlib.util
import platform
import sys
import threading
from pathlib import Path

import _wheels
import mlx.core as mx
import pytest
from conftest import CUDA_KERNELS, GPU_PAIRS, inlined_kernel_source

from mlx_cosine_decay import _ext

PAIRS = GPU_PAIRS
# csrc/cuda/eval_gpu.cpp `compile`.
OPTIONS = ["--fmad=false", "-std=c++17"]


def kernel_specs():
    """(contiguous, generated, array_params, step, out, large) of every kernel
    eval_gpu can launch."""
    for large in (False, True):
        for step, out in PAIRS:
            yield (True, False, False, step, out, large)
            yield (False, False, False, step, out, large)
            yield (False, False, True, step, out, large)
        # values(): float32 results (int64 steps made in the kernel)
        yield (True, True, False, mx.int64, mx.float32, large)
        yield (False, True, False, mx.int64, mx.float32, large)
        yield (False, True, True, mx.int64, mx.float32, large)


def test_embedded_source_is_the_cu_file_with_the_core_inlined():
    assert _ext._cuda_source() == inlined_kernel_source(CUDA_KERNELS)
    assert '#include "' not in _ext._cuda_source()  # NVRTC has no headers to find


def test_every_kernel_has_its_own_expression():
    expressions = [_ext._cuda_kernel(*spec) for spec in kernel_specs()]
    assert len(set(expressions)) == len(expressions) == 90
    assert _ext._cuda_kernel(True, False, False, mx.int32, mx.float32, False) == (
        "cosine_decay_cuda::cosine_decay_contiguous<int, float, unsigned int, 4, false>"
    )


def nvrtc_libraries():
    """libnvrtc of the installed NVIDIA wheels: nvidia-cuda-nvrtc (13, in the
    `test` dependency group) and nvidia-cuda-nvrtc-cu12 where installed."""
    spec = importlib.util.find_spec("nvidia")
    found = {}
    for root in spec.submodule_search_locations if spec else []:
        for version, rel in (
            ("13", "cu13/lib/libnvrtc.so.13"),
            ("12", "cuda_nvrtc/lib/libnvrtc.so.12"),
        ):
            if (Path(root) / rel).exists():
                found.setdefault(version, Path(root) / rel)
    return found


class Nvrtc:
    def __init__(self, path):
        self.lib = ctypes.CDLL(str(path))
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def check(self, result, what):
        if result != 0:
            raise RuntimeError(f"{what}: {self.lib.nvrtcGetErrorString(result).decode()}")

    def compile(self, source, expressions, arch):
        """Compiles the expressions in one program; returns the image's size,
        the lowered names and the log."""
        lib, prog = self.lib, ctypes.c_void_p()
        self.check(
            lib.nvrtcCreateProgram(
                ctypes.byref(prog), source.encode(), b"cosine_decay.cu", 0, None, None
            ),
            "create",
        )
        try:
            for e in expressions:
                self.check(lib.nvrtcAddNameExpression(prog, e.encode()), "name")
            opts = [f"--gpu-architecture={arch}".encode()] + [o.encode() for o in OPTIONS]
            result = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
            size = ctypes.c_size_t()
            lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(prog, log)
            assert result == 0, log.value.decode()[:4000]
            names = {}
            for e in expressions:
                lowered = ctypes.c_char_p()
                self.check(
                    lib.nvrtcGetLoweredName(prog, e.encode(), ctypes.byref(lowered)), "lowered name"
                )
                names[e] = lowered.value.decode()
            get_size = lib.nvrtcGetPTXSize if arch.startswith("compute_") else lib.nvrtcGetCUBINSize
            self.check(get_size(prog, ctypes.byref(size)), "image size")
            return size.value, names, log.value.decode()
        finally:
            lib.nvrtcDestroyProgram(ctypes.byref(prog))


def nvrtc(version):
    """NVRTC 13 from the `test` dependency group; NVRTC 12 (what mlx-cuda-12 uses) from
    the wheel cache, downloaded once (89 MB)."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the NVRTC wheels are for Linux x86_64")
    libs = nvrtc_libraries()
    if version == "12" and version not in libs:
        root = _wheels.unpacked("nvidia-cuda-nvrtc-cu12==12.9.*", "nvidia_cuda_nvrtc_cu12")
        libs["12"] = root / "nvidia" / "cuda_nvrtc" / "lib" / "libnvrtc.so.12"
    assert version in libs, "nvidia-cuda-nvrtc (13) is in the `test` group but not installed"
    return Nvrtc(libs[version])


@pytest.mark.slow
@pytest.mark.parametrize("version", ["13", "12"])
def test_nvrtc_compiles_every_kernel(version):
    # Every kernel eval_gpu can launch, for sm_80 (A100) and sm_90 (H100/H200),
    # compiled in parallel (NVRTC releases the GIL): about 35 s on 2 cores.
    compiler = nvrtc(version)
    source = _ext._cuda_source()
    expressions = [_ext._cuda_kernel(*spec) for spec in kernel_specs()]
    results, errors = {}, []

    def run(arch):
        try:
            results[arch] = compiler.compile(source, expressions, arch)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((arch, e))

    threads = [threading.Thread(target=run, args=(a,)) for a in ("sm_80", "sm_90")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for arch, (size, names, log) in results.items():
        assert size > 0 and "warning" not in log.lower(), (arch, log)
        assert len(set(names.values())) == len(expressions)
        assert all(n.startswith("_ZN17cosine_decay_cuda") for n in names.values())


def test_nvrtc_ptx_fallback():
    # A GPU newer than NVRTC knows gets PTX for the newest architecture it
    # knows (eval_gpu.cpp `target_for`), which the driver compiles on load.
    expression = _ext._cuda_kernel(False, False, True, mx.float16, mx.float16, True)
    size, names, _ = nvrtc("13").compile(_ext._cuda_source(), [expression], "compute_90")
    assert size > 0 and names[expression]
