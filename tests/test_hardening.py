"""Hardening: out-of-range array decay_steps, the zero crossings, floating
steps beyond 2**53, dtype rules for every parameter form, sizes checked before
allocating, and errors that report what the user passed. Values are checked
against the exact truth (tests/exact_truth.py)."""

import math
import subprocess
import sys

import exact_truth
import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import STEP_DTYPES, as_float64, dtype_name, exact_values

import mlx_cosine_decay as mcd

MAX_D = 2**62 - 1  # the largest accepted decay_steps


def kernel_param(x, out_dtype):
    """A scalar init/end as the kernel uses it: float32, or double for
    float64 results (MLX's weak scalars, computed once at full precision)."""
    return float(x) if out_dtype == mx.float64 else float(np.float32(x))


def out_of_bound(got, steps, init, d, end):
    """The (step, got, exact) that miss the documented accuracy bound
    (exact_truth.within_bound); init and end as the kernel uses them."""
    name = dtype_name(got.dtype)
    bad = []
    for gv, s in zip(as_float64(got).ravel(), steps, strict=True):
        exact = exact_truth.value(s, init, d, end)
        if not exact_truth.within_bound(gv, exact, name, init, end):
            bad.append((s, float(gv), float(exact)))
    return bad


def holds(dtype, ints):
    """Does the floating dtype hold every one of these integers exactly?"""
    if any(float(v) != v for v in ints):
        return False
    a = as_float64(mx.array(np.array([float(v) for v in ints]), dtype=mx.float64).astype(dtype))
    return bool(np.isfinite(a).all()) and [int(v) for v in a] == list(ints)


# Array decay_steps out of the accepted range: the low-level op cannot read
# lazy values, so entries outside [1, 2**62 - 1] give NaN in every backend
# (the Schedule checks them eagerly and raises).


def test_op_gives_nan_for_array_decay_steps_of_2_62_and_above():
    d = mx.array([2**62, 2**63 - 1, 5, MAX_D, 0, -3])
    got = np.array(mcd.cosine_decay_op(mx.arange(6), 1.0, d, 0.0))
    assert np.isnan(got[[0, 1, 4, 5]]).all(), got
    assert got[2] == np.float32(float(exact_truth.value(2, 1.0, 5, 0.0)))
    assert got[3] == 1.0  # step 3 of 2**62 - 1: 1 - 5.8e-37 rounds to 1


def test_op_gives_nan_for_uint64_decay_steps_beyond_int64():
    d = mx.array(np.array([2**64 - 1, 2**63, 7], dtype=np.uint64))
    got = np.array(mcd.cosine_decay_op(mx.array([1, 1, 1]), 1.0, d, 0.0))
    assert np.isnan(got[:2]).all(), got
    assert not np.isnan(got[2])


def test_values_op_gives_nan_for_out_of_range_decay_steps():
    d = mx.array([2**62, 2**63 - 1, 4])
    got = np.array(mcd.cosine_decay_values(1.0, d, 0.0, 5))
    assert got.shape == (3, 5)
    assert np.isnan(got[:2]).all(), got
    np.testing.assert_array_equal(got[2], np.array(mcd.cosine_decay(1.0, 4).values(5)))


@pytest.mark.parametrize(
    "dtype", [mx.int32, mx.uint32, mx.int64, mx.uint64, mx.float32, mx.float64], ids=str
)
def test_largest_decay_steps_exact(dtype):
    d = MAX_D
    ints = [0, 1, 2**31 - 1, 2**40, d // 3, d // 2, d - 2**40, d - 1, d, d + 1]
    if dtype in (mx.int32, mx.uint32):
        ints = [v for v in ints if v < 2**31]
    if dtype in (mx.int64, mx.float32, mx.float64):
        ints += [-1, -(d // 2), -d, -(2**62), -(2**63) + 1]
    if dtype == mx.uint64:
        ints += [2**64 - 1, 2**63]
    if mx.issubdtype(dtype, mx.floating):
        step = mx.array(np.array([float(v) for v in ints]), dtype=dtype)
    else:
        step = mx.array(np.array(ints, dtype=np.dtype(dtype_name(dtype))))
    for init, end in [(2.0, 0.5), (1.0, -1.0)]:
        got = mcd.cosine_decay(init, d, end)(step)
        out = got.dtype
        i, e = kernel_param(init, out), kernel_param(end, out)
        assert not out_of_bound(got, list(exact_values(step).ravel()), i, d, e)


# Zero crossings (init and end of opposite signs). By Niven's theorem cos^2
# of a rational multiple of pi in [0, pi/4] is rational only at 0, pi/6 and
# pi/4 (3/4 and 1/2), so the schedule is exactly 0 only where 3q == D or
# 2q == D (q: the distance to the nearer end of the decay).

# (init, end, step as a fraction of D): value exactly 0.
ZEROS = [
    (1.0, -1.0, (1, 2)),  # cos^2 = 1/2
    (1.0, -3.0, (1, 3)),  # cos^2 = 3/4
    (3.0, -1.0, (2, 3)),  # sin^2(pi/6) = 1/4 near the end
    (0.125, -0.375, (1, 3)),
    (0.75, -0.25, (2, 3)),
]


@pytest.mark.parametrize("d", [6, 12, 30, 3000, 3 * 2**40, 6 * 10**17, 2**62 - 4])
@pytest.mark.parametrize("init,end,frac", ZEROS)
def test_exactly_zero_where_the_truth_is_zero(d, init, end, frac):
    num, den = frac
    assert d % den == 0
    s = d * num // den
    steps = [v for v in (s, -s, -s - 2 * d, s - 4 * d) if v >= -(2**63)]  # even, 2D-periodic
    assert all(exact_truth.value(v, init, d, end) == 0 for v in steps)
    sched = mcd.cosine_decay(init, d, end)
    arr_sched = mcd.cosine_decay(mx.array(init), mx.array(d), mx.array(end))
    cases = [mx.int64] + ([mx.int32] if max(map(abs, steps)) < 2**31 else [])
    cases += [t for t in (mx.float16, mx.bfloat16, mx.float32, mx.float64) if holds(t, steps)]
    for dtype in cases:
        if mx.issubdtype(dtype, mx.floating):
            step = mx.array(np.array([float(v) for v in steps]), dtype=dtype)
        else:
            step = mx.array(np.array(steps, dtype=np.int64)).astype(dtype)
        for sc in (sched, arr_sched):
            got = np.array(sc(step).astype(mx.float64))
            assert (got == 0).all(), (dtype, got)
    assert sched.values(1, start=s).item() == 0.0
    assert sched.values(3, start=-s - 1).tolist()[1] == 0.0


@pytest.mark.parametrize("d", [10, 1000, 999_999, 2**31 - 1, 2**40 + 1, 2**53 + 7, MAX_D])
@pytest.mark.parametrize("init,end", [(1.0, -1.0), (0.7, -0.3), (-2.5, 1e-3), (1e-3, -2.5)])
def test_float32_within_one_ulp_near_zero_crossings(d, init, end):
    """Wherever |exact| >= 2**-24 |init - end|, float32 results are within
    1 ulp; everywhere within the documented bound."""
    x = math.acos(math.sqrt(-end / (init - end)))  # the crossing's angle pi s / 2D
    c = round(2 * d * x / math.pi)
    steps = sorted({min(max(c + k, 0), d) for k in range(-40, 41)} | {0, d // 2, d})
    step = mx.array(np.array(steps, dtype=np.int64))
    i, e = kernel_param(init, mx.float32), kernel_param(end, mx.float32)
    for sched in (mcd.cosine_decay(init, d, end), mcd.cosine_decay(init, mx.array(d), end)):
        got = sched(step)
        assert got.dtype == mx.float32
        assert not out_of_bound(got, steps, i, d, e)
        for s, gv in zip(steps, as_float64(got), strict=True):
            exact = exact_truth.value(s, i, d, e)
            if abs(float(exact)) >= 2**-24 * abs(i - e):
                assert exact_truth.error(gv, exact, "float32") <= 1, (s, gv, float(exact))


def test_float32_at_the_issue_example():
    assert mcd.cosine_decay(1.0, 10, -1.0)(mx.array(5)).item() == 0.0


# Floating steps with decay_steps beyond 2**53: D is not a double.


@pytest.mark.parametrize("d", [2**53 + 1, 2**53 + 3, 2**60 + 1, 3 * 2**59 - 1, MAX_D])
def test_float64_steps_beyond_2_53(d):
    vals = [
        2.0**53,
        2.0**53 - 1,
        1.5,
        -0.25,
        2.0**52 + 1,
        2.0**54,
        -(2.0**53),
        2.0**60,
        float(d // 2),
        float(d // 3),
        -float(d // 3),
        2.0**62,
        2.0**63,
        -(2.0**63),
        -(2.0**70),
        -1e300,
        1e300,
        float("inf"),
        float("-inf"),
        float("nan"),
    ]
    step = mx.array(np.array(vals), dtype=mx.float64)
    for init, end in [(1.0, 0.0), (1.0, -1.0)]:
        got = mcd.cosine_decay(init, d, end)(step)
        assert got.dtype == mx.float64
        assert not out_of_bound(got, vals, init, d, end)


def test_issue_example_float64_step_two_to_the_53():
    got = mcd.cosine_decay(1.0, 2**53 + 1)(mx.array([2.0**53], dtype=mx.float64)).item()
    exact = exact_truth.value(2.0**53, 1.0, 2**53 + 1, 0.0)
    assert exact_truth.within_bound(got, exact, "float64", 1.0, 0.0), (got, float(exact))
    assert abs(got - 3.0413066648502467e-32) <= 1e-46


@pytest.mark.parametrize("dtype", [mx.float32, mx.bfloat16, mx.float16], ids=str)
def test_narrow_float_steps_beyond_2_53(dtype):
    d = 2**60 + 1
    vals = [1.0, 2.0**10, -(2.0**10), 2.0**60, -(2.0**60), 2.0**62, 3e38, -3e38, 6e4, -6e4]
    if dtype == mx.float16:
        vals = [v for v in vals if abs(v) <= 6e4]
    step = mx.array(np.array(vals), dtype=dtype)
    got = mcd.cosine_decay(1.0, d, 0.0)(step)
    assert got.dtype == dtype
    assert not out_of_bound(got, list(exact_values(step).ravel()), 1.0, d, 0.0)


# Dtypes: MLX's rules as the reference applies them, `end + decay * (init -
# end)` with Python numbers weak, for every parameter form.

PARAM_FORMS = [
    0.5,
    mx.bool_,
    mx.int8,
    mx.int32,
    mx.uint64,
    mx.float16,
    mx.bfloat16,
    mx.float32,
    mx.float64,
]


def param(form, value):
    return float(value) if isinstance(form, float) else mx.array(value).astype(form)


@pytest.mark.parametrize("step_dtype", STEP_DTYPES, ids=str)
def test_result_dtype_is_the_references_for_every_parameter_form(step_dtype):
    step = mx.array([3]).astype(step_dtype)
    mismatches = []
    for init_form in PARAM_FORMS:
        for end_form in PARAM_FORMS:
            init, end = param(init_form, 1), param(end_form, 0)
            try:
                want = optim.cosine_decay(init, 10, end)(step).dtype
            except ValueError:
                continue  # the reference cannot combine them (e.g. bool - bool)
            for d in (10, mx.array(10)):
                got = mcd.cosine_decay(init, d, end)(step).dtype
                if got != want:
                    mismatches.append((init_form, end_form, type(d).__name__, got, want))
    assert not mismatches, mismatches


def test_integer_init_with_half_steps_is_float32():
    for half in (mx.float16, mx.bfloat16):
        step = mx.array([5], dtype=half)
        assert mcd.cosine_decay(mx.array(1), 10)(step).dtype == mx.float32
        assert mcd.cosine_decay(mx.array(True), 10, 0.0)(step).dtype == mx.float32
        assert mcd.cosine_decay(1.0, 10, mx.array(0))(step).dtype == mx.float32


def test_scalar_and_array_decay_steps_give_identical_bits_bfloat16_issue_example():
    step = mx.array(50, dtype=mx.bfloat16)
    a = mcd.cosine_decay(124.1446929262177, 61, 0.1)(step)
    b = mcd.cosine_decay(124.1446929262177, mx.array(61), 0.1)(step)
    assert a.dtype == b.dtype == mx.bfloat16
    assert a.item() == b.item(), (a.item(), b.item())


@pytest.mark.parametrize("step_dtype", [mx.float16, mx.bfloat16, mx.float32, mx.int32], ids=str)
def test_scalar_and_array_parameters_give_identical_bits(step_dtype, rng):
    steps = mx.array(rng.integers(-50, 400, 300)).astype(step_dtype)
    for _ in range(20):
        init, end = (float(v) for v in rng.uniform(-200, 200, 2))
        d = int(rng.integers(1, 300))
        want = mcd.cosine_decay(init, d, end)(steps)
        out = want.dtype
        d_small = mx.array(d, dtype=mx.uint16)
        for form in [(init, mx.array(d), end), (init, mx.array([d]), end), (init, d_small, end)]:
            got = mcd.cosine_decay(*form)(steps)
            assert got.dtype == out
            assert mx.array_equal(got, want, equal_nan=True).item(), (form, init, d, end)
        # Arrays of the result dtype: the scalars with the values they hold.
        init_a, end_a = mx.array(init, dtype=out), mx.array(end, dtype=out)
        want = mcd.cosine_decay(init_a.item(), d, end_a.item())(steps)
        for form in [(init_a, d, end_a), (init_a, mx.array(d), end_a.item())]:
            got = mcd.cosine_decay(*form)(steps)
            assert got.dtype == out
            assert mx.array_equal(got, want, equal_nan=True).item(), (form, init, d, end)
        vals = mcd.cosine_decay(init, d, end).values(60, start=-5)
        got = mcd.cosine_decay(init, mx.array(d), end).values(60, start=-5)
        assert mx.array_equal(got, vals).item()


# Sizes and the numbers in error messages.


def test_uint64_decay_steps_entry_is_reported_as_given():
    for v in (2**64 - 1, 2**63):
        d = mx.array(np.array([5, v], dtype=np.uint64))
        with pytest.raises(ValueError, match=f"but got {v}"):
            mcd.cosine_decay(0.1, d)


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", "import mlx.core as mx, mlx_cosine_decay as m\n" + code],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "code",
    [
        "m.cosine_decay(mx.zeros((1000, 1)), 10).values(2**31 - 1)",
        "m.cosine_decay_values(mx.zeros((1000, 1)), mx.array(10), 0.0, 2**31 - 1)",
        "m.cosine_decay(0.1, 10)(mx.broadcast_to(mx.array(1), (1000, 2**31 - 1)))",
        "m.cosine_decay(mx.zeros((1000, 1)), 10)(mx.zeros((1, 2**31 - 1), dtype=mx.int8))",
    ],
    ids=["values", "values-op", "call-broadcast", "call-params"],
)
def test_output_too_large_is_a_value_error_before_allocating(code):
    """A clear ValueError when the graph is built, not a crash at eval."""
    proc = _run(
        "try:\n"
        f"    r = {code}\n"
        "except ValueError as e:\n"
        "    print('ValueError:', e)\n"
        "else:\n"
        "    mx.eval(r)\n"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ValueError:" in proc.stdout and "memory" in proc.stdout, proc.stdout
