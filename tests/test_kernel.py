"""The CPU kernel: the accuracy bound, both paths, every size boundary, and
independence from the thread count and the instruction set."""

import os
import subprocess
import sys

import mlx.core as mx
import numpy as np
import pytest

import mlx_cosine_decay as mcd
from conftest import to_numpy, truth, ulp_error

# The CPU computes in double (a polynomial exact to 3e-12) and rounds once to
# float32: correctly rounded but for 5e-5 ulp (issue 3 asks for 4 ulp; the
# float32-only Metal path stays within that).
MAX_ULPS = 0.502

# Blocks of 1024 steps, vectors of 4..16 lanes, threads from 2 * 2**17 elements.
BOUNDARY_SIZES = sorted(
    {n + d for n in (1, 4, 8, 16, 32, 64, 1024, 2 * 2**17, 3 * 2**17) for d in (-1, 0, 1)} - {0}
)


def ulps(y, t):
    return ulp_error(to_numpy(y), t, mx.float32)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 1000, 10**6])
def test_dense_int32_within_4_ulp(d):
    steps = np.arange(-3 * d - 5, 3 * d + 6, dtype=np.int64)
    y = mcd.cosine_decay(1.0, d)(mx.array(steps.astype(np.int32)))
    assert y.dtype == mx.float32
    assert ulps(y, truth(steps, 1.0, d)).max() <= MAX_ULPS


def test_tail_is_not_rounded_to_zero():
    d = 10**6
    y = mcd.cosine_decay(1.0, d)(mx.array([d - 1, d - 2], dtype=mx.int32))
    assert ulps(y, truth(np.array([d - 1, d - 2]), 1.0, d)).max() <= MAX_ULPS
    assert y[0].item() == pytest.approx(2.4674e-12, rel=1e-4)


@pytest.mark.parametrize(
    "dtype",
    [mx.bool_, mx.int8, mx.uint8, mx.int16, mx.uint16, mx.int32, mx.uint32, mx.int64, mx.uint64],
)
@pytest.mark.parametrize("d", [1, 100, 30_000, 2**31, 10**12])
def test_random_integer_steps(dtype, d):
    info = np.iinfo(np.dtype(str(dtype).split(".")[-1])) if dtype != mx.bool_ else None
    rng = np.random.default_rng(d)
    lo, hi = (0, 1) if info is None else (max(info.min, -4 * d), min(info.max, 4 * d))
    steps_np = rng.integers(lo, hi, size=5000, endpoint=True, dtype=np.int64)
    steps = mx.array(steps_np).astype(dtype)
    y = mcd.cosine_decay(1.0, d)(steps)
    assert ulps(y, truth(steps, 1.0, d)).max() <= MAX_ULPS


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16, mx.float32, mx.float64])
@pytest.mark.parametrize("d", [1, 1000, 2**24 + 3])
def test_random_float_steps(dtype, d):
    rng = np.random.default_rng(d)
    span = min(3 * d, 60_000) if dtype == mx.float16 else 3 * d
    steps = mx.array(rng.uniform(-span, span, size=5000)).astype(dtype)
    t = truth(steps, 1.0, d)
    y = to_numpy(mcd.cosine_decay(1.0, d)(steps)).astype(np.float64)
    if dtype == mx.float64:
        np.testing.assert_allclose(y, t, rtol=1e-12, atol=1e-15)
    elif dtype == mx.float32:
        assert ulps(y, t).max() <= MAX_ULPS
    else:
        # One rounding of a float32 result to the step dtype.
        # One rounding of a float32 result to the step dtype (float16 has
        # subnormals below 2**-14, spaced 2**-24).
        eps = {mx.float16: 2**-11, mx.bfloat16: 2**-8, mx.float32: 2**-23}[dtype]
        tiny = 2**-24 if dtype == mx.float16 else 1e-38
        np.testing.assert_allclose(y, t, rtol=2 * eps, atol=tiny)


@pytest.mark.parametrize("n", BOUNDARY_SIZES)
def test_sizes_around_vector_block_and_thread_boundaries(n):
    d = 1000
    steps_np = (np.arange(n, dtype=np.int64) * 37 % (3 * d)) - d // 2
    steps = mx.array(steps_np.astype(np.int32))
    y = np.array(mcd.cosine_decay(1.0, d)(steps))
    assert y.shape == (n,)
    assert ulps(y, truth(steps_np, 1.0, d)).max() <= MAX_ULPS
    # The strided path: the same steps reversed.
    y_rev = np.array(mcd.cosine_decay(1.0, d)(steps[::-1]))
    np.testing.assert_array_equal(y_rev, y[::-1])


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


def test_same_results_with_any_thread_count():
    steps = mx.array((np.arange(3 * 2**17 + 77, dtype=np.int64) * 7919 % 2_000_001 - 10**6).astype(np.int32))
    schedule = mcd.cosine_decay(0.1, 10**6, 1e-4)
    before = mcd.num_threads()
    try:
        results = []
        for threads in (1, 2, 3, 8):
            mcd.set_num_threads(threads)
            results.append(np.array(schedule(steps)))
    finally:
        mcd.set_num_threads(before)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def _isa_available(isa):
    code = f"import mlx_cosine_decay as m; print(m.cpu_isa())"
    env = dict(os.environ, MLX_COSINE_DECAY_ISA=isa)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return run.returncode == 0 and run.stdout.strip() == isa


def test_same_results_with_every_instruction_set(tmp_path):
    code = (
        "import sys, numpy as np, mlx.core as mx, mlx_cosine_decay as m\n"
        "s = mx.array((np.arange(100_003) * 7919 % 2_000_001 - 10**6).astype(np.int32))\n"
        "f = mx.array(np.linspace(-3e5, 3e5, 10_001).astype(np.float32))\n"
        "np.save(sys.argv[1], np.concatenate([np.array(m.cosine_decay(0.1, 10**6, 1e-3)(s)),"
        " np.array(m.cosine_decay(0.1, 10**5)(f)),"
        " np.array(m.cosine_decay(mx.linspace(0.01, 1, 7), 10**5, 1e-3).values(30_001, -100)).ravel()]))\n"
    )
    outputs = {}
    for isa in ("baseline", "avx2", "avx512"):
        if not _isa_available(isa):
            continue
        path = tmp_path / f"{isa}.npy"
        env = dict(os.environ, MLX_COSINE_DECAY_ISA=isa)
        subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True)
        outputs[isa] = np.load(path)
    assert "baseline" in outputs
    for isa, out in outputs.items():
        np.testing.assert_array_equal(out, outputs["baseline"], err_msg=isa)


def test_unknown_instruction_set_is_a_clear_error():
    env = dict(os.environ, MLX_COSINE_DECAY_ISA="sse9")
    code = "import mlx.core as mx, mlx_cosine_decay as m; mx.eval(m.cosine_decay(1, 10)(mx.arange(3)))"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "MLX_COSINE_DECAY_ISA=sse9" in run.stderr


@pytest.mark.parametrize("n", [17, 1024 + 5, 3 * 2**17 + 1])
def test_donated_step_buffer_with_steps_below_minus_d(n):
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
INT_VIEW = {mx.float16: mx.uint16, mx.bfloat16: mx.uint16, mx.float32: mx.uint32, mx.float64: mx.uint64}


def assert_same_bits(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    assert mx.array_equal(got.view(INT_VIEW[got.dtype]), want.view(INT_VIEW[want.dtype])).item()


def direct_rows(inits, d, ends, steps, dtype):
    """One scalar-parameter schedule per row (one row each: the direct path)."""
    return mx.stack(
        [
            mcd.cosine_decay(mx.array(i, dtype), d, mx.array(e, dtype))(steps, stream=mx.cpu)
            for i, e in zip(inits, ends)
        ]
    )


@pytest.mark.parametrize("dtype", [mx.float32, mx.float16, mx.bfloat16, mx.float64])
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
        for row, (i, e) in enumerate(zip(SHARED_INITS, SHARED_ENDS)):
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
def test_generated_runs_at_the_exactness_limit(dtype, limit, above):
    # values() takes the runs while every distance is exact in the compute
    # type (D <= 2^53 in double, 2^24 in float), the general kernel above.
    d = limit + above
    init = mx.array([1.0, 0.5, 0.25, 2.0], dtype)
    end = mx.array([0.0, 0.1, 0.0, 1.0], dtype)
    for start in (d // 2 - 6, d - 6, -d // 2 - 6):
        steps = mx.array(np.arange(start, start + 13, dtype=np.int64))  # mx.arange rounds here
        want = direct_rows(init.tolist(), d, end.tolist(), steps, dtype)
        assert_same_bits(mcd.cosine_decay(init, d, end).values(13, start, stream=mx.cpu), want)


def test_shared_rows_with_any_thread_count():
    # Threads split the output anywhere, mid-row included.
    inits = np.linspace(0.01, 1.0, 41).tolist()
    ends = np.linspace(0.0, 1e-3, 41).tolist()
    n, d = 10_007, 6_000
    grid = mcd.cosine_decay(mx.array(inits), d, mx.array(ends))
    want = direct_rows(inits, d, ends, mx.arange(-50, n - 50), mx.float32)
    before = mcd.num_threads()
    try:
        for threads in (1, 2, 3, 8):
            mcd.set_num_threads(threads)
            assert_same_bits(grid.values(n, -50), want)
    finally:
        mcd.set_num_threads(before)


@pytest.mark.parametrize("dtype", [mx.float32, mx.bfloat16])
@pytest.mark.parametrize("n,threads", [(2100, 1), (20_011, 3)])
def test_groups_of_rows_share_a_curve(dtype, n, threads):
    # An (init, decay_steps, end) grid: the `end` rows of each (init,
    # decay_steps) pair share a curve; threads may split a group.
    inits, ds, ends = [0.1, 1.0], [7, 1000, 1001], [0.0, 1e-3, 0.25, -1.0, 2.0]
    grid = mcd.cosine_decay(
        mx.array(inits, dtype).reshape(2, 1, 1), mx.array(ds).reshape(1, 3, 1), mx.array(ends, dtype)
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
