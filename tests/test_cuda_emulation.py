"""The CUDA kernels, run on the host: csrc/cuda/cosine_decay.cu compiled as C++
through tests/cuda_emulation/cuda_compat.h, called for every thread of every
block of a launch, and compared with the CPU path of the installed package
bit for bit (NaNs by position: a GPU's arithmetic need not keep a NaN step's
payload, as the host's does).

No GPU runs here: this checks the kernels' own code (indexing, bounds, strides,
donation, dtype conversions, the choice of compute and reduction types) on the
same math header the CPU uses. What it cannot check is NVRTC's code generation
(tests/test_cuda_kernels.py compiles every instantiation; bench/gpu_check.sh
runs them on a GPU)."""

import math
import shutil
import subprocess
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from mlx_cosine_decay import _ext

ROOT = Path(__file__).resolve().parents[1]
EMULATION = ROOT / "tests" / "cuda_emulation"
MLX_INCLUDE = Path(mx.__file__).parent / "include"

INTEGER_STEPS = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                 "int64"]
# (step dtype, output dtype) pairs the op can produce on the GPU: integer steps
# give float32 (or float64, which stays on the CPU); half steps give their own
# dtype or float32 when a float32 parameter promotes them.
PAIRS = ([(s, "float32") for s in INTEGER_STEPS + ["float32"]]
         + [("float16", "float16"), ("float16", "float32"),
            ("bfloat16", "bfloat16"), ("bfloat16", "float32")])
FLOATS = {"float16", "bfloat16", "float32"}
OUT_DTYPES = ["float32", "float16", "bfloat16"]
# The launches of csrc/cuda/eval_gpu.cpp (256 threads, 4 elements per thread
# for the contiguous kernel) and a small one that leaves spare threads in
# several blocks: (threads per block, elements per thread).
LAUNCHES = [(256, 4), (32, 1)]
# Every reduction type: int32 (2D <= INT32_MAX) and int64 for integer steps,
# float (2D <= 2^24) and double for floating steps.
DECAY_STEPS = [1, 7, 1000, 2**23, 2**23 + 1, 10**6, 2**30 - 1, 2**30, 3 * 10**9, 10**12]


def mx_dtype(name):
    return mx.bool_ if name == "bool" else getattr(mx, name)


def bits_dtype(name):
    return {"float32": np.uint32, "float16": np.uint16, "bfloat16": np.uint16}[name]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    assert cxx, "a C++ compiler is needed (the package itself needs one)"
    exe = tmp_path_factory.mktemp("cuda_emulation") / "emulate"
    cmd = [cxx, "-std=c++17", "-O1", "-ffp-contract=off", "-Wall", "-Wextra",
           f"-I{ROOT / 'metal'}", f"-I{ROOT / 'csrc' / 'cuda'}", f"-I{EMULATION}",
           f"-I{MLX_INCLUDE}", str(EMULATION / "emulate.cpp"), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[:4000]
    return exe


class Cases:
    """Launches written to directories, run by one emulator call."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.dirs = []

    def add(self, *, variant, step, out, threads, work_per_thread, size, scalars,
            idx=32, generated=False, array_params=False, donate=False, shape=(),
            strides=None, offsets=(0, 0, 0, 0), buffers=None):
        d = self.tmp / f"case{len(self.dirs)}"
        d.mkdir()
        per_block = threads * work_per_thread
        meta = [
            f"variant {variant}", f"step {step}", f"out {out}", f"idx {idx}",
            f"work_per_thread {work_per_thread}", f"generated {int(generated)}",
            f"array_params {int(array_params)}", f"donate {int(donate)}",
            "scalars {!r} {!r} {} {}".format(*scalars), f"size {size}",
            f"launch {max(1, -(-size // per_block))} {threads}",
            "shape " + " ".join(map(str, shape)),
            "strides " + " ".join(str(s) for st in (strides or []) for s in st),
            "offsets " + " ".join(map(str, offsets)),
        ]
        (d / "meta.txt").write_text("\n".join(meta) + "\n")
        for name in ("step", "init", "end", "decay_steps"):
            raw = (buffers or {}).get(name)
            (d / f"{name}.bin").write_bytes(b"" if raw is None else raw.tobytes())
        self.dirs.append((d, out))
        return len(self.dirs) - 1

    def run(self, emulator):
        r = subprocess.run([str(emulator)] + [str(d) for d, _ in self.dirs],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return [np.fromfile(d / "out.bin", dtype=bits_dtype(out)) for d, out in self.dirs]


def step_values(dtype, d):
    """Steps that reach every branch: both ends of the decay and its middle,
    past the end, negative steps in and beyond the first period, the dtype's
    limits, and for floats fractions, huge values, infinities and NaN."""
    if dtype == "bool":
        return [False, True]
    edges = [0, 1, 2, d // 2 - 1, d // 2, d // 2 + 1, d - 1, d, d + 1, 2 * d - 1,
             2 * d, 3 * d + 1, -1, -d + 1, -d, -d - 1, -2 * d, -3 * d - 2]
    edges += list(range(-20, 21))
    if dtype in FLOATS:
        return edges + [0.5, -0.5, 0.1, d - 0.5, d + 0.25, d / 2 + 0.5, -d - 0.5, 1e-30,
                        -0.0, 2.5e18, -2.5e18, 1e30, -1e30, math.inf, -math.inf, math.nan,
                        8388607.5, 5e6 + 0.75, -5e6 - 0.25]
    info = np.iinfo(getattr(np, dtype))
    edges += [info.min, info.min + 1, info.max - 1, info.max]
    return [v for v in edges if info.min <= v <= info.max]


def raw_array(dtype, values):
    """The values in `dtype` as raw bits (numpy) and as an mx.array."""
    if dtype == "bfloat16":
        a = mx.array(np.array(values, np.float32)).astype(mx.bfloat16)
        return np.array(a.view(mx.uint16)), a
    if dtype == "bool":
        raw = np.array(values, np.bool_)
    elif dtype in FLOATS:
        with np.errstate(over="ignore"):
            raw = np.array(values, np.float64).astype(getattr(np, dtype))
    else:
        raw = np.array(values, getattr(np, dtype))
    return raw, mx.array(raw)


def cpu(step, init, end, d, out):
    """The CPU path with init and end as arrays of the output dtype (values
    exact in every output dtype, so the scalar path computes the same)."""
    r = _ext.cosine_decay(step, mx.array(init, mx_dtype(out)), mx.array(d, mx.int64),
                          mx.array(end, mx_dtype(out)), stream=mx.cpu)
    assert r.dtype == mx_dtype(out)
    return r


def bits_of(a):
    if a.dtype == mx.bfloat16:
        a = a.view(mx.uint16)
    return np.array(a).reshape(-1).view(
        {mx.float32: np.uint32, mx.float16: np.uint16, mx.uint16: np.uint16}[a.dtype])


def is_nan(bits, out):
    b = bits.astype(np.uint32)
    if out == "float32":
        return (b & 0x7FFFFFFF) > 0x7F800000
    return (b & 0x7FFF) > (0x7C00 if out == "float16" else 0x7F80)


def assert_identical(got, want, out, what):
    want = bits_of(want)
    assert got.shape == want.shape, what
    nan = is_nan(want, out)
    assert np.array_equal(is_nan(got, out), nan), what
    bad = np.flatnonzero(got[~nan] != want[~nan])
    assert bad.size == 0, f"{what}: {bad.size} differ, first at {bad[:5]}"


@pytest.mark.parametrize("step,out", PAIRS)
def test_contiguous_equals_cpu(emulator, tmp_path, step, out):
    # end = 0 keeps the tiny values near the end of the decay visible.
    init, end = 0.375, 0.0
    cases, checks = Cases(tmp_path), []
    for d in DECAY_STEPS:
        raw, steps = raw_array(step, step_values(step, d))
        want = cpu(steps, init, end, d, out)
        for idx in (32, 64):
            for threads, n in LAUNCHES:
                cases.add(variant="contiguous", step=step, out=out, idx=idx,
                          threads=threads, work_per_thread=n, size=raw.size,
                          scalars=(init, end, d, 0), buffers={"step": raw})
                checks.append((want, f"D={d} idx={idx} launch={threads}x{n}"))
    for got, (want, what) in zip(cases.run(emulator), checks):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("step,out", [(s, o) for s, o in PAIRS if s == "int32" or s == o])
def test_contiguous_in_place(emulator, tmp_path, step, out):
    # A donated step buffer is the output: each element is read, then written.
    cases, checks = Cases(tmp_path), []
    for d in (7, 1000, 3 * 10**9):
        raw, steps = raw_array(step, step_values(step, d))
        cases.add(variant="contiguous", step=step, out=out, threads=32,
                  work_per_thread=4, size=raw.size, scalars=(1.5, -0.25, d, 0),
                  donate=True, buffers={"step": raw})
        checks.append((cpu(steps, 1.5, -0.25, d, out), f"D={d}"))
    for got, (want, what) in zip(cases.run(emulator), checks):
        assert_identical(got, want, out, what)


# (shape, element strides, offset of the first element, buffer length)
LAYOUTS = {
    "transposed": ((3, 4, 5), (1, 3, 12), 0, 60),
    "reversed_sliced": ((4, 6), (-15, 2), 45, 60),
    "broadcast": ((3, 7), (0, 1), 0, 7),
    "broadcast_rows": ((7, 3), (1, 0), 0, 7),
    "scalar": ((), (), 0, 1),
}


def strided_steps(step, d, layout):
    shape, strides, offset, length = LAYOUTS[layout]
    raw, _ = raw_array(step, step_values(step, d))
    base = np.resize(raw, length)
    view = np.lib.stride_tricks.as_strided(
        base[offset:], shape, [s * base.itemsize for s in strides])
    view = np.ascontiguousarray(view)
    steps = (mx.array(view.view(np.uint16)).view(mx.bfloat16) if step == "bfloat16"
             else mx.array(view))
    return base, steps, shape, list(strides), offset


@pytest.mark.parametrize("step,out", PAIRS)
def test_strided_scalar_params_equal_cpu(emulator, tmp_path, step, out):
    init, end = -1.5, 0.0
    cases, checks = Cases(tmp_path), []
    for layout in LAYOUTS:
        for d in (7, 2**23 + 1, 2**30, 10**12):
            base, steps, shape, strides, offset = strided_steps(step, d, layout)
            want = cpu(steps, init, end, d, out)
            zeros = [0] * len(shape)
            for idx in (32, 64):
                cases.add(variant="strided", step=step, out=out, idx=idx, threads=32,
                          work_per_thread=1, size=steps.size, scalars=(init, end, d, 0),
                          shape=shape, strides=[strides, zeros, zeros, zeros],
                          offsets=(offset, 0, 0, 0), buffers={"step": base})
                checks.append((want, f"{layout} D={d} idx={idx}"))
    for got, (want, what) in zip(cases.run(emulator), checks):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("step,out", PAIRS)
def test_strided_array_params_equal_cpu(emulator, tmp_path, step, out):
    # Steps (3, 4, 5) transposed; init (3, 1, 1), end (5,), decay_steps
    # (4, 1): every parameter broadcast differently; D < 1 gives NaN.
    init = np.array([1.0, -0.5, 0.75], np.float32)
    end = np.array([0.0, 0.125, -2.0, 0.5, 3.0], np.float32)
    init_raw, _ = raw_array(out, init)
    end_raw, _ = raw_array(out, end)
    cases, checks = Cases(tmp_path), []
    for ds in ([7, 10**12, 0, 3 * 10**9], [1, 2**23 + 1, -3, 2**40]):
        base, steps, shape, strides, offset = strided_steps(step, ds[0], "transposed")
        d = np.array(ds, np.int64)
        want = cpu(steps, init.reshape(3, 1, 1), end, d.reshape(4, 1), out)
        for idx in (32, 64):
            cases.add(variant="strided", step=step, out=out, idx=idx, threads=32,
                      work_per_thread=1, size=steps.size, scalars=(0.0, 0.0, 1, 0),
                      array_params=True, shape=shape,
                      strides=[strides, [1, 0, 0], [0, 0, 1], [0, 1, 0]],
                      offsets=(offset, 0, 0, 0),
                      buffers={"step": base, "init": init_raw, "end": end_raw,
                               "decay_steps": d})
            checks.append((want, f"D={ds} idx={idx}"))
    for got, (want, what) in zip(cases.run(emulator), checks):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("start", [-(10**12) - 5, -20, 0, 10**6 - 4, 2**40])
def test_generated_steps_equal_cpu(emulator, tmp_path, start):
    # values() of a grid: init (2, 1), end (3,), decay_steps (2, 3); the steps
    # start, ..., start + 8 come from the position on the last axis.
    init = np.array([1.0, 0.5], np.float32)
    end = np.array([0.0, -0.25, 0.125], np.float32)
    d = np.array([[1, 7, 10**6], [3 * 10**9, 2**40 + 3, 16]], np.int64)
    n = 9
    want = _ext.cosine_decay_values(mx.array(init.reshape(2, 1)), mx.array(d),
                                    mx.array(end), n, start, stream=mx.cpu)
    assert want.dtype == mx.float32
    cases = Cases(tmp_path)
    for idx in (32, 64):
        cases.add(variant="strided", step="int64", out="float32", idx=idx, threads=32,
                  work_per_thread=1, size=want.size, scalars=(0.0, 0.0, 1, start),
                  generated=True, array_params=True, shape=(2, 3, n),
                  strides=[[0, 0, 1], [1, 0, 0], [0, 1, 0], [3, 1, 0]],
                  buffers={"init": init, "end": end, "decay_steps": d})
    for got in cases.run(emulator):
        assert_identical(got, want, "float32", f"start={start}")


@pytest.mark.parametrize("start", [-(10**12) - 5, -20, 0, 2**40])
def test_generated_steps_scalar_params_equal_cpu(emulator, tmp_path, start):
    # schedule.values() with scalar parameters: no inputs; the contiguous
    # kernel (1-d output) and the strided one.
    init, end, n = 0.1, 1e-3, 300
    cases, checks = Cases(tmp_path), []
    for d in (7, 100, 3 * 10**9):
        want = _ext.cosine_decay_values(init, d, end, n, start, stream=mx.cpu)
        f32 = (float(np.float32(init)), float(np.float32(end)), d, start)
        for threads, k in LAUNCHES:
            cases.add(variant="contiguous", step="int64", out="float32", threads=threads,
                      work_per_thread=k, size=n, scalars=f32, generated=True)
            checks.append((want, f"contiguous D={d} launch={threads}x{k}"))
        cases.add(variant="strided", step="int64", out="float32", threads=32,
                  work_per_thread=1, size=n, scalars=f32, generated=True, shape=(n,),
                  strides=[[1], [0], [0], [0]])
        checks.append((want, f"strided D={d}"))
    for got, (want, what) in zip(cases.run(emulator), checks):
        assert_identical(got, want, "float32", what)


def test_emulation_detects_a_wrong_kernel(emulator, tmp_path):
    # The comparison is not vacuous: a different decay_steps changes the bits.
    raw, steps = raw_array("int32", step_values("int32", 1000))
    cases = Cases(tmp_path)
    cases.add(variant="contiguous", step="int32", out="float32", threads=32,
              work_per_thread=4, size=raw.size, scalars=(1.0, 0.0, 1001, 0),
              buffers={"step": raw})
    (got,) = cases.run(emulator)
    with pytest.raises(AssertionError):
        assert_identical(got, cpu(steps, 1.0, 0.0, 1000, "float32"), "float32", "D=1001")


@pytest.mark.slow
def test_half_conversions_are_mlx_cpu_ones(emulator):
    # Every float16 -> float and every float32 -> float16/bfloat16, bit for
    # bit against MLX's CPU types, NaNs included (about 15 s).
    r = subprocess.run([str(emulator), "--conversions"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
