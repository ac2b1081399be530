"""The Metal kernels, run on the host: the shader (conftest.METAL_SHADER) compiled as C++
through tests/metal_emulation/metal_compat.h, called at every thread position
of a grid, and compared with the CPU path of the installed package (within
one unit where the output is half precision; within the float32 path's error bound
for float32 outputs, since the CPU computes in double).

Metal itself cannot run here; this checks the shader's own code (indexing,
bounds, strides, dtype handling, the choice of reduction type) on the same
math header. What it cannot check is the Metal compiler (see the README)."""

import subprocess

import mlx.core as mx
import numpy as np
import pytest
from _emulation import (
    DECAY_STEPS,
    LAYOUTS,
    bits_dtype,
    is_nan,
    mx_dtype,
    step_buffer,
    step_values,
    strided_steps,
    write_case,
)
from conftest import (
    CSRC,
    GPU_OUT_DTYPES,
    GPU_STEP_DTYPES,
    METAL_EMULATION,
    METAL_SHADER,
    dtype_name,
    inlined_kernel_source,
    to_numpy,
)

import mlx_cosine_decay as mcd
from mlx_cosine_decay import _ext

STEP_DTYPES = [dtype_name(d) for d in GPU_STEP_DTYPES]
OUT_DTYPES = [dtype_name(d) for d in GPU_OUT_DTYPES]
WORK_PER_THREAD = 4  # as csrc/core/kernel_params.h


@pytest.fixture(scope="module")
def emulator(cxx, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metal_emulation")
    probe = tmp / "probe.cpp"
    probe.write_text("int main() { _Float16 h = 1.5f; return (float)h == 1.5f ? 0 : 1; }\n")
    if (
        subprocess.run(
            [cxx, "-std=c++17", str(probe), "-o", str(tmp / "probe")], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip(f"{cxx} has no _Float16 (needed to emulate Metal's half)")
    exe = tmp / "emulate"
    cmd = [
        cxx,
        "-std=c++17",
        "-O1",
        "-ffp-contract=off",
        "-Wall",
        "-Wextra",
        f"-I{CSRC}",
        f"-I{METAL_EMULATION}",
        str(METAL_EMULATION / "emulate.cpp"),
        "-o",
        str(exe),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def metal_step_values(dtype, d):
    # Float steps below -2^62 stay in float on the GPU (see the shader): the
    # only place it may differ from the CPU, which uses double there.
    return step_values(dtype, d, below_minus_2_62=2 * d <= 2**24)


def param_buffer(out, values):
    """Parameters as the kernel reads them (float32 for every Metal output
    dtype: the op's param_dtype) and as float32 for the reference."""
    f32 = np.array(values, np.float32)
    return f32, f32


def bits_of(reference, out):
    """The CPU's float32 result rounded once to `out`, as bits."""
    r = reference.astype(mx_dtype(out))
    if out == "bfloat16":
        r = r.view(mx.uint16)
    return np.array(r).reshape(-1).view(bits_dtype(out))


def emulate(
    exe,
    tmp,
    *,
    variant,
    step,
    out,
    idx,
    size,
    grid,
    scalars,
    generated=False,
    array_params=False,
    shape=(),
    strides=None,
    offsets=(0, 0, 0, 0),
    buffers=None,
    family=None,
):
    strides = strides or [[] for _ in range(4)]
    meta = {} if family is None else {"family": list(family)}
    meta.update(
        {
            "variant": variant,
            "step": step,
            "out": out,
            "idx": idx,
            "generated": int(generated),
            "array_params": int(array_params),
            "scalars": scalars,
            "size": size,
            "grid": grid,
            "ndim": len(shape),
            "shape": shape,
            "strides": [s for st in strides for s in st],
            "offsets": offsets,
        }
    )
    write_case(tmp, meta, buffers)
    r = subprocess.run([str(exe), str(tmp)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return np.fromfile(tmp / "out.bin", dtype=bits_dtype(out))


def values_of(bits, out):
    if out == "bfloat16":
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return bits.view(getattr(np, out)).astype(np.float64)


def assert_same(got, reference, out, what, end=0.0):
    """The shader computes in float32 (Metal has no double), the CPU in
    double with one rounding: float32 results may differ by the float path's
    error, 4 ulp of the value (and of its distance from `end`, the scale of
    the cancellation in end + (init - end) * decay) plus 1 ulp of `end`.
    float16/bfloat16 results, rounded once from either, differ by at most 1
    unit of the last place."""
    want = bits_of(reference, out)
    assert got.shape == want.shape, what
    nan = is_nan(want, out)
    assert np.array_equal(is_nan(got, out), nan), what
    g, w = values_of(got, out)[~nan], values_of(want, out)[~nan]
    if out == "float32":
        e = np.broadcast_to(np.asarray(end, np.float64), reference.shape).reshape(-1)[~nan]
        ulp = lambda x: np.spacing(np.abs(x).astype(np.float32)).astype(np.float64)
        tol = 4 * ulp(np.maximum(np.abs(w), np.abs(w - e))) + ulp(e)
    else:
        tol = np.abs(values_of(want[~nan] + 1, out) - w)  # one unit up
    bad = np.flatnonzero(np.abs(g - w) > tol)
    assert bad.size == 0, (
        f"{what}: {bad.size} differ, first at {bad[:5]}: {g[bad[:3]]} vs {w[bad[:3]]}"
    )


def grids(threads):
    """A 1-d grid with spare threads (idx 32) and a 2-d one (idx 64)."""
    return [(32, (threads + 3, 1)), (64, (3, -(-threads // 3) + 1))]


def cpu_values(step, init, end, d):
    # float32 parameters promote every step dtype to a float32 result: the
    # CPU's value before its one rounding to the output dtype.
    r = _ext.cosine_decay(step, mx.array(init), mx.array(d, mx.int64), mx.array(end), stream=mx.cpu)
    assert r.dtype == mx.float32
    return r


@pytest.mark.parametrize("out", OUT_DTYPES)
@pytest.mark.parametrize("step", STEP_DTYPES)
def test_contiguous_steps_match_the_cpu(emulator, tmp_path, step, out):
    # end = 0 keeps the tiny values near the end of the decay visible.
    init, end = float(np.float32(0.1)), 0.0
    for d in DECAY_STEPS:
        raw, to_mx = step_buffer(step, metal_step_values(step, d))
        ref = cpu_values(to_mx(raw), init, end, d)
        threads = -(-raw.size // WORK_PER_THREAD)
        for idx, grid in grids(threads):
            got = emulate(
                emulator,
                tmp_path,
                variant="contiguous",
                step=step,
                out=out,
                idx=idx,
                size=raw.size,
                grid=grid,
                scalars=(init, end, d, 0),
                buffers={"step": raw},
            )
            assert_same(got, ref, out, f"contiguous D={d} idx={idx}")


@pytest.mark.parametrize("out", OUT_DTYPES)
@pytest.mark.parametrize("step", STEP_DTYPES)
def test_strided_steps_scalar_params_match_the_cpu(emulator, tmp_path, step, out):
    init, end = float(np.float32(-1.5)), 0.0
    for layout in LAYOUTS:
        for d in (7, 2**30, 10**12):
            base, steps, shape, strides, offset = strided_steps(
                step, metal_step_values(step, d), layout
            )
            ref = cpu_values(steps, init, end, d)
            size = steps.size
            zeros = [0] * len(shape)
            for idx, grid in grids(size):
                got = emulate(
                    emulator,
                    tmp_path,
                    variant="strided",
                    step=step,
                    out=out,
                    idx=idx,
                    size=size,
                    grid=grid,
                    scalars=(init, end, d, 0),
                    shape=shape,
                    strides=[strides, zeros, zeros, zeros],
                    offsets=(offset, 0, 0, 0),
                    buffers={"step": base},
                )
                assert_same(got, ref, out, f"strided {layout} D={d} idx={idx}")


@pytest.mark.parametrize("out", OUT_DTYPES)
@pytest.mark.parametrize("step", STEP_DTYPES)
def test_strided_steps_array_params_match_the_cpu(emulator, tmp_path, step, out):
    # Steps (3, 4, 5) transposed; init (3, 1, 1), end (5,), decay_steps
    # (4, 1): every parameter broadcast differently; D < 1 gives NaN.
    init_raw, init_f32 = param_buffer(out, [1.0, -0.5, 0.75])
    end_raw, end_f32 = param_buffer(out, [0.0, 0.125, -2.0, 0.5, 3.0])
    for ds in ([7, 10**12, 0, 3 * 10**9], [1, 10**6, -3, 2**40]):
        base, steps, shape, strides, offset = strided_steps(
            step, metal_step_values(step, ds[0]), "transposed"
        )
        d = np.array(ds, np.int64)
        ref = cpu_values(steps, init_f32.reshape(3, 1, 1), end_f32, d.reshape(4, 1))
        for idx, grid in grids(steps.size):
            got = emulate(
                emulator,
                tmp_path,
                variant="strided",
                step=step,
                out=out,
                idx=idx,
                size=steps.size,
                grid=grid,
                scalars=(0.0, 0.0, 1, 0),
                array_params=True,
                shape=shape,
                strides=[strides, [1, 0, 0], [0, 0, 1], [0, 1, 0]],
                offsets=(offset, 0, 0, 0),
                buffers={"step": base, "init": init_raw, "end": end_raw, "decay_steps": d},
            )
            assert_same(
                got, ref, out, f"array params D={ds} idx={idx}", end=np.broadcast_to(end_f32, shape)
            )


@pytest.mark.parametrize("out", OUT_DTYPES)
@pytest.mark.parametrize("start", [-20, 0, 10**6 - 4, 2**40])
def test_generated_steps_array_params_match_the_cpu(emulator, tmp_path, out, start):
    # cosine_decay_values: init (2, 1), end (3,), decay_steps (2, 3); the
    # steps start, ..., start + 8 come from the position on the last axis.
    init_raw, init_f32 = param_buffer(out, [1.0, 0.5])
    end_raw, end_f32 = param_buffer(out, [0.0, -0.25, 0.125])
    d = np.array([[1, 7, 10**6], [3 * 10**9, 2**40 + 3, 16]], np.int64)
    n = 9
    ref = _ext.cosine_decay_values(
        mx.array(init_f32.reshape(2, 1)), mx.array(d), mx.array(end_f32), n, start, stream=mx.cpu
    )
    assert ref.dtype == mx.float32
    shape = (2, 3, n)
    for idx, grid in grids(ref.size):
        got = emulate(
            emulator,
            tmp_path,
            variant="strided",
            step="int64",
            out=out,
            idx=idx,
            size=ref.size,
            grid=grid,
            scalars=(0.0, 0.0, 1, start),
            generated=True,
            array_params=True,
            shape=shape,
            strides=[[0, 0, 1], [1, 0, 0], [0, 1, 0], [3, 1, 0]],
            buffers={"init": init_raw, "end": end_raw, "decay_steps": d},
        )
        assert_same(
            got,
            ref,
            out,
            f"generated start={start} idx={idx}",
            end=np.broadcast_to(end_f32.reshape(1, 3, 1), shape),
        )


@pytest.mark.parametrize("start", [-20, 0, 2**40])
def test_generated_steps_scalar_params_match_the_cpu(emulator, tmp_path, start):
    # schedule.values() with scalar parameters: no inputs at all.
    init, end, d, n = float(np.float32(0.1)), float(np.float32(1e-3)), 7, 40
    ref = _ext.cosine_decay_values(init, d, end, n, start, stream=mx.cpu)
    for idx, grid in grids(n):
        got = emulate(
            emulator,
            tmp_path,
            variant="strided",
            step="int64",
            out="float32",
            idx=idx,
            size=n,
            grid=grid,
            scalars=(init, end, d, start),
            generated=True,
            shape=(n,),
            strides=[[1], [0], [0], [0]],
        )
        assert_same(got, ref, "float32", f"generated scalars start={start} idx={idx}", end=end)


def test_emulation_detects_a_wrong_kernel(emulator, tmp_path):
    # The comparison is not vacuous: a different decay_steps changes the bits.
    raw, to_mx = step_buffer("int32", step_values("int32", 1000))
    ref = cpu_values(to_mx(raw), 1.0, 0.0, 1000)
    got = emulate(
        emulator,
        tmp_path,
        variant="contiguous",
        step="int32",
        out="float32",
        idx=32,
        size=raw.size,
        grid=(raw.size, 1),
        scalars=(1.0, 0.0, 1001, 0),
        buffers={"step": raw},
    )
    with pytest.raises(AssertionError):
        assert_same(got, ref, "float32", "D=1001 against D=1000")


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


def test_every_instantiation_compiles(emulator, cxx, tmp_path):
    # (emulator: the same compiler, with _Float16 for metal_compat.h.)
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


# The family's Warmup kind (core::Kind::Warmup = 1, Output::Value = 0): warmup
# and exponent; warm restarts run on the CPU. The CPU computes in double and
# rounds once; the shader in float: within its error bound (pow adds a few
# ulp of float for exponent != 1).
FAMILY_CASES = [
    (0, 1000, 2.0),
    (10, 100, 1.0),
    (100, 1000, 1.0),
    (100, 1000, 2.0),
    (7, 2**23, 1.0),
    (1000, 2**30, 1.0),
    (5, 3 * 10**9, 0.5),
]


@pytest.mark.parametrize("out", OUT_DTYPES)
@pytest.mark.parametrize("step", ["int32", "uint8", "int64", "float32", "float16"])
def test_family_warmup_matches_the_cpu(emulator, tmp_path, step, out):
    init, end, wi = float(np.float32(0.1)), float(np.float32(1e-4)), float(np.float32(1e-3))
    for w, d, p in FAMILY_CASES:
        values = np.concatenate(
            [step_values(step, d), np.arange(0, w + 5), [w + d - 1, w + d, w + d + 1]]
        )
        if w > 0:  # below 0 the ramp extrapolates and cancels: float's error is ulps of warmup_init
            values = values[values >= 0]
        hi = (
            np.finfo(np.float16).max
            if step == "float16"
            else (np.iinfo(getattr(np, step)).max if step != "float32" else np.inf)
        )
        values = values[values <= hi]
        raw, to_mx = step_buffer(step, values)
        ref = mcd.cosine_decay(
            mx.array(init), d, mx.array(end), warmup_steps=w, warmup_init=wi, exponent=p
        )(to_mx(raw), stream=mx.cpu)
        threads = -(-raw.size // WORK_PER_THREAD)
        idx, grid = grids(threads)[0]
        got = emulate(
            emulator,
            tmp_path,
            variant="contiguous",
            step=step,
            out=out,
            idx=idx,
            size=raw.size,
            grid=grid,
            scalars=(init, end, d, 0),
            buffers={"step": raw},
            family=(1, 0, w, wi, p),
        )
        if p == 1.0 or out != "float32":
            assert_same(got, ref, out, f"warmup W={w} D={d} p={p}", end=end)
        else:
            g, r = values_of(got, out), to_numpy(ref).astype(np.float64)
            assert np.allclose(g, r, rtol=2e-6, atol=0, equal_nan=True), f"W={w} D={d} p={p}"


def test_family_generated_steps_match_the_cpu(emulator, tmp_path):
    init, end = float(np.float32(0.1)), 0.0
    for w, d, p in FAMILY_CASES[:4]:
        n = w + d + 20
        ref = mcd.cosine_decay(init, d, end, warmup_steps=w, exponent=p).values(
            n, -5, stream=mx.cpu
        )
        idx, grid = grids(n)[0]
        got = emulate(
            emulator,
            tmp_path,
            variant="strided",
            step="int64",
            out="float32",
            idx=idx,
            size=n,
            grid=grid,
            scalars=(init, end, d, -5),
            generated=True,
            shape=(n,),
            strides=[[1], [0], [0], [0]],
            family=(1, 0, w, 0.0, p),
        )
        g, r = values_of(got, "float32"), to_numpy(ref).astype(np.float64)
        assert np.allclose(g, r, rtol=2e-6, atol=1e-12), f"W={w} D={d} p={p}"
