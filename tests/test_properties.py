"""Property-based tests (Hypothesis) against the exact truth.

Every case draws a step dtype, a shape and a memory layout (contiguous,
transposed, strided, broadcast), step values (ordinary, near the special
points 0, D/3, D/2, 2D/3 and D, far outside [-D, D], NaN and infinities,
fractions), decay_steps from 1 to 2**62 - 1 (scalar, or an array that may vary
along the last axis) and init/end as numbers or arrays of any float dtype,
often of opposite signs. It asserts:

- the result dtype is the reference's (mlx.optimizers.cosine_decay's rules);
- every value meets the documented bound against the exact truth
  (exact_truth.within_bound: correctly rounded up to 0.502 ulp plus
  EPSILON[dtype] * |init - end|), NaN exactly where the truth is NaN;
- scalar and array parameters holding the same numbers give identical bits;
- values(n, start) is bit for bit the schedule at start .. start + n - 1.

The search is derandomized (the same cases on every run) and bounded:
MLX_COSINE_DECAY_EXAMPLES examples per test (default 300, about 10 s).
"""

import os

import exact_truth
import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from conftest import (
    FLOAT_DTYPES,
    INT_DTYPES,
    NP_DTYPES,
    STEP_DTYPES,
    as_float64,
    dtype_name,
    exact_values,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mlx_cosine_decay as mcd

MAX_D = 2**62 - 1
EXAMPLES = int(os.environ.get("MLX_COSINE_DECAY_EXAMPLES", "300"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The integer step dtypes and the values they hold.
INT_RANGES = {d: (0, 1) for d in INT_DTYPES if d == mx.bool_} | {
    d: (int(np.iinfo(NP_DTYPES[d]).min), int(np.iinfo(NP_DTYPES[d]).max))
    for d in INT_DTYPES
    if d != mx.bool_
}
PARAM_DTYPES = FLOAT_DTYPES


# Strategies.

decay_steps = st.one_of(
    st.integers(1, 64),
    st.integers(1, 2**31 - 1),
    st.integers(1, MAX_D),
    st.sampled_from(
        [1, 2, 3, 6, 2**23, 2**24 + 1, 2**31 - 1, 2**31, 2**53 - 1, 2**53, 2**53 + 1, MAX_D - 1]
        + [MAX_D, 3 * 2**40, 6 * 10**17]
    ),
)

finite_params = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.1, -0.3, 1e-3, 3.0, 124.1446929262177]),
    st.floats(-1000.0, 1000.0, allow_nan=False),
    st.floats(1e-30, 1e-20),
)


@st.composite
def step_value(draw, dtype, d):
    """A step near a point where the formula changes, or anywhere."""
    lo, hi = INT_RANGES.get(dtype, (-(2**64), 2**64))
    special = [0, 1, d // 3, d // 2, (2 * d) // 3, d - 1, d, d + 1, -d, 2 * d, 3 * d // 2]
    base = draw(st.sampled_from(special))
    if draw(st.booleans()):
        v = base + draw(st.integers(-3, 3)) + draw(st.sampled_from([0, 0, 2 * d, -2 * d, -6 * d]))
    else:
        v = draw(st.integers(max(lo, -4 * d - 8), min(hi, 4 * d + 8)))
    if dtype in INT_RANGES:
        return min(max(v, lo), hi)
    kind = draw(st.sampled_from(["int", "int", "frac", "special", "huge"]))
    if kind == "frac":
        return float(v) + draw(st.sampled_from([0.5, 0.25, -0.125, 1 / 3]))
    if kind == "special":
        return draw(st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e-40, -0.0]))
    if kind == "huge":
        return draw(st.sampled_from([1e30, -1e30, 3e38, -3e38, 6e4, -6e4, 2.0**63, -(2.0**63)]))
    return float(v)


def layout_array(values, dtype, shape, layout):
    """An mx.array with the given values and shape in the given layout."""
    flat = np.array(values, dtype=object)
    if mx.issubdtype(dtype, mx.floating):
        base = mx.array(np.array(flat, dtype=np.float64), dtype=mx.float64).astype(dtype)
    elif dtype == mx.uint64:
        base = mx.array(np.array(flat, dtype=np.uint64))
    else:
        base = mx.array(np.array(flat, dtype=np.int64)).astype(dtype)
    if layout == "contiguous" or len(shape) == 0:
        return base.reshape(shape)
    if layout == "transposed":
        return base.reshape(shape[::-1]).T
    if layout == "strided":  # every other element along the last axis
        doubled = mx.stack([base.reshape(shape)] * 2, axis=-1)
        return doubled.reshape(shape[:-1] + (2 * shape[-1],))[..., ::2]
    # broadcast: the values of the first row repeated along the leading axis
    row = base.reshape(shape)[0:1]
    return mx.broadcast_to(row, shape)


@st.composite
def cases(draw):
    step_dtype = draw(st.sampled_from(STEP_DTYPES))
    d = draw(decay_steps)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided", "broadcast"]))
    n = int(np.prod(shape)) if shape else 1
    steps = draw(st.lists(step_value(step_dtype, d), min_size=n, max_size=n))
    # Values the dtype cannot hold are rounded (huge float16 steps become
    # inf); the truth reads what the array holds.
    step = layout_array(steps, step_dtype, shape, layout)

    def param():
        value = draw(finite_params)
        form = draw(st.sampled_from(["number", "number", "array"]))
        if form == "number":
            return value
        dtype = draw(st.sampled_from(PARAM_DTYPES))
        return mx.array(value, dtype=dtype)

    init, end = param(), param()
    if draw(st.booleans()) and not isinstance(init, mx.array) and not isinstance(end, mx.array):
        end = -init * draw(st.sampled_from([1.0, 3.0, 1 / 3, 0.5]))  # a zero crossing
    d_form = draw(st.sampled_from(["number", "array", "row"]))
    if d_form == "number":
        d_param = d
    elif d_form == "array":
        d_param = mx.array(np.array(d, dtype=np.int64))
    else:  # one decay_steps per position along the last axis
        last = shape[-1] if shape else 1
        ds = [d] + draw(st.lists(decay_steps, min_size=last - 1, max_size=last - 1))
        d_param = mx.array(np.array(ds, dtype=np.int64))
    return step, init, d_param, end


def reference_dtype(step, init, end):
    """The dtype mlx.optimizers.cosine_decay gives (graph only, no eval)."""
    return optim.cosine_decay(init, 1, end)(step).dtype


def kernel_value(p, out):
    """A parameter as the kernel uses it: an array's entries exactly; a
    number rounded to float32, or kept double for float64 results."""
    if isinstance(p, mx.array):
        return exact_values(p)
    return p if out == mx.float64 else float(np.float32(p))


def check_against_truth(got, step, init, d, end):
    out = got.dtype
    shape = got.shape
    truth_args = [
        np.broadcast_to(exact_values(step), shape),
        np.broadcast_to(np.asarray(kernel_value(init, out), dtype=object), shape),
        np.broadcast_to(exact_values(d) if isinstance(d, mx.array) else np.asarray(d), shape),
        np.broadcast_to(np.asarray(kernel_value(end, out), dtype=object), shape),
    ]
    g = as_float64(got)
    bad = []
    for idx in np.ndindex(shape):
        s, i, dd, e = (a[idx] for a in truth_args)
        exact = exact_truth.value(s, i, int(dd), e)
        if not exact_truth.within_bound(g[idx], exact, dtype_name(out), i, e):
            bad.append((s, i, int(dd), e, float(g[idx]), float(exact)))
    assert not bad, f"{dtype_name(out)} results off the bound: {bad[:5]}"


@SETTINGS
@given(cases())
def test_matches_exact_truth_and_reference_dtype(case):
    step, init, d, end = case
    got = mcd.cosine_decay(init, d, end)(step)
    assert got.dtype == reference_dtype(step, init, end)
    check_against_truth(got, step, init, d, end)


@SETTINGS
@given(cases())
# Always run: a number init with bfloat16 steps once gave other bits with an
# array decay_steps (9.75 vs 9.8125 at step 50).
@example((mx.array([50.0], dtype=mx.bfloat16), 124.1446929262177, 61, 0.1))
def test_scalar_and_array_parameters_identical_bits(case):
    step, init, d, end = case
    got = mcd.cosine_decay(init, d, end)(step)
    out = got.dtype
    # decay_steps as a number or an array, all else as given, also over 64
    # steps across the whole curve (most drawn steps are special points).
    if not isinstance(d, mx.array) or d.size == 1:
        d_number = d.item() if isinstance(d, mx.array) else d
        ramp = np.linspace(0, min(d_number, 2**62), 64)
        if mx.issubdtype(step.dtype, mx.floating):
            ramp = mx.array(ramp, dtype=mx.float64).astype(step.dtype)
        else:
            lo, hi = INT_RANGES[step.dtype]
            ramp = mx.array(np.clip(ramp, lo, min(hi, 2**62)).astype(NP_DTYPES[step.dtype]))
        both = mx.concatenate([step.reshape(-1), ramp])
        a = mcd.cosine_decay(init, d_number, end)(both)
        b = mcd.cosine_decay(init, mx.array(d_number), end)(both)
        assert a.dtype == b.dtype
        assert mx.array_equal(a, b, equal_nan=True).item()
    # The same numbers in the other form: numbers <-> arrays of the result
    # dtype (which keeps the result dtype), decay_steps number <-> array.
    if isinstance(init, mx.array) or isinstance(end, mx.array):
        if any(isinstance(p, mx.array) and p.dtype != out for p in (init, end)):
            return  # an array of another dtype has no scalar twin
        init_s = init.item() if isinstance(init, mx.array) else init
        end_s = end.item() if isinstance(end, mx.array) else end
        twin_init, twin_end = init_s, end_s
    else:
        init_r = mx.array(init, dtype=out).item()
        end_r = mx.array(end, dtype=out).item()
        base = mcd.cosine_decay(init_r, d, end_r)(step)
        assert base.dtype == out
        got, twin_init, twin_end = base, mx.array(init_r, dtype=out), mx.array(end_r, dtype=out)
    if isinstance(d, mx.array) and d.size == 1:
        twin_d = d.item()
    elif isinstance(d, mx.array):
        twin_d = d  # varies along the axis: no scalar twin
    else:
        twin_d = mx.array(d)
    twin = mcd.cosine_decay(twin_init, twin_d, twin_end)(step)
    if twin.dtype != out:
        return  # numbers in place of arrays of a wider dtype: not a twin
    assert twin.size == got.size  # a (1,) decay_steps adds an axis of 1
    assert mx.array_equal(twin.reshape(-1), got.reshape(-1), equal_nan=True).item(), (
        np.array(twin.astype(mx.float64)).ravel()[:8],
        np.array(got.astype(mx.float64)).ravel()[:8],
    )


@SETTINGS
@given(
    decay_steps,
    st.integers(1, 40),
    st.one_of(st.integers(-(2**62), 2**62), st.sampled_from([0, -1, 1])),
    finite_params,
    st.one_of(finite_params, st.sampled_from([-1.0, -3.0, -1 / 3])),
    st.booleans(),
)
@example(d=10, n=11, start=0, init=1.0, end=-1.0, array_d=False)  # exactly 0 at 5
def test_values_is_the_schedule_at_consecutive_steps(d, n, start, init, end, array_d):
    # Often start near a special point of the curve, and end = -init (times
    # 1, 3 or 1/3): a zero crossing at D/2 (D/3, 2D/3).
    start = start % (4 * d) - 2 * d if abs(start) > 4 * d else start
    if end in (-1.0, -3.0, -1 / 3):
        end = end * init
    sched = mcd.cosine_decay(init, mx.array(d) if array_d else d, end)
    got = sched.values(n, start)
    # Built in NumPy: mx.arange counts in double and loses starts beyond 2**53.
    steps = mx.array(np.arange(start, start + n, dtype=np.int64))
    want = sched(steps)
    assert got.dtype == want.dtype == mx.float32
    assert mx.array_equal(got.reshape(-1), want, equal_nan=True).item()
    check_against_truth(want, steps, init, d, end)
