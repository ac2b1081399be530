"""Shared by every test file: the repository paths the tests read, the C++
compiler, the list of step dtypes, the float64 truth, ulp distances and the
reference (mlx.optimizers.cosine_decay)."""

import math
import os
import shutil
from fractions import Fraction
from pathlib import Path

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest

import mlx_cosine_decay as mcd

# Every repository path the tests use, in one place.
ROOT = Path(__file__).resolve().parents[1]
MATH_HEADER = ROOT / "csrc" / "core" / "cosine_decay_math.h"  # backend-neutral math
METAL_SHADER = ROOT / "csrc" / "metal" / "cosine_decay.metal"
EVAL_GPU = ROOT / "csrc" / "metal" / "eval_gpu.cpp"
CSRC = ROOT / "csrc"  # include root of the C++ sources
METAL_EMULATION = ROOT / "tests" / "metal_emulation"  # emulate.cpp, metal_compat.h
METAL_STUB = ROOT / "tests" / "metal_stub"  # stand-in for metal-cpp's headers
CUDA_KERNELS = ROOT / "csrc" / "cuda" / "cosine_decay.cu"
CUDA_EVAL_GPU = ROOT / "csrc" / "cuda" / "eval_gpu.cpp"
CUDA_EMULATION = ROOT / "tests" / "cuda_emulation"  # emulate.cpp, cuda_compat.h
# The core headers the kernel sources include, as cmake/embed_kernel_source.cmake
# inlines them (paths relative to CSRC), in its order: the family's header
# brings the decay's.
CORE_HEADERS = ("core/kernel_params.h", "core/cosine_family_math.h", "core/cosine_decay_math.h")
EXAMPLES = ROOT / "examples"


def inlined_kernel_source(path):
    """A kernel source with the core headers inlined, as the build embeds it."""
    source = path.read_text()
    for header in CORE_HEADERS:
        line = f'#include "{header}"\n'
        assert line in source, f"{path} does not include {header}"
        source = source.replace(line, (CSRC / header).read_text().replace("#pragma once\n", ""))
    return source


def example_module(name):
    """Imports examples/<name>.py (a script, not a package) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_cxx():
    """The C++ compiler the compile tests use: $CXX, else the first on PATH."""
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def cxx():
    compiler = find_cxx()
    if compiler is None:
        pytest.skip("no C++ compiler")
    return compiler


# The step dtypes: every real dtype MLX has. Metal has no float64.
INT_DTYPES = [
    mx.bool_,
    mx.int8,
    mx.uint8,
    mx.int16,
    mx.uint16,
    mx.int32,
    mx.uint32,
    mx.int64,
    mx.uint64,
]
FLOAT_DTYPES = [mx.float16, mx.bfloat16, mx.float32, mx.float64]
STEP_DTYPES = INT_DTYPES + FLOAT_DTYPES
GPU_STEP_DTYPES = [d for d in STEP_DTYPES if d != mx.float64]
GPU_OUT_DTYPES = [mx.float32, mx.float16, mx.bfloat16]
# (step dtype, result dtype) pairs the op gives on a GPU: integer and float32
# steps give float32; half steps their own dtype, or float32 where a float32
# parameter promotes them.
GPU_PAIRS = [(d, mx.float32) for d in INT_DTYPES + [mx.float32]] + [
    (h, o) for h in (mx.float16, mx.bfloat16) for o in (h, mx.float32)
]


def dtype_name(dtype):
    """ "int32", "bool", ...: the name NumPy and the Metal emulator use."""
    return "bool" if dtype == mx.bool_ else str(dtype).split(".")[-1]


# NumPy's dtype of each step dtype (bfloat16 has none).
NP_DTYPES = {d: np.dtype(dtype_name(d)) for d in STEP_DTYPES if d != mx.bfloat16}

# (mantissa bits including the implicit one, minimum normal exponent)
_FORMAT = {
    mx.float16: (11, -14),
    mx.bfloat16: (8, -126),
    mx.float32: (24, -126),
    mx.float64: (53, -1022),
}


def to_numpy(a):
    """An mx.array as NumPy, exactly (bfloat16 widens to float32)."""
    if a.dtype == mx.bfloat16:
        a = a.astype(mx.float32)
    return np.array(a, copy=True)


def as_float64(a):
    """An mx.array as a float64 NumPy array (exact for every dtype but the
    64-bit integers beyond 2**53)."""
    return to_numpy(a).astype(np.float64)


def exact_values(a):
    """The entries of an mx.array exactly, as an object array of Python ints
    (integer and bool dtypes) or floats, in a's shape."""
    s = to_numpy(a)
    kind = int if s.dtype == np.bool_ or s.dtype.kind in "iu" else float
    return np.array([kind(v) for v in s.ravel()], dtype=object).reshape(s.shape)


def _exact_steps(step):
    """Steps as an object array of Python ints (integer dtypes) or a float64
    array (float dtypes): both hold every step exactly."""
    if isinstance(step, mx.array):
        s = to_numpy(step)
    else:
        s = np.asarray(step)
    if s.dtype == np.bool_ or s.dtype.kind in "iu":
        return np.vectorize(int, otypes=[object])(s) if s.size else s.astype(object)
    return s.astype(np.float64)


def truth(step, init, decay_steps, end=0.0):
    """end + (init - end) * cos(pi * min(s, D) / (2D))**2 in float64.

    cos^2(pi a / 2D) is even and 2D-periodic, so a clamped step a is first
    reduced exactly (integer remainder, or fmod on float64, which is exact) to
    m in [0, D]; then the distance q to the nearer of 0 and D (exact too) is
    the only rounded input: cos(pi q / 2D)**2 near 0, sin(pi q / 2D)**2 near
    D, so the truth keeps its relative accuracy where the value goes to end.
    init, end and decay_steps may be arrays (float64 / int) that broadcast.
    """
    s = _exact_steps(step)
    init = np.asarray(init, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    d_obj = np.asarray(decay_steps).astype(object)
    s, init, end, d_obj = np.broadcast_arrays(s, init, end, d_obj)
    if (
        s.dtype == object
        and (s.size == 0 or max(abs(int(v)) for v in s.flat) < 2**62)
        and (d_obj.size == 0 or max(int(v) for v in d_obj.flat) <= 2**61)
    ):
        s = s.astype(np.int64)
    d_max = max(int(v) for v in d_obj.flat) if d_obj.size else 0
    # Per element (exactly) where D does not fit the vectorized reduction:
    # 2D in int64, or D in a double for floating steps.
    if s.dtype == object or d_max > 2**61 or (s.dtype.kind == "f" and d_max > 2**53):
        out = np.empty(s.shape, dtype=np.float64)
        for idx in np.ndindex(s.shape):
            out[idx] = _truth_one(s[idx], float(init[idx]), int(d_obj[idx]), float(end[idx]))
        return out
    d = d_obj.astype(np.int64)
    if s.dtype == np.int64:
        a = np.minimum(s, d)
        m = np.remainder(a, 2 * d)  # in [0, 2D): the value is 2D-periodic
        m = np.where(m > d, 2 * d - m, m)
        near_end = m > d - m
        q = np.where(near_end, d - m, m).astype(np.float64)
    else:
        df = d.astype(np.float64)
        with np.errstate(invalid="ignore"):
            a = np.minimum(s, df)  # NaN stays NaN
            m = np.abs(np.fmod(a, 2 * df))  # exact; NaN for -inf
        m = np.where(m > df, 2 * df - m, m)
        near_end = m > df - m
        q = np.where(near_end, df - m, m)
    x = np.pi * q / (2.0 * d.astype(np.float64))
    f = np.where(near_end, np.sin(x) ** 2, np.cos(x) ** 2)
    return end + (init - end) * f


def _truth_one(s, init, d, end):
    if isinstance(s, (float, np.floating)):
        s = float(s)
        if math.isnan(s) or s == -math.inf:
            return math.nan
        # In rationals: exact for every D, also where D is not a double.
        a = Fraction(d) if s == math.inf else min(Fraction(s), Fraction(d))
        m = a % (2 * d)  # in [0, 2D)
        if m > d:
            m = 2 * d - m
        q_near_end = m > d - m
        q = (d - m) if q_near_end else m
    else:
        a = min(int(s), d)
        m = abs(a) % (2 * d)
        if m > d:
            m = 2 * d - m
        q_near_end = m > d - m
        q = (d - m) if q_near_end else m
    x = math.pi * float(q) / (2.0 * d)
    f = math.sin(x) ** 2 if q_near_end else math.cos(x) ** 2
    return end + (init - end) * f


def ulp(t, dtype):
    """The spacing of `dtype` at the values `t` (float64 array)."""
    p, emin = _FORMAT[dtype]
    t = np.abs(np.asarray(t, dtype=np.float64))
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(t > 0, t, 1.0)))
    e = np.where(t > 0, np.maximum(e, emin), emin)
    return np.ldexp(1.0, (e - p + 1).astype(np.int64))


def ulp_error(x, t, dtype):
    """|x - t| in units of `dtype`'s spacing at the truth t (NaN equal to NaN)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    both_nan = np.isnan(x) & np.isnan(t)
    err = np.abs(x - t) / ulp(t, dtype)
    return np.where(both_nan, 0.0, err)


def reference(init, decay_steps, end=0.0):
    return optim.cosine_decay(init, decay_steps, end)


def reference_or_none(init, decay_steps, end, step):
    """The reference's values, or None where it raises (overflow of a small
    step dtype, or decay_steps beyond int32)."""
    try:
        r = reference(init, decay_steps, end)(step)
        mx.eval(r)
        return r
    except (ValueError, OverflowError):
        return None


# Tolerances, in ulps of the output dtype at the truth.
# Ours rounds once from float32 (or float64) arithmetic; a few ulps cover the
# polynomial, the rounding of pi / 2D and the rounding of init and end.
OUR_ULPS = {mx.float16: 1.0, mx.bfloat16: 1.0, mx.float32: 4.0, mx.float64: 8.0}


def check_against_truth_and_reference(ours, step, init, decay_steps, end=0.0, ref=None, ulps=None):
    """Our values are within a few ulps of the truth (scaled to the larger
    of the value and the range, because init and end are rounded to the
    output dtype) and never worse than the reference by more than that."""
    dtype = ours.dtype
    t = truth(step, init, decay_steps, end)
    got = to_numpy(ours).astype(np.float64)
    assert got.shape == t.shape
    # Rounding init and end to the output dtype moves the value by up to an
    # ulp of max(|init|, |end|); that error is the reference's too.
    scale = np.maximum(
        np.abs(t),
        np.maximum(np.abs(np.asarray(init, np.float64)), np.abs(np.asarray(end, np.float64))),
    )
    err = np.abs(got - t)
    tol = (ulps if ulps is not None else OUR_ULPS[dtype]) * ulp(scale, dtype)
    assert np.all((err <= tol) | (np.isnan(got) & np.isnan(t))), (
        f"max error {np.nanmax(err / ulp(scale, dtype)):.3g} ulps of the scale; "
        f"worst at {np.unravel_index(np.nanargmax(err - tol), err.shape)}"
    )
    if ref is not None:
        assert ref.dtype == ours.dtype
        assert ref.shape == ours.shape
        ref_err = np.abs(to_numpy(ref).astype(np.float64) - t)
        assert np.all((err <= ref_err + tol) | (np.isnan(got) & np.isnan(t))), (
            "less accurate than mlx.optimizers.cosine_decay"
        )


@pytest.fixture
def restore_threads():
    before = mcd.num_threads()
    yield
    mcd.set_num_threads(0)
    assert mcd.num_threads() == before


@pytest.fixture
def rng():
    return np.random.default_rng(20260502)
