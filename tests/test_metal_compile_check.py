"""Compile checks of the Metal host code where Metal does not exist.

csrc/metal/eval_gpu.cpp is compiled with -D_METAL_ -fsyntax-only against
MLX's installed headers (backend/metal/device.h included) and a stand-in for
metal-cpp's Metal/Metal.hpp (tests/metal_stub/). Nothing is linked or run:
this catches type and API errors in the GPU host code, not Metal behaviour.
The shader's embedded source and every instantiation the host asks Metal for
are checked as C++ (tests/test_emulation.py runs them)."""

import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import pytest
from _emulation import mx_dtype
from conftest import (
    CSRC,
    EVAL_GPU,
    GPU_OUT_DTYPES,
    GPU_STEP_DTYPES,
    METAL_EMULATION,
    METAL_SHADER,
    METAL_STUB,
    dtype_name,
    inlined_kernel_source,
)

from mlx_cosine_decay import _ext

MLX_INCLUDE = Path(mx.__file__).parent / "include"
STEP_DTYPES = [dtype_name(d) for d in GPU_STEP_DTYPES]
OUT_DTYPES = [dtype_name(d) for d in GPU_OUT_DTYPES]


@pytest.fixture(scope="module")
def metal_cxx(cxx):
    if not (MLX_INCLUDE / "mlx" / "backend" / "metal" / "device.h").exists():
        pytest.skip("this mlx wheel ships no backend/metal/device.h")
    return cxx


def syntax_check(cxx, source, *defines, stub=True):
    cmd = [cxx, "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror"]
    cmd += [f"-D{d}" for d in defines]
    if stub:
        cmd += ["-isystem", str(METAL_STUB)]
    cmd += ["-isystem", str(MLX_INCLUDE), f"-I{CSRC}", str(source)]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS builds it for real")
def test_eval_gpu_compiles_with_metal(metal_cxx):
    r = syntax_check(metal_cxx, EVAL_GPU, "_METAL_")
    assert r.returncode == 0, r.stderr


def test_eval_gpu_compiles_without_metal(metal_cxx):
    r = syntax_check(metal_cxx, EVAL_GPU, stub=False)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS has the real header")
def test_eval_gpu_does_not_compile_with_metal_without_the_stand_in(metal_cxx):
    # Without the stand-in the Metal path cannot compile here: the check
    # above really compiles the _METAL_ branch.
    r = syntax_check(metal_cxx, EVAL_GPU, "_METAL_", stub=False)
    assert r.returncode != 0
    assert "Metal/Metal.hpp" in r.stderr


# The embedded source and the instantiations eval_gpu asks Metal for.


def test_embedded_source_is_the_shader_with_the_math_inlined():
    assert _ext._metal_source() == inlined_kernel_source(METAL_SHADER)


def library_specs():
    for large in (False, True):
        for out in OUT_DTYPES:
            yield (False, True, True, mx.int64, mx_dtype(out), large)
            yield (False, True, False, mx.int64, mx_dtype(out), large)
            for step in STEP_DTYPES:
                yield (True, False, False, mx_dtype(step), mx_dtype(out), large)
                yield (False, False, False, mx_dtype(step), mx_dtype(out), large)
                yield (False, False, True, mx_dtype(step), mx_dtype(out), large)


def test_every_kernel_has_its_own_library_name_and_source():
    source = _ext._metal_source()
    names = set()
    for spec in library_specs():
        kernel, library, text = _ext._metal_library(*spec)
        assert text.startswith(source)
        assert f'[[host_name("{kernel}")]]' in text
        assert library.endswith("_" + kernel) and library.startswith("mlx_cosine_decay_")
        names.add(library)
    assert len(names) == len(list(library_specs()))  # every kernel its own name


def test_every_instantiation_compiles(cxx, tmp_path):
    # Every [[host_name]] instantiation eval_gpu can emit, compiled as C++
    # against the shader (host_name becomes an empty attribute).
    source = _ext._metal_source()
    tails = [_ext._metal_library(*spec)[2][len(source) :] for spec in library_specs()]
    tu = tmp_path / "instantiations.cpp"
    tu.write_text(
        '#include "metal_compat.h"\n#define host_name(name)\n'
        + source
        + "".join(tails)
        + "\nint main() { return 0; }\n"
    )
    r = subprocess.run(
        [cxx, "-std=c++17", "-fsyntax-only", "-Wall", f"-I{METAL_EMULATION}", str(tu)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[:4000]
