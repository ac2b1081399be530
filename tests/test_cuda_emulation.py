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

import subprocess
from pathlib import Path

import _emulation as em
import mlx.core as mx
import numpy as np
import pytest
from conftest import CSRC, CUDA_EMULATION, GPU_PAIRS, dtype_name

from mlx_cosine_decay import _ext

MLX_INCLUDE = Path(mx.__file__).parent / "include"

PAIRS = [(dtype_name(s), dtype_name(o)) for s, o in GPU_PAIRS]
# The launches of csrc/cuda/eval_gpu.cpp (256 threads, 4 elements per thread
# for the contiguous kernel) and a small one that leaves spare threads in
# several blocks: (threads per block, elements per thread).
LAUNCHES = [(256, 4), (32, 1)]


@pytest.fixture(scope="module")
def emulator(cxx, tmp_path_factory):
    exe = tmp_path_factory.mktemp("cuda_emulation") / "emulate"
    cmd = [
        cxx,
        "-std=c++17",
        "-O1",
        "-ffp-contract=off",
        "-Wall",
        "-Wextra",
        f"-I{CSRC}",
        f"-I{CUDA_EMULATION}",
        f"-I{MLX_INCLUDE}",
        str(CUDA_EMULATION / "emulate.cpp"),
        "-o",
        str(exe),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[:4000]
    return exe


class Cases:
    """Launches written to directories, run by one emulator call."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.dirs = []

    def add(
        self,
        *,
        variant,
        step,
        out,
        threads,
        work_per_thread,
        size,
        scalars,
        idx=32,
        generated=False,
        array_params=False,
        donate=False,
        shape=(),
        strides=None,
        offsets=(0, 0, 0, 0),
        buffers=None,
    ):
        d = self.tmp / f"case{len(self.dirs)}"
        d.mkdir()
        per_block = threads * work_per_thread
        em.write_case(
            d,
            {
                "variant": variant,
                "step": step,
                "out": out,
                "idx": idx,
                "work_per_thread": work_per_thread,
                "generated": int(generated),
                "array_params": int(array_params),
                "donate": int(donate),
                "scalars": scalars,
                "size": size,
                "launch": (max(1, -(-size // per_block)), threads),
                "shape": shape,
                "strides": [s for st in (strides or []) for s in st],
                "offsets": offsets,
            },
            buffers,
        )
        self.dirs.append((d, out))
        return len(self.dirs) - 1

    def run(self, emulator):
        r = subprocess.run(
            [str(emulator)] + [str(d) for d, _ in self.dirs], capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        return [np.fromfile(d / "out.bin", dtype=em.bits_dtype(out)) for d, out in self.dirs]


def raw_array(dtype, values):
    """The values in `dtype` as raw bits (numpy) and as an mx.array."""
    raw, to_mx = em.step_buffer(dtype, values)
    return raw, to_mx(raw)


def cpu(step, init, end, d, out):
    """The CPU path with init and end as arrays of the output dtype (values
    exact in every output dtype, so the scalar path computes the same)."""
    r = _ext.cosine_decay(
        step,
        mx.array(init, em.mx_dtype(out)),
        mx.array(d, mx.int64),
        mx.array(end, em.mx_dtype(out)),
        stream=mx.cpu,
    )
    assert r.dtype == em.mx_dtype(out)
    return r


def bits_of(a):
    if a.dtype == mx.bfloat16:
        a = a.view(mx.uint16)
    return (
        np.array(a)
        .reshape(-1)
        .view({mx.float32: np.uint32, mx.float16: np.uint16, mx.uint16: np.uint16}[a.dtype])
    )


def assert_identical(got, want, out, what):
    want = bits_of(want)
    assert got.shape == want.shape, what
    nan = em.is_nan(want, out)
    assert np.array_equal(em.is_nan(got, out), nan), what
    bad = np.flatnonzero(got[~nan] != want[~nan])
    assert bad.size == 0, f"{what}: {bad.size} differ, first at {bad[:5]}"


@pytest.mark.parametrize("step,out", PAIRS)
def test_contiguous_equals_cpu(emulator, tmp_path, step, out):
    # end = 0 keeps the tiny values near the end of the decay visible.
    init, end = 0.375, 0.0
    cases, checks = Cases(tmp_path), []
    for d in em.DECAY_STEPS:
        raw, steps = raw_array(step, em.step_values(step, d))
        want = cpu(steps, init, end, d, out)
        for idx in (32, 64):
            for threads, n in LAUNCHES:
                cases.add(
                    variant="contiguous",
                    step=step,
                    out=out,
                    idx=idx,
                    threads=threads,
                    work_per_thread=n,
                    size=raw.size,
                    scalars=(init, end, d, 0),
                    buffers={"step": raw},
                )
                checks.append((want, f"D={d} idx={idx} launch={threads}x{n}"))
    for got, (want, what) in zip(cases.run(emulator), checks, strict=True):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("step,out", [(s, o) for s, o in PAIRS if s == "int32" or s == o])
def test_contiguous_in_place(emulator, tmp_path, step, out):
    # A donated step buffer is the output: each element is read, then written.
    cases, checks = Cases(tmp_path), []
    for d in (7, 1000, 3 * 10**9):
        raw, steps = raw_array(step, em.step_values(step, d))
        cases.add(
            variant="contiguous",
            step=step,
            out=out,
            threads=32,
            work_per_thread=4,
            size=raw.size,
            scalars=(1.5, -0.25, d, 0),
            donate=True,
            buffers={"step": raw},
        )
        checks.append((cpu(steps, 1.5, -0.25, d, out), f"D={d}"))
    for got, (want, what) in zip(cases.run(emulator), checks, strict=True):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("step,out", PAIRS)
def test_strided_scalar_params_equal_cpu(emulator, tmp_path, step, out):
    init, end = -1.5, 0.0
    cases, checks = Cases(tmp_path), []
    for layout in em.LAYOUTS:
        for d in (7, 2**23 + 1, 2**30, 10**12):
            base, steps, shape, strides, offset = em.strided_steps(
                step, em.step_values(step, d), layout
            )
            want = cpu(steps, init, end, d, out)
            zeros = [0] * len(shape)
            for idx in (32, 64):
                cases.add(
                    variant="strided",
                    step=step,
                    out=out,
                    idx=idx,
                    threads=32,
                    work_per_thread=1,
                    size=steps.size,
                    scalars=(init, end, d, 0),
                    shape=shape,
                    strides=[strides, zeros, zeros, zeros],
                    offsets=(offset, 0, 0, 0),
                    buffers={"step": base},
                )
                checks.append((want, f"{layout} D={d} idx={idx}"))
    for got, (want, what) in zip(cases.run(emulator), checks, strict=True):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("step,out", PAIRS)
def test_strided_array_params_equal_cpu(emulator, tmp_path, step, out):
    # Steps (3, 4, 5) transposed; init (3, 1, 1), end (5,), decay_steps
    # (4, 1): every parameter broadcast differently; D outside [1, 2**62 - 1]
    # gives NaN.
    init = np.array([1.0, -0.5, 0.75], np.float32)
    end = np.array([0.0, 0.125, -2.0, 0.5, 3.0], np.float32)
    init_raw, end_raw = init, end  # float32: the op's param_dtype for every GPU result
    cases, checks = Cases(tmp_path), []
    for ds in ([7, 10**12, 2**62, 3 * 10**9], [1, 2**23 + 1, -3, 2**40]):
        base, steps, shape, strides, offset = em.strided_steps(
            step, em.step_values(step, ds[0]), "transposed"
        )
        d = np.array(ds, np.int64)
        want = cpu(steps, init.reshape(3, 1, 1), end, d.reshape(4, 1), out)
        for idx in (32, 64):
            cases.add(
                variant="strided",
                step=step,
                out=out,
                idx=idx,
                threads=32,
                work_per_thread=1,
                size=steps.size,
                scalars=(0.0, 0.0, 1, 0),
                array_params=True,
                shape=shape,
                strides=[strides, [1, 0, 0], [0, 0, 1], [0, 1, 0]],
                offsets=(offset, 0, 0, 0),
                buffers={"step": base, "init": init_raw, "end": end_raw, "decay_steps": d},
            )
            checks.append((want, f"D={ds} idx={idx}"))
    for got, (want, what) in zip(cases.run(emulator), checks, strict=True):
        assert_identical(got, want, out, what)


@pytest.mark.parametrize("start", [-(10**12) - 5, -20, 0, 10**6 - 4, 2**40])
def test_generated_steps_equal_cpu(emulator, tmp_path, start):
    # values() of a grid: init (2, 1), end (3,), decay_steps (2, 3); the steps
    # start, ..., start + 8 come from the position on the last axis.
    init = np.array([1.0, 0.5], np.float32)
    end = np.array([0.0, -0.25, 0.125], np.float32)
    d = np.array([[1, 7, 10**6], [3 * 10**9, 2**40 + 3, 16]], np.int64)
    n = 9
    want = _ext.cosine_decay_values(
        mx.array(init.reshape(2, 1)), mx.array(d), mx.array(end), n, start, stream=mx.cpu
    )
    assert want.dtype == mx.float32
    cases = Cases(tmp_path)
    for idx in (32, 64):
        cases.add(
            variant="strided",
            step="int64",
            out="float32",
            idx=idx,
            threads=32,
            work_per_thread=1,
            size=want.size,
            scalars=(0.0, 0.0, 1, start),
            generated=True,
            array_params=True,
            shape=(2, 3, n),
            strides=[[0, 0, 1], [1, 0, 0], [0, 1, 0], [3, 1, 0]],
            buffers={"init": init, "end": end, "decay_steps": d},
        )
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
            cases.add(
                variant="contiguous",
                step="int64",
                out="float32",
                threads=threads,
                work_per_thread=k,
                size=n,
                scalars=f32,
                generated=True,
            )
            checks.append((want, f"contiguous D={d} launch={threads}x{k}"))
        cases.add(
            variant="strided",
            step="int64",
            out="float32",
            threads=32,
            work_per_thread=1,
            size=n,
            scalars=f32,
            generated=True,
            shape=(n,),
            strides=[[1], [0], [0], [0]],
        )
        checks.append((want, f"strided D={d}"))
    for got, (want, what) in zip(cases.run(emulator), checks, strict=True):
        assert_identical(got, want, "float32", what)


def test_emulation_detects_a_wrong_kernel(emulator, tmp_path):
    # The comparison is not vacuous: a different decay_steps changes the bits.
    raw, steps = raw_array("int32", em.step_values("int32", 1000))
    cases = Cases(tmp_path)
    cases.add(
        variant="contiguous",
        step="int32",
        out="float32",
        threads=32,
        work_per_thread=4,
        size=raw.size,
        scalars=(1.0, 0.0, 1001, 0),
        buffers={"step": raw},
    )
    (got,) = cases.run(emulator)
    with pytest.raises(AssertionError):
        assert_identical(got, cpu(steps, 1.0, 0.0, 1000, "float32"), "float32", "D=1001")


@pytest.mark.slow
def test_half_conversions_are_mlx_cpu_ones(emulator):
    # Every float16 -> float and every float32 -> float16/bfloat16, bit for
    # bit against MLX's CPU types, NaNs included (about 15 s).
    r = subprocess.run([str(emulator), "--conversions"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
