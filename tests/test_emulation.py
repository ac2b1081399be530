"""The GPU kernels, run on the host, once per backend: the Metal shader
(csrc/metal/cosine_decay.metal through tests/metal_emulation/metal_compat.h)
and the CUDA kernels (csrc/cuda/cosine_decay.cu through
tests/cuda_emulation/cuda_compat.h), compiled as C++ and called at every
thread position of the launches their hosts make (and of launches that leave
threads spare), compared with the CPU path of the installed package: CUDA bit
for bit (NaNs by position), Metal within the float path's error bound (it has
no double; see _emulation.Backend.check).

No GPU runs here: this checks the kernels' own code (indexing, bounds,
strides, donation, dtype conversions, the choice of compute and reduction
types, the family's branches) on the same math headers the CPU uses. What it
cannot check is the GPU compilers' code generation (tests/test_cuda_kernels.py
compiles every CUDA instantiation with NVRTC; bench/gpu_check.sh runs them on
a GPU; Metal's compiler is not available here)."""

import subprocess

import mlx.core as mx
import numpy as np
import pytest
from _emulation import (
    BACKENDS,
    DECAY_STEPS,
    FLOATS,
    HUGE_DECAY_STEPS,
    LAYOUTS,
    Cases,
    bits_dtype,
    family_meta,
    step_buffer,
    step_values,
    strided_steps,
    unit,
    values_of,
)
from family_truth import restart_boundary_steps, restarts_slope, restarts_truth

import mlx_cosine_decay as mcd
from mlx_cosine_decay import _ext

METAL, CUDA = BACKENDS


@pytest.fixture(scope="module")
def emulator(cxx, tmp_path_factory):
    """emulator(backend): its emulate binary, built once per module."""
    built = {}

    def get(backend):
        if backend.name not in built:
            built[backend.name] = backend.build(cxx, tmp_path_factory.mktemp(backend.name))
        if built[backend.name] is None:
            pytest.skip(f"{cxx} has no _Float16 (needed to emulate Metal's half)")
        return built[backend.name]

    return get


def each_pair(steps=None):
    """(backend, step, out) for each backend and dtype pair it is tested with."""
    return [
        pytest.param(b, s, o, id=f"{b.name}-{s}-{o}")
        for b in BACKENDS
        for s, o in b.pairs
        if steps is None or s in steps
    ]


def each_backend(backends=BACKENDS):
    return [pytest.param(b, id=b.name) for b in backends]


def backend_steps(backend, dtype, d):
    """Steps that reach every branch (_emulation.step_values). Metal keeps
    float steps below -2^62 in float where 2D > 2^24 (see the shader): the
    only place it may differ from the CPU beyond its bound (those within
    rounding of -2^62 are left out too)."""
    exact = backend.exact or 2 * d <= 2**24 or dtype not in FLOATS
    return [v for v in step_values(dtype, d, exact) if exact or v > -(2**61)]


def cpu(backend, step, init, end, d, out, **family):
    """The CPU path with init and end as arrays of the backend's reference
    dtype (the values tested are exact in every output dtype, so the scalar
    path the kernels take computes the same)."""
    dtype = backend.reference_dtype(out)
    if family:
        return mcd.cosine_decay(mx.array(init, dtype), d, mx.array(end, dtype), **family)(
            step, stream=mx.cpu
        )
    r = _ext.cosine_decay(
        step, mx.array(init, dtype), mx.array(d, mx.int64), mx.array(end, dtype), stream=mx.cpu
    )
    assert r.dtype == dtype
    return r


class Checks:
    """Cases and what each must equal, run and compared together."""

    def __init__(self, backend, tmp):
        self.backend = backend
        self.cases = Cases(backend, tmp)
        self.expected = []

    def add(self, want, what, variant, step, out, size, scalars, end=0.0, loose=False, **meta):
        for label in self.cases.add(variant, step, out, size, scalars, **meta):
            self.expected.append((want, out, f"{what} {label}", end, loose))

    def contiguous(self, want, what, step, out, raw, scalars, **meta):
        """The contiguous kernel over the steps `raw`."""
        buffers = {"step": raw}
        self.add(want, what, "contiguous", step, out, raw.size, scalars, buffers=buffers, **meta)

    def run(self, emulator):
        results = self.cases.run(emulator(self.backend))
        for got, (want, out, what, end, loose) in zip(results, self.expected, strict=True):
            self.backend.check(got, want, out, what, end=end, loose=loose)


@pytest.mark.parametrize("backend,step,out", each_pair())
def test_contiguous_steps_equal_the_cpu(emulator, tmp_path, backend, step, out):
    # end = 0 keeps the tiny values near the end of the decay visible.
    init, end = 0.375, 0.0
    checks = Checks(backend, tmp_path)
    for d in DECAY_STEPS + (HUGE_DECAY_STEPS if step in FLOATS else []):
        raw, to_mx = step_buffer(step, backend_steps(backend, step, d))
        want = cpu(backend, to_mx(raw), init, end, d, out)
        checks.contiguous(want, f"D={d}", step, out, raw, (init, end, d, 0))
    checks.run(emulator)


def itemsize(name):
    return 1 if name == "bool" else np.dtype(bits_dtype(name) if name in FLOATS else name).itemsize


@pytest.mark.parametrize(
    "backend,step,out",
    [
        p
        for p in each_pair()
        if (p.values[1] in ("int32", p.values[2]))
        and itemsize(p.values[1]) == itemsize(p.values[2])
    ],
)
def test_contiguous_in_place(emulator, tmp_path, backend, step, out):
    # A donated step buffer is the output: each element is read, then written.
    checks = Checks(backend, tmp_path)
    for d in (7, 1000, 3 * 10**9):
        raw, to_mx = step_buffer(step, backend_steps(backend, step, d))
        want = cpu(backend, to_mx(raw), 1.5, -0.25, d, out)
        checks.contiguous(
            want, f"D={d}", step, out, raw, (1.5, -0.25, d, 0), end=-0.25, donate=True
        )
    checks.run(emulator)


@pytest.mark.parametrize("backend,step,out", each_pair())
def test_strided_steps_scalar_params_equal_the_cpu(emulator, tmp_path, backend, step, out):
    init, end = -1.5, 0.0
    checks = Checks(backend, tmp_path)
    for layout in LAYOUTS:
        for d in (7, 2**23 + 1, 2**30, 10**12):
            base, steps, shape, strides, offset = strided_steps(
                step, backend_steps(backend, step, d), layout
            )
            zeros = [0] * len(shape)
            checks.add(
                cpu(backend, steps, init, end, d, out),
                f"{layout} D={d}",
                "strided",
                step,
                out,
                steps.size,
                (init, end, d, 0),
                shape=shape,
                strides=[strides, zeros, zeros, zeros],
                offsets=(offset, 0, 0, 0),
                buffers={"step": base},
            )
    checks.run(emulator)


@pytest.mark.parametrize("backend,step,out", each_pair())
def test_strided_steps_array_params_equal_the_cpu(emulator, tmp_path, backend, step, out):
    # Steps (3, 4, 5) transposed; init (3, 1, 1), end (5,), decay_steps
    # (4, 1): every parameter broadcast differently; D outside [1, 2**62 - 1]
    # gives NaN. init and end arrive as float32 (the op's param_dtype for
    # every GPU result).
    init = np.array([1.0, -0.5, 0.75], np.float32)
    end = np.array([0.0, 0.125, -2.0, 0.5, 3.0], np.float32)
    checks = Checks(backend, tmp_path)
    for ds in (
        [7, 10**12, 2**62, 3 * 10**9],
        [1, 2**23 + 1, -3, 2**40],
        [0, 10**6, 1000, 2**53 + 1],
    ):
        base, steps, shape, strides, offset = strided_steps(
            step, backend_steps(backend, step, ds[0]), "transposed"
        )
        d = np.array(ds, np.int64)
        checks.add(
            cpu(backend, steps, init.reshape(3, 1, 1), end, d.reshape(4, 1), out),
            f"D={ds}",
            "strided",
            step,
            out,
            steps.size,
            (0.0, 0.0, 1, 0),
            end=np.broadcast_to(end, shape),
            array_params=True,
            shape=shape,
            strides=[strides, [1, 0, 0], [0, 0, 1], [0, 1, 0]],
            offsets=(offset, 0, 0, 0),
            buffers={"step": base, "init": init, "end": end, "decay_steps": d},
        )
    checks.run(emulator)


# values() gives float32 results; Metal's shader is also checked writing the
# half types.
GENERATED_OUTS = [
    pytest.param(b, o, id=f"{b.name}-{o}")
    for b in BACKENDS
    for o in (["float32"] if b.exact else ["float32", "float16", "bfloat16"])
]


@pytest.mark.parametrize("start", [-(10**12) - 5, -20, 0, 10**6 - 4, 2**40])
@pytest.mark.parametrize("backend,out", GENERATED_OUTS)
def test_generated_steps_array_params_equal_the_cpu(emulator, tmp_path, backend, out, start):
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
    checks = Checks(backend, tmp_path)
    checks.add(
        want,
        f"start={start}",
        "strided",
        "int64",
        out,
        want.size,
        (0.0, 0.0, 1, start),
        end=np.broadcast_to(end.reshape(1, 3, 1), (2, 3, n)),
        generated=True,
        array_params=True,
        shape=(2, 3, n),
        strides=[[0, 0, 1], [1, 0, 0], [0, 1, 0], [3, 1, 0]],
        buffers={"init": init, "end": end, "decay_steps": d},
    )
    checks.run(emulator)


@pytest.mark.parametrize("start", [-(10**12) - 5, -20, 0, 2**40])
@pytest.mark.parametrize("backend", each_backend())
def test_generated_steps_scalar_params_equal_the_cpu(emulator, tmp_path, backend, start):
    # schedule.values() with scalar parameters: no inputs; the strided kernel,
    # and on CUDA the contiguous one (a 1-d output).
    init, end, n = float(np.float32(0.1)), float(np.float32(1e-3)), 300
    checks = Checks(backend, tmp_path)
    for d in (7, 100, 3 * 10**9):
        want = _ext.cosine_decay_values(init, d, end, n, start, stream=mx.cpu)
        meta = dict(end=end, generated=True)
        if backend.exact:
            checks.add(
                want, f"D={d}", "contiguous", "int64", "float32", n, (init, end, d, start), **meta
            )
        checks.add(
            want,
            f"D={d}",
            "strided",
            "int64",
            "float32",
            n,
            (init, end, d, start),
            shape=(n,),
            strides=[[1], [0], [0], [0]],
            **meta,
        )
    checks.run(emulator)


@pytest.mark.parametrize("backend", each_backend())
def test_emulation_detects_a_wrong_kernel(emulator, tmp_path, backend):
    # The comparison is not vacuous: a different decay_steps changes the result.
    raw, to_mx = step_buffer("int32", step_values("int32", 1000))
    checks = Checks(backend, tmp_path)
    want = cpu(backend, to_mx(raw), 1.0, 0.0, 1000, "float32")
    checks.contiguous(want, "D=1001", "int32", "float32", raw, (1.0, 0.0, 1001, 0))
    with pytest.raises(AssertionError):
        checks.run(emulator)


# ---------------------------------------------------------------- the family

# (warmup_steps, decay_steps, exponent)
FAMILY_CASES = [
    (0, 1000, 2.0),
    (10, 100, 1.0),
    (100, 1000, 1.0),
    (100, 1000, 2.0),
    (7, 2**23, 1.0),
    (1000, 2**30, 1.0),
    (5, 3 * 10**9, 0.5),
    (3, 2**53 + 1, 1.0),
    (0, 2**53 + 1, 3.0),
    (100, 1000, 1.7),
    (0, 1000, 8.5),
]


@pytest.mark.parametrize(
    "backend,step,out", each_pair(["int32", "uint8", "int64", "float32", "float16"])
)
def test_family_warmup_equals_the_cpu(emulator, tmp_path, backend, step, out):
    # init and end of opposite signs in one case: cosine_decay's wider series.
    wi = float(np.float32(1e-3))
    checks = Checks(backend, tmp_path)
    for init, end in ((0.375, 2**-12), (0.375, -0.125)):
        for w, d, p in FAMILY_CASES:
            values = np.concatenate(
                [
                    backend_steps(backend, step, d),
                    np.arange(0, w + 5),
                    [w + d - 1, w + d, w + d + 1],
                ]
            )
            if w > 0 and not backend.exact:
                # Below 0 the ramp extrapolates and cancels: float's error is
                # ulps of warmup_init.
                values = values[values >= 0]
            hi = {"float16": np.finfo(np.float16).max, "float32": np.inf}.get(step)
            hi = np.iinfo(getattr(np, step)).max if hi is None else hi
            raw, to_mx = step_buffer(step, values[values <= hi])
            family = dict(warmup_steps=w, warmup_init=wi, exponent=p)
            want = cpu(backend, to_mx(raw), init, end, d, out, **family)
            checks.contiguous(
                want,
                f"W={w} D={d} p={p} end={end}",
                step,
                out,
                raw,
                (init, end, d, 0),
                end=end,
                loose=p != 1.0,
                family=family_meta(1, 0, w, wi, p),
            )
    checks.run(emulator)


@pytest.mark.parametrize("backend", each_backend())
def test_family_generated_and_array_params_equal_the_cpu(emulator, tmp_path, backend):
    # values() of warmup schedules (strided, generated steps; on CUDA also the
    # contiguous kernel), and array parameters: init (2, 1), end (3,),
    # decay_steps (2, 3) over the steps -5, ..., n - 6.
    init, end, wi = 0.375, -0.125, float(np.float32(1e-3))
    checks = Checks(backend, tmp_path)
    for w, d, p in FAMILY_CASES[:4]:
        family = dict(warmup_steps=w, warmup_init=wi, exponent=p)
        n = min(w + d + 20, 3000)
        want = mcd.cosine_decay(init, d, end, **family).values(n, -5, stream=mx.cpu)
        meta = dict(end=end, loose=p != 1.0, generated=True, family=family_meta(1, 0, w, wi, p))
        if backend.exact:
            checks.add(
                want,
                f"W={w} D={d} p={p}",
                "contiguous",
                "int64",
                "float32",
                n,
                (init, end, d, -5),
                **meta,
            )
        checks.add(
            want,
            f"W={w} D={d} p={p}",
            "strided",
            "int64",
            "float32",
            n,
            (init, end, d, -5),
            shape=(n,),
            strides=[[1], [0], [0], [0]],
            **meta,
        )
        inits = np.array([0.375, 1.0], np.float32)
        ends = np.array([0.0, -0.125, 2**-12], np.float32)
        ds = np.array([[d, 7, 10**6], [1, 3 * 10**9, 2**40]], np.int64)
        m = 50
        want = mcd.cosine_decay(
            mx.array(inits.reshape(2, 1)), mx.array(ds), mx.array(ends), **family
        ).values(m, -5, stream=mx.cpu)
        meta = dict(meta, array_params=True, end=np.broadcast_to(ends.reshape(1, 3, 1), (2, 3, m)))
        checks.add(
            want,
            f"arrays W={w} p={p}",
            "strided",
            "int64",
            "float32",
            want.size,
            (0.0, 0.0, 1, -5),
            shape=(2, 3, m),
            strides=[[0, 0, 1], [1, 0, 0], [0, 1, 0], [3, 1, 0]],
            buffers={"init": inits, "end": ends, "decay_steps": ds},
            **meta,
        )
    checks.run(emulator)


# (first_decay_steps, t_mul, m_mul, boundaries): periods whose boundaries
# are exact in float (integer or short binary t_mul, below 2^24), where the
# Metal shader's float period arithmetic finds the true periods; then ones
# where they are not (CUDA computes them in double, as the CPU).
RESTART_CASES = [
    (10, 1.0, 1.0, 20),
    (10, 2.0, 0.5, 15),
    (7, 3.0, 0.9, 10),
    (10, 1.5, 1.0, 12),
    (100, 0.5, 1.0, 6),
    (16, 0.75, 0.9, 8),
    (1000, 2.0, 0.0, 5),
]
RESTART_CASES_DOUBLE = [(100, 1.1, 0.8, 40), (3, 1.01, 1.0, 60), (10**9, 2.0, 0.5, 30)]


def restart_steps(step, first, t_mul, count, specials=True):
    steps = restart_boundary_steps(first, t_mul, count) + [-3, 0]
    if step in FLOATS:
        steps += [0.5, first - 0.25, first + 0.5]
        steps += [-np.inf, np.inf, np.nan] if specials else []
    if step in FLOATS:
        return [v for v in steps if step == "float32" or abs(v) < 6e4]  # NaN, inf too
    info = np.iinfo(getattr(np, step))
    return [v for v in steps if info.min <= v <= info.max]


@pytest.mark.parametrize(
    "backend,step,out", each_pair(["int32", "int64", "float32", "float16", "bfloat16"])
)
def test_restarts_equal_the_cpu(emulator, tmp_path, backend, step, out):
    # Warm restarts, per step; the shader in float (within 2e-6 of the
    # value's scale, as its pow).
    init, end = 0.375, 2**-12
    checks = Checks(backend, tmp_path)
    cases = RESTART_CASES + (RESTART_CASES_DOUBLE if backend.exact else [])
    for first, t_mul, m_mul, count in cases:
        raw, to_mx = step_buffer(step, restart_steps(step, first, t_mul, count))
        dtype = backend.reference_dtype(out)
        want = mcd.cosine_decay_restarts(
            mx.array(init, dtype), first, mx.array(end, dtype), t_mul=t_mul, m_mul=m_mul
        )(to_mx(raw), stream=mx.cpu)
        checks.contiguous(
            want,
            f"F={first} t={t_mul} m={m_mul}",
            step,
            out,
            raw,
            (init, end, first, 0),
            end=end,
            loose=True,
            family=family_meta(2, 0, t_mul=t_mul, m_mul=m_mul),
        )
    checks.run(emulator)


@pytest.mark.parametrize("output", ["value", "slope"])
@pytest.mark.parametrize("out", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("step", ["int32", "int64", "float32"])
def test_metal_restarts_match_the_float64_truth(emulator, tmp_path, step, out, output):
    # Warm restarts in the shader, in float, against the float64 truth:
    # float32 values within 2e-6 relative (the bound of the family's other
    # float pow paths), the slope within 1e-5 relative (sin of a rounded
    # phase); half results within one unit.
    init, end = 0.375, 2**-12
    cases = Cases(METAL, tmp_path)
    expected = []
    for first, t_mul, m_mul, count in RESTART_CASES:
        # No infinities and NaN: family_truth takes -inf to NaN where t_mul
        # < 1 (the op, as step 0), and has no slope at NaN.
        raw, _ = step_buffer(step, restart_steps(step, first, t_mul, count, specials=False))
        kw = dict(init=init, first_decay_steps=first, end=end, t_mul=t_mul, m_mul=m_mul)
        truth = (restarts_truth if output == "value" else restarts_slope)(raw, **kw)
        labels = cases.add(
            "contiguous",
            step,
            out,
            raw.size,
            (init, end, first, 0),
            family=family_meta(2, int(output == "slope"), t_mul=t_mul, m_mul=m_mul),
            buffers={"step": raw},
        )
        expected += [(truth, f"F={first} t={t_mul} m={m_mul} {label}") for label in labels]
    for got, (truth, what) in zip(cases.run(emulator(METAL)), expected, strict=True):
        g = values_of(got, out)
        nan = np.isnan(truth)
        assert np.array_equal(np.isnan(g), nan), what
        g, t = g[~nan], truth[~nan]
        rtol = 2e-6 if output == "value" else 1e-5
        tol = rtol * np.abs(t) + (unit(t, out) if out != "float32" else 0)
        bad = np.flatnonzero(np.abs(g - t) > tol)
        assert bad.size == 0, f"{what}: {bad.size} differ: {g[bad[:3]]} vs {t[bad[:3]]}"


# ---------------------------------------------------------------- CUDA's own


@pytest.mark.slow
def test_cuda_half_conversions_are_mlx_cpu_ones(emulator):
    # Every float16 -> float and every float32 -> float16/bfloat16, bit for
    # bit against MLX's CPU types, NaNs included (about 15 s).
    r = subprocess.run([str(emulator(CUDA)), "--conversions"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
