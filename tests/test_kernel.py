"""The CPU kernel: the accuracy bound, both paths, every size boundary, the
shared-row and generated-run paths, and independence from the thread count
and the instruction set."""

import os
import re
import subprocess
import sys

import mlx.core as mx
import numpy as np
import pytest
from conftest import (
    FLOAT_DTYPES,
    INT_DTYPES,
    NP_DTYPES,
    STEP_DTYPES,
    dtype_name,
    reference,
    to_numpy,
    truth,
    ulp_error,
)

import mlx_cosine_decay as mcd

# The CPU computes in double (a polynomial exact to 3e-12) and rounds once to
# float32: correctly rounded but for 2e-3 ulp.
MAX_ULPS = 0.502

# Blocks of 1024 steps, vectors of 4..16 lanes, threads from 2 * 2**17 elements.
BOUNDARY_SIZES = sorted(
    {n + d for n in (1, 4, 8, 16, 32, 64, 1024, 2 * 2**17, 3 * 2**17) for d in (-1, 0, 1)} - {0}
)


def ulps(y, t):
    return ulp_error(to_numpy(y), t, mx.float32)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 1000, 10**6])
def test_dense_int32_steps_within_half_ulp(d):
    steps = np.arange(-3 * d - 5, 3 * d + 6, dtype=np.int64)
    y = mcd.cosine_decay(1.0, d)(mx.array(steps.astype(np.int32)))
    assert y.dtype == mx.float32
    assert ulps(y, truth(steps, 1.0, d)).max() <= MAX_ULPS


def test_tail_is_not_rounded_to_zero_as_by_the_reference():
    d = 10**6
    step = mx.array([d - 1, d - 2], dtype=mx.int32)
    assert reference(1.0, d)(step)[0].item() == 0.0
    y = mcd.cosine_decay(1.0, d)(step)
    assert ulps(y, truth(np.array([d - 1, d - 2]), 1.0, d)).max() <= MAX_ULPS
    assert y[0].item() == pytest.approx(2.4674e-12, rel=1e-4)


def test_random_integer_steps_within_half_ulp():
    # Seeded: every integer dtype, steps over [-4D, 4D] clipped to the dtype.
    for dtype in INT_DTYPES:
        for d in (1, 100, 30_000, 2**31, 10**12):
            rng = np.random.default_rng(d)
            if dtype == mx.bool_:
                lo, hi = 0, 1
            else:
                info = np.iinfo(NP_DTYPES[dtype])
                lo, hi = max(int(info.min), -4 * d), min(int(info.max), 4 * d)
            steps_np = rng.integers(lo, hi, size=5000, endpoint=True, dtype=np.int64)
            steps = mx.array(steps_np).astype(dtype)
            y = mcd.cosine_decay(1.0, d)(steps)
            assert ulps(y, truth(steps, 1.0, d)).max() <= MAX_ULPS, (dtype, d)


def test_random_float_steps_rounded_once_from_the_truth():
    # Seeded: float64 results within 1e-12 relative; float32 correctly rounded
    # (half an ulp); float16 / bfloat16 one rounding of a float32 result to
    # the step dtype (float16 has subnormals below 2**-14, spaced 2**-24).
    for dtype in FLOAT_DTYPES:
        for d in (1, 1000, 2**24 + 3):
            rng = np.random.default_rng(d)
            span = min(3 * d, 60_000) if dtype == mx.float16 else 3 * d
            steps = mx.array(rng.uniform(-span, span, size=5000)).astype(dtype)
            t = truth(steps, 1.0, d)
            y = to_numpy(mcd.cosine_decay(1.0, d)(steps)).astype(np.float64)
            case = f"{dtype} D={d}"
            if dtype == mx.float64:
                np.testing.assert_allclose(y, t, rtol=1e-12, atol=1e-15, err_msg=case)
            elif dtype == mx.float32:
                assert ulps(y, t).max() <= MAX_ULPS, case
            else:
                eps = {mx.float16: 2**-11, mx.bfloat16: 2**-8}[dtype]
                tiny = 2**-24 if dtype == mx.float16 else 1e-38
                np.testing.assert_allclose(y, t, rtol=2 * eps, atol=tiny, err_msg=case)


def test_sizes_around_vector_block_and_thread_boundaries_within_half_ulp():
    d = 1000
    for n in BOUNDARY_SIZES:
        steps_np = (np.arange(n, dtype=np.int64) * 37 % (3 * d)) - d // 2
        steps = mx.array(steps_np.astype(np.int32))
        y = np.array(mcd.cosine_decay(1.0, d)(steps))
        assert y.shape == (n,)
        assert ulps(y, truth(steps_np, 1.0, d)).max() <= MAX_ULPS, n
        # The strided path: the same steps reversed.
        y_rev = np.array(mcd.cosine_decay(1.0, d)(steps[::-1]))
        np.testing.assert_array_equal(y_rev, y[::-1], err_msg=str(n))


def test_strided_paths_match_contiguous():
    d = 5000
    base = mx.array(np.arange(-2 * d, 4 * d, dtype=np.int32).reshape(60, 500))
    schedule = mcd.cosine_decay(0.5, d, 0.01)
    ref = np.array(schedule(base))
    np.testing.assert_array_equal(np.array(schedule(base.T)), ref.T)
    np.testing.assert_array_equal(np.array(schedule(base[::3, ::-7])), ref[::3, ::-7])
    np.testing.assert_array_equal(
        np.array(schedule(mx.broadcast_to(base[:1], (4, 500)))), np.broadcast_to(ref[:1], (4, 500))
    )


@pytest.mark.parametrize("n", [17, 1024 + 5, 3 * 2**17 + 1])
def test_donated_step_buffer_with_steps_below_minus_d_within_half_ulp(n):
    # The output may reuse the int32 step buffer; blocks with steps below -D
    # are computed twice and must not read back the first pass's outputs.
    d = 3
    steps_np = np.arange(n, dtype=np.int64) % (10 * d) - 8 * d
    want = truth(steps_np, 1.0, d)
    donated = mcd.cosine_decay(1.0, d)(mx.array(steps_np.astype(np.int32)) + 0)
    assert ulps(donated, want).max() <= MAX_ULPS


# Sweeps over init and end: rows with the same steps and decay_steps share the
# curve's shape (computed once per row tile, then one fma per value), and
# values() splits each row into runs by the branch of the formula. Both must
# give, bit for bit, the direct computation: one schedule per row applied to
# an explicit step array.
SHARED_INITS = [0.1, 1.0, -0.5, 0.0, 3.0]  # 5 rows of 1000+ steps: shared (from 4096 values)
SHARED_ENDS = [0.0, 1e-3, 0.25, 0.0, -3.0]
INT_VIEW = {
    mx.float16: mx.uint16,
    mx.bfloat16: mx.uint16,
    mx.float32: mx.uint32,
    mx.float64: mx.uint64,
}


def assert_same_bits(got, want, what=""):
    assert got.shape == want.shape and got.dtype == want.dtype, what
    same = mx.array_equal(got.view(INT_VIEW[got.dtype]), want.view(INT_VIEW[want.dtype]))
    assert same.item(), what


def direct_rows(inits, d, ends, steps, dtype):
    """One scalar-parameter schedule per row (one row each: the direct path)."""
    return mx.stack(
        [
            mcd.cosine_decay(mx.array(i, dtype), d, mx.array(e, dtype))(steps, stream=mx.cpu)
            for i, e in zip(inits, ends, strict=True)
        ]
    )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 1000, 1001])
def test_shared_rows_and_generated_runs_are_the_direct_values(dtype, d):
    h = d // 2
    n = max(2 * d + 9, 1000)
    init = mx.array(SHARED_INITS, dtype)
    end = mx.array(SHARED_ENDS, dtype)
    grid = mcd.cosine_decay(init, d, end)
    column = mcd.cosine_decay(init[:, None], d, end[:, None])
    # Starts just below each boundary between runs: -D (the period
    # reduction), -D/2, 0, D/2, D (the clamp).
    for start in sorted({-3 * d - 2, -d - 2, -h - 2, -2, h - 1, d - 1, d + 3}):
        steps = mx.arange(start, start + n)
        want = direct_rows(SHARED_INITS, d, SHARED_ENDS, steps, dtype)
        assert_same_bits(grid.values(n, start, stream=mx.cpu), want)  # shared, generated
        assert_same_bits(column(steps, stream=mx.cpu), want)  # shared, loaded
        for row, (i, e) in enumerate(zip(SHARED_INITS, SHARED_ENDS, strict=True)):
            one = mcd.cosine_decay(mx.array(i, dtype), d, mx.array(e, dtype))
            assert_same_bits(one.values(n, start, stream=mx.cpu), want[row])  # generated


def test_shared_rows_give_init_at_zero_and_end_at_decay_steps():
    # The side of the curve at q = 0 rides on the sign of a zero.
    d = 1000
    got = np.array(mcd.cosine_decay(mx.array(SHARED_INITS), d, mx.array(SHARED_ENDS)).values(d + 2))
    np.testing.assert_array_equal(got[:, 0], np.float32(SHARED_INITS))
    np.testing.assert_array_equal(got[:, d], np.float32(SHARED_ENDS))
    np.testing.assert_array_equal(got[:, d + 1], np.float32(SHARED_ENDS))


@pytest.mark.parametrize(
    "dtype,limit", [(mx.float32, 2**53), (mx.float16, 2**24)], ids=["double", "float"]
)
@pytest.mark.parametrize("above", [0, 1])
def test_generated_runs_at_the_exactness_limit_are_the_direct_values(dtype, limit, above):
    # values() takes the runs while every distance is exact in the compute
    # type (D <= 2^53 in double, 2^24 in float), the general kernel above.
    d = limit + above
    init = mx.array([1.0, 0.5, 0.25, 2.0], dtype)
    end = mx.array([0.0, 0.1, 0.0, 1.0], dtype)
    for start in (d // 2 - 6, d - 6, -d // 2 - 6):
        steps = mx.array(np.arange(start, start + 13, dtype=np.int64))  # mx.arange rounds here
        want = direct_rows(init.tolist(), d, end.tolist(), steps, dtype)
        assert_same_bits(mcd.cosine_decay(init, d, end).values(13, start, stream=mx.cpu), want)


@pytest.mark.parametrize("dtype", [mx.float32, mx.bfloat16])
@pytest.mark.parametrize("n,threads", [(2100, 1), (20_011, 3)])
def test_groups_of_rows_sharing_a_curve_are_the_direct_values(dtype, n, threads):
    # An (init, decay_steps, end) grid: the `end` rows of each (init,
    # decay_steps) pair share a curve; threads may split a group.
    inits, ds, ends = [0.1, 1.0], [7, 1000, 1001], [0.0, 1e-3, 0.25, -1.0, 2.0]
    grid = mcd.cosine_decay(
        mx.array(inits, dtype).reshape(2, 1, 1),
        mx.array(ds).reshape(1, 3, 1),
        mx.array(ends, dtype),
    )
    before = mcd.num_threads()
    try:
        mcd.set_num_threads(threads)
        got = grid.values(n, -30)
        mx.eval(got)
    finally:
        mcd.set_num_threads(before)
    steps = mx.arange(-30, n - 30)
    for a, init in enumerate(inits):
        for b, d in enumerate(ds):
            assert_same_bits(got[a, b], direct_rows([init] * len(ends), d, ends, steps, dtype))


def test_same_bits_with_any_thread_count(restore_threads):
    # Threads split the output anywhere (mid-row included): contiguous,
    # float, strided, broadcast and half-precision steps, generated steps,
    # and a grid of rows sharing a curve, which must also be the direct
    # values of one schedule per row.
    sched = mcd.cosine_decay(0.3, 123_457, 0.002)
    base = mx.arange(-300_000, 700_000, dtype=mx.int64)
    scattered = np.arange(3 * 2**17 + 77, dtype=np.int64) * 7919 % 2_000_001 - 10**6
    cases = [
        lambda: sched(base),
        lambda: sched(base.astype(mx.float32) * 0.75),
        lambda: sched(base.astype(mx.int32)[::-3]),
        lambda: sched(mx.broadcast_to(base[:1000].astype(mx.uint32).reshape(1, 1000), (600, 1000))),
        lambda: sched(base.astype(mx.float16)[::7]),
        lambda: sched.values(1_000_000, start=-5),
        lambda: mcd.cosine_decay(0.1, 10**6, 1e-4)(mx.array(scattered.astype(np.int32))),
    ]
    inits = np.linspace(0.01, 1.0, 41).tolist()
    ends = np.linspace(0.0, 1e-3, 41).tolist()
    n, d = 10_007, 6_000
    grid = mcd.cosine_decay(mx.array(inits), d, mx.array(ends))
    cases.append(lambda: grid.values(n, -50))
    direct = direct_rows(inits, d, ends, mx.arange(-50, n - 50), mx.float32)
    outs = {}
    for threads in (1, 2, 3, 8):
        mcd.set_num_threads(threads)
        assert mcd.num_threads() == threads
        outs[threads] = [case() for case in cases]
        mx.eval(outs[threads])
        assert_same_bits(outs[threads][-1], direct)
    for threads in (2, 3, 8):
        for k, (a, b) in enumerate(zip(outs[1], outs[threads], strict=True)):
            assert_same_bits(b, a, f"{threads} threads, case {k}")


# The instruction set is read once per process: one subprocess each, hashing
# the bits of every step dtype, contiguous and strided, scalar and array
# parameters, generated steps and float steps.
_ISA_DTYPES = ", ".join(repr("bool_" if d == mx.bool_ else dtype_name(d)) for d in STEP_DTYPES)
_ISA_SCRIPT = rf"""
import hashlib, sys
import mlx.core as mx, numpy as np
import mlx_cosine_decay as mcd
print(mcd.cpu_isa())
h = hashlib.sha256()
def add(out):
    if out.dtype == mx.bfloat16:
        out = out.view(mx.uint16)
    h.update(np.array(out).tobytes())
base = mx.arange(-70_000, 1_100_000, 3, dtype=mx.int64)
for d, init, end in [(1, 0.1, 0.0), (1000, 0.1, 0.01), (123_457, -0.5, 2.0), (10**12, 1.0, 0.0)]:
    s = mcd.cosine_decay(init, d, end)
    for dt in [{_ISA_DTYPES}]:
        x = base.astype(getattr(mx, dt))
        for v in (x, x[::-5]):
            add(s(v))
    add(s.values(300_000, start=-100))
add(mcd.cosine_decay(0.1, 10**5)(mx.array(np.linspace(-3e5, 3e5, 10_001).astype(np.float32))))
add(mcd.cosine_decay(mx.linspace(0.01, 1, 7), 10**5, 1e-3).values(30_001, -100))
print(h.hexdigest())
"""


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return set(re.search(r"^flags\s*:(.*)$", f.read(), re.M).group(1).split())
    except (OSError, AttributeError):
        return set()


def test_every_instruction_set_gives_the_same_bits():
    flags = _cpu_flags()
    if "avx2" not in flags:
        pytest.skip("no x86 AVX2 CPU: only one kernel runs here")
    isas = ["baseline", "avx2"]
    if {"avx512f", "avx512dq", "avx512vl", "avx512bw"} <= flags:
        isas.append("avx512")
    digests = {}
    for isa in isas:
        proc = subprocess.run(
            [sys.executable, "-c", _ISA_SCRIPT],
            env={**os.environ, "MLX_COSINE_DECAY_ISA": isa},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        name, digest = proc.stdout.split()
        assert name == isa
        digests[isa] = digest
    assert len(set(digests.values())) == 1, digests
