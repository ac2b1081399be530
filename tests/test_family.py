"""The cosine family: linear warmup, exponent and warm restarts.

Values against the exact float64 truths of family_truth.py (float32 results
correctly rounded: <= 0.502 ulp), the warmup form against MLX's own
join_schedules(linear_schedule, cosine_decay), the plain schedule unchanged,
and the primitive's contract (transforms, compile, values(), arrays, errors).
"""

import pickle

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import example_module, to_numpy, ulp, ulp_error
from family_truth import (
    RestartBoundaries,
    restart_boundary_steps,
    restarts_slope,
    restarts_truth,
    warmup_cosine_slope,
    warmup_cosine_truth,
)

import mlx_cosine_decay as mcd

# Parameters exact in float32, so that the truth and the kernel start from
# the same numbers (scalars are rounded to the result dtype, as MLX does).
INIT = float(np.float32(3e-4))
END = float(np.float32(1e-6))
WARMUP_INIT = float(np.float32(1e-7))
CORRECTLY_ROUNDED = 0.502  # float32 ulps: half an ulp, plus the double path's margin

# (warmup_steps, decay_steps): short and long ramps, a decay shorter than the
# ramp, odd sizes, and sizes where W + 2D needs int64 / double.
WARMUP_CASES = [
    (1, 1),
    (7, 13),
    (100, 1000),
    (2000, 100),
    (1000, 10**6),
    (3, 2**30),
    (2**31, 2**31),
]
# By products (multiples of 1/2 up to 8) and by log and exp (the others).
EXPONENTS = [1.0, 2.0, 0.5, 1.5, 3.0, 1.7, 8.5]


def warmup_steps_for(w, d):
    """The whole ramp and the start of the decay for small schedules; the
    boundaries (0, W, W + D and their neighbours), a sample inside, and
    steps past the end for large ones."""
    specials = [0, 1, w - 1, w, w + 1, w + d // 2, w + d - 1, w + d, w + d + 1, 2 * (w + d)]
    if w + d <= 5000:
        body = list(range(0, w + d + 3))
    else:
        rng = np.random.default_rng(w * 31 + d)
        body = list(rng.integers(0, w + d + 10, size=3000))
    return np.array(sorted({int(v) for v in specials + body if v >= 0}), dtype=np.int64)


def assert_correctly_rounded(got, t):
    err = ulp_error(to_numpy(got), t, mx.float32)
    worst = int(np.argmax(err))
    assert err.max() <= CORRECTLY_ROUNDED, f"{err.max():.4f} ulp at index {worst}"


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("w,d", WARMUP_CASES)
@pytest.mark.parametrize("exponent", EXPONENTS)
def test_warmup_cosine_is_correctly_rounded_on_ramp_and_decay(w, d, exponent):
    s = warmup_steps_for(w, d)
    sched = mcd.cosine_decay(
        INIT, d, END, warmup_steps=w, warmup_init=WARMUP_INIT, exponent=exponent
    )
    for dtype in (mx.int32, mx.int64) if s.max() < 2**31 else (mx.int64,):
        got = sched(mx.array(s).astype(dtype))
        assert got.dtype == mx.float32
        assert_correctly_rounded(
            got, warmup_cosine_truth(s, INIT, d, END, w, WARMUP_INIT, exponent)
        )


@pytest.mark.parametrize("w,d", [(7, 13), (100, 1000), (1000, 10**6)])
def test_warmup_cosine_float_steps_are_correctly_rounded(w, d):
    s = warmup_steps_for(w, d).astype(np.float64)
    s = np.concatenate([s, s + 0.25, s - 0.5])
    s = s[s >= 0].astype(np.float32)
    sched = mcd.cosine_decay(INIT, d, END, warmup_steps=w, warmup_init=WARMUP_INIT)
    assert_correctly_rounded(
        sched(mx.array(s)), warmup_cosine_truth(s, INIT, d, END, w, WARMUP_INIT)
    )


def test_warmup_steps_below_zero_extrapolate_the_ramp_as_mlx_does():
    s = np.arange(-50, 0, dtype=np.int64)
    sched = mcd.cosine_decay(INIT, 100, END, warmup_steps=10, warmup_init=WARMUP_INIT)
    got = to_numpy(sched(mx.array(s))).astype(np.float64)
    t = warmup_cosine_truth(s, INIT, 100, END, 10, WARMUP_INIT)
    # The ramp crosses zero below step 0: relative accuracy cannot hold
    # there, the error is a few float64 roundings of the terms.
    assert np.all(np.abs(got - t) <= ulp(t, mx.float32) * 0.502 + 1e-20)


@pytest.mark.parametrize("w,d,wi", [(10, 100, 0.0), (37, 999, WARMUP_INIT), (500, 2000, INIT / 2)])
def test_warmup_matches_mlx_join_schedules(w, d, wi):
    """mlx-lm's warmup + cosine, up to MLX's own float32 rounding: the ramp
    (step * slope + init in float32) within 2 ulp, the textbook cosine
    within a few ulp of init (it loses relative accuracy near the end)."""
    ref = optim.join_schedules(
        [optim.linear_schedule(wi, INIT, w), optim.cosine_decay(INIT, d, END)], [w]
    )
    s = mx.arange(0, w + d + 20)
    ours = to_numpy(mcd.cosine_decay(INIT, d, END, warmup_steps=w, warmup_init=wi)(s)).astype(
        np.float64
    )
    theirs = to_numpy(ref(s)).astype(np.float64)
    ramp = np.arange(w + d + 20) < w
    assert np.all(np.abs(ours - theirs)[ramp] <= 2 * ulp(theirs[ramp], mx.float32))
    assert np.all(np.abs(ours - theirs)[~ramp] <= 4 * ulp(INIT, mx.float32))


def test_exponent_one_and_no_warmup_is_cosine_decay_bit_for_bit():
    s = mx.array(np.arange(-3000, 5000, 7, dtype=np.int32))
    for d in (1, 999, 1000):
        plain = mcd.cosine_decay(INIT, d, END)
        family = mcd.cosine_decay(INIT, d, END, warmup_steps=0, warmup_init=0.0, exponent=1.0)
        assert np.array_equal(to_numpy(plain(s)), to_numpy(family(s)))
        assert np.array_equal(to_numpy(plain.values(500, -200)), to_numpy(family.values(500, -200)))


# -INIT / 3: init and end of opposite signs, where cosine_decay takes its wider
# series and the exact zeros.
@pytest.mark.parametrize("end", [END, -INIT / 3])
def test_after_the_warmup_the_decay_is_cosine_decay_at_step_minus_warmup_bit_for_bit(end):
    w, d = 123, 4567
    s = np.arange(w, w + d + 50, dtype=np.int64)
    warm = mcd.cosine_decay(INIT, d, end, warmup_steps=w, warmup_init=WARMUP_INIT)
    plain = mcd.cosine_decay(INIT, d, end)(mx.array(s - w))
    assert np.array_equal(to_numpy(warm(mx.array(s))), to_numpy(plain))
    assert np.array_equal(to_numpy(warm.values(d + 50, w)), to_numpy(plain))


@pytest.mark.parametrize(
    "first,t_mul,m_mul",
    [
        (10, 1.0, 1.0),
        (10, 2.0, 0.5),
        (7, 3.0, 0.9),
        (1, 2.0, 1.0),
        (10, 1.5, 1.0),
        (100, 1.1, 0.8),
        (3, 1.01, 1.0),
        (100, 0.5, 1.0),
        (16, 0.75, 0.9),
        (1000, 2.0, 0.0),
    ],
)
def test_restarts_are_correctly_rounded_at_every_boundary(first, t_mul, m_mul):
    periods = 40 if t_mul >= 1.5 else 12
    s = restart_boundary_steps(first, t_mul, periods) + list(range(0, 3 * first))
    b = RestartBoundaries(first, t_mul)
    if b.limit is not None:
        s = [v for v in s if v < b.limit - 1]
    s = np.array(sorted(set(v for v in s if v < 2**53)), dtype=np.int64)
    sched = mcd.cosine_decay_restarts(INIT, first, END, t_mul=t_mul, m_mul=m_mul)
    t = restarts_truth(s, INIT, first, END, t_mul, m_mul)
    for dtype in (mx.int64, mx.float64):
        got = sched(mx.array(s).astype(dtype))
        assert got.dtype == (mx.float32 if dtype == mx.int64 else mx.float64)
        if dtype == mx.int64:
            assert_correctly_rounded(got, t)
        else:
            assert np.all(ulp_error(to_numpy(got), t, mx.float64) <= 8)


def test_restart_float32_steps_with_fractions():
    s = np.arange(0, 400, dtype=np.float32) + np.float32(0.375)
    sched = mcd.cosine_decay_restarts(INIT, 10, END, t_mul=2.0, m_mul=0.7)
    assert_correctly_rounded(sched(mx.array(s)), restarts_truth(s, INIT, 10, END, 2.0, 0.7))


@pytest.mark.parametrize("t_mul", [1.0, 2.0, 3.0, 1.5, 1.25, 0.5])
def test_restart_boundaries_of_binary_t_mul_are_the_exact_ones(t_mul):
    """The closed form in float64 (which the kernels use) gives the exact
    boundaries for integer and short binary t_mul, so there the truth's
    independent exact recurrence applies."""
    from fractions import Fraction

    t = Fraction(t_mul)
    start, length = Fraction(0), Fraction(10)
    checked = 0
    for i in range(40):
        # Exact while F * t**i (and so every intermediate) fits 53 bits.
        if (10 * t**i).numerator.bit_length() <= 53 and start < 2**53:
            closed = 10 * (t_mul**i - 1.0) / (t_mul - 1.0) if t_mul != 1 else 10.0 * i
            assert Fraction(closed) == start, i
            checked += 1
        start, length = start + length, length * t
    assert checked >= 20


def test_restarts_with_t_mul_one_repeat_cosine_decay_bit_for_bit():
    f = 250
    s = np.arange(0, 5 * f, dtype=np.int64)
    got = mcd.cosine_decay_restarts(INIT, f, END, t_mul=1.0, m_mul=1.0)(mx.array(s))
    plain = mcd.cosine_decay(INIT, f, END)(mx.array(s % f))
    assert np.array_equal(to_numpy(got), to_numpy(plain))


@pytest.mark.parametrize("dtype", [mx.int32, mx.float64])
def test_restart_values_do_not_depend_on_the_order_of_the_steps(dtype):
    """Consecutive steps are computed in the period of the step before them,
    in one pass; others each in its own period: a step's bits are the same
    either way (sorted steps cross 20 boundaries, shuffled ones take the
    per-step path)."""
    s = np.arange(0, 120_000, dtype=np.int64)
    sched = mcd.cosine_decay_restarts(INIT, 1000, END, t_mul=1.1, m_mul=0.9)
    perm = np.random.default_rng(0).permutation(s.size)
    in_order = to_numpy(sched(mx.array(s).astype(dtype)))
    shuffled = to_numpy(sched(mx.array(s[perm]).astype(dtype)))
    assert np.array_equal(in_order[perm], shuffled)


def test_restart_nan_and_signed_zero_steps_inside_a_block():
    """-0 is step 0, in a block that lies in one period (the block pass: steps
    0-1023 of the first period, 2000 steps long) and in one that crosses a
    boundary; a NaN step is NaN in either pass (a NaN's distance is NaN: a
    positive NaN leaves its block to the block pass, a negative one sends it
    to the per-step pass)."""
    s = np.arange(0, 4000, dtype=np.float64)
    s[[500, 1500, 2047, 2900]] = np.nan
    s[[3500]] = -np.nan
    s[[0, 700, 1024]] = -0.0
    sched = mcd.cosine_decay_restarts(INIT, 2000, END, t_mul=2.0, m_mul=0.5)
    got = sched(mx.array(s).astype(mx.float64))
    assert got.dtype == mx.float64
    got = to_numpy(got)
    t = restarts_truth(np.nan_to_num(s, nan=0.0), INIT, 2000, END, 2.0, 0.5)
    nan = np.isnan(s)
    assert np.all(np.isnan(got[nan]))
    assert np.all(ulp_error(got[~nan], t[~nan], mx.float64) <= 8)


def test_restarts_over_a_donated_step_buffer():
    """The output may be the step buffer itself (int32 -> float32): a block
    that crosses a boundary is computed again from the steps as they were."""
    sched = mcd.cosine_decay_restarts(INIT, 300, END, t_mul=1.5, m_mul=0.7)
    n = 20_000
    kept = mx.arange(n, dtype=mx.int32)
    mx.eval(kept)
    want = to_numpy(sched(kept))
    donated = sched(mx.arange(n, dtype=mx.int32))  # the node holds the only reference
    np.testing.assert_array_equal(to_numpy(donated), want)
    t = restarts_truth(np.arange(n, dtype=np.float64), INIT, 300, END, 1.5, 0.7)
    assert np.all(ulp_error(want, t, mx.float32) <= 0.502)


def test_restarts_below_zero_take_step_zero_and_shrinking_periods_end_in_nan():
    sched = mcd.cosine_decay_restarts(INIT, 10, END, t_mul=0.5)  # S_inf = 20
    got = to_numpy(sched(mx.array([-5, -1, 0, 19, 20, 25])))
    assert got[0] == got[1] == got[2] == np.float32(INIT)
    assert np.isfinite(got[3]) and np.isnan(got[4]) and np.isnan(got[5])


@pytest.mark.parametrize("exponent", [2.0, 1.5, 1.7])
@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16, mx.float64])
def test_other_result_dtypes_round_once(dtype, exponent):
    # The steps as the dtype holds them (bfloat16 rounds integers above 256).
    s = to_numpy(mx.arange(0, 1200, dtype=mx.float32).astype(dtype)).astype(np.float64)
    warm = mcd.cosine_decay(
        INIT, 1000, END, warmup_steps=100, warmup_init=WARMUP_INIT, exponent=exponent
    )
    rest = mcd.cosine_decay_restarts(INIT, 100, END, t_mul=2.0, m_mul=0.5)
    for sched, t in (
        (warm, warmup_cosine_truth(s, INIT, 1000, END, 100, WARMUP_INIT, exponent)),
        (rest, restarts_truth(s, INIT, 100, END, 2.0, 0.5)),
    ):
        got = sched(mx.array(s).astype(dtype))
        assert got.dtype == dtype
        tol = 8 if dtype == mx.float64 else 1.0  # the truth's own error is ~1e-16
        scale = np.maximum(np.abs(t), INIT)  # init and end are rounded to the dtype
        assert np.all(np.abs(to_numpy(got).astype(np.float64) - t) <= tol * ulp(scale, dtype))


# ---------------------------------------------------------------- values(), arrays


@pytest.mark.parametrize(
    "make",
    [
        lambda: mcd.cosine_decay(INIT, 1000, END, warmup_steps=100, warmup_init=WARMUP_INIT),
        lambda: mcd.cosine_decay(INIT, 1000, END, warmup_steps=100, exponent=2.0),
        lambda: mcd.cosine_decay(INIT, 1000, END, exponent=0.5),
        lambda: mcd.cosine_decay_restarts(INIT, 100, END, t_mul=2.0, m_mul=0.5),
        lambda: mcd.cosine_decay_restarts(INIT, 100, END, t_mul=1.5),
    ],
)
@pytest.mark.parametrize("start", [0, 95, -20])
def test_values_equal_the_schedule_at_those_steps(make, start):
    sched = make()
    n = 3000
    got = sched.values(n, start)
    want = sched(mx.arange(start, start + n))
    assert got.shape == (n,)
    assert np.array_equal(to_numpy(got), to_numpy(want), equal_nan=True)


def test_array_init_and_end_broadcast_like_scalar_schedules():
    inits = np.array([1e-3, 3e-4], dtype=np.float32)[:, None]
    ends = np.array([0.0, 1e-5, 2e-5], dtype=np.float32)[None, :, None]
    s = np.arange(0, 1300, dtype=np.int32)
    for kw, make in (
        ({"warmup_steps": 100, "warmup_init": WARMUP_INIT, "exponent": 1.5}, mcd.cosine_decay),
        ({"t_mul": 2.0, "m_mul": 0.5}, mcd.cosine_decay_restarts),
    ):
        got = make(mx.array(inits[..., None]), 200, mx.array(ends), **kw)(mx.array(s))
        assert got.shape == (2, 3, 1300)
        got = to_numpy(got)
        for j, i0 in enumerate(inits[:, 0]):
            for k, e0 in enumerate(ends[0, :, 0]):
                want = to_numpy(make(float(i0), 200, float(e0), **kw)(mx.array(s)))
                assert np.array_equal(got[j, k], want)


def test_values_with_array_parameters():
    inits = mx.array([1e-3, 3e-4])
    sched = mcd.cosine_decay(inits, 100, END, warmup_steps=10)
    got = sched.values(150, 5)
    assert got.shape == (2, 150)
    for j in range(2):
        one = mcd.cosine_decay(float(inits[j].item()), 100, END, warmup_steps=10)
        assert np.array_equal(to_numpy(got[j]), to_numpy(one.values(150, 5)))


# ---------------------------------------------------------------- transforms


FAMILY = {
    "warmup": dict(
        make=mcd.cosine_decay,
        args=(INIT, 1000, END),
        kw=dict(warmup_steps=100, warmup_init=WARMUP_INIT, exponent=1.0),
    ),
    "exponent": dict(
        make=mcd.cosine_decay,
        args=(INIT, 1000, END),
        kw=dict(warmup_steps=100, warmup_init=WARMUP_INIT, exponent=2.0),
    ),
    "restarts": dict(
        make=mcd.cosine_decay_restarts, args=(INIT, 100, END), kw=dict(t_mul=2.0, m_mul=0.5)
    ),
}


def _slope_truth(name, s):
    c = FAMILY[name]
    if c["make"] is mcd.cosine_decay_restarts:
        return restarts_slope(s, *c["args"], **c["kw"])
    kw = c["kw"]
    return warmup_cosine_slope(s, *c["args"], kw["warmup_steps"], kw["warmup_init"], kw["exponent"])


@pytest.mark.parametrize("name", FAMILY)
def test_grad_wrt_step(name):
    c = FAMILY[name]
    sched = c["make"](*c["args"], **c["kw"])
    s = np.array([0.5, 50.25, 99.5, 100.5, 250.0, 777.75, 1099.5, 1500.0])
    g = mx.vmap(mx.grad(lambda x: sched(x)))(mx.array(s, dtype=mx.float32))
    want = _slope_truth(name, s)
    np.testing.assert_allclose(to_numpy(g), want, rtol=2e-5, atol=1e-12)


@pytest.mark.parametrize("name", FAMILY)
def test_grad_wrt_init_and_end_arrays(name):
    c = FAMILY[name]
    init, d, end = c["args"]
    s = mx.array([3, 60, 150, 700, 1200])

    def f(i, e):
        return c["make"](i, d, e, **c["kw"])(s).sum()

    gi, ge = mx.grad(f, argnums=(0, 1))(mx.array(init), mx.array(end))
    h = 1e-3
    base = np.float64(
        to_numpy(f(mx.array(init, dtype=mx.float64), mx.array(end, dtype=mx.float64)))
    )
    fi = (
        np.float64(
            to_numpy(f(mx.array(init + h, dtype=mx.float64), mx.array(end, dtype=mx.float64)))
        )
        - base
    ) / h
    fe = (
        np.float64(
            to_numpy(f(mx.array(init, dtype=mx.float64), mx.array(end + h, dtype=mx.float64)))
        )
        - base
    ) / h
    np.testing.assert_allclose(float(gi.item()), fi, rtol=1e-5)
    np.testing.assert_allclose(float(ge.item()), fe, rtol=1e-5)


@pytest.mark.parametrize("name", FAMILY)
def test_jvp_matches_vjp(name):
    c = FAMILY[name]
    sched = c["make"](*c["args"], **c["kw"])
    x = mx.array([10.5, 300.25])
    _, (jv,) = mx.jvp(lambda s: sched(s), [x], [mx.ones_like(x)])
    _, (vj,) = mx.vjp(lambda s: sched(s), [x], [mx.ones_like(x)])
    assert np.allclose(to_numpy(jv), to_numpy(vj), rtol=1e-6)


@pytest.mark.parametrize("name", FAMILY)
def test_vmap_and_compile_give_the_direct_values(name):
    c = FAMILY[name]
    sched = c["make"](*c["args"], **c["kw"])
    s = mx.arange(0, 1200).reshape(4, 300)
    want = to_numpy(sched(s))
    assert np.array_equal(to_numpy(mx.vmap(sched, in_axes=1, out_axes=1)(s)), want)
    assert np.array_equal(to_numpy(mx.compile(sched)(s)), want)
    shapeless = mx.compile(lambda x: sched(x) * 2, shapeless=True)
    assert np.array_equal(to_numpy(shapeless(s)), want * 2)
    assert np.array_equal(to_numpy(shapeless(s[:2])), want[:2] * 2)
    assert np.array_equal(
        to_numpy(mx.compile(lambda x: sched.values(50) + x, shapeless=True)(mx.zeros(50))),
        to_numpy(sched.values(50)),
    )


VARIANTS = [
    ("warmup_steps", mcd.cosine_decay, dict(warmup_steps=10), dict(warmup_steps=11)),
    (
        "warmup_init",
        mcd.cosine_decay,
        dict(warmup_steps=10, warmup_init=0.0),
        dict(warmup_steps=10, warmup_init=1e-5),
    ),
    ("exponent", mcd.cosine_decay, dict(exponent=1.0), dict(exponent=2.0)),
    (
        "exponent_with_warmup",
        mcd.cosine_decay,
        dict(warmup_steps=10, exponent=1.5),
        dict(warmup_steps=10, exponent=2.5),
    ),
    ("t_mul", mcd.cosine_decay_restarts, dict(t_mul=2.0), dict(t_mul=3.0)),
    ("m_mul", mcd.cosine_decay_restarts, dict(m_mul=1.0), dict(m_mul=0.5)),
    ("kind", mcd.cosine_decay, dict(), None),
]


@pytest.mark.parametrize("param,make,a,b", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_compile_never_merges_schedules_that_differ_in_one_parameter(param, make, a, b):
    s1 = make(INIT, 100, END, **a)
    s2 = (
        make(INIT, 100, END, **b)
        if b is not None
        else mcd.cosine_decay_restarts(INIT, 100, END, t_mul=1.0)
    )
    x = mx.array([0, 5, 10, 50, 150, 400])
    want = to_numpy(s1(x)) - 2 * to_numpy(s2(x))
    got = mx.compile(lambda y: s1(y) - 2 * s2(y))(x)
    assert np.array_equal(to_numpy(got), want)
    assert not np.array_equal(to_numpy(s1(x)), to_numpy(s2(x)))


# ---------------------------------------------------------------- errors and pickling


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda: mcd.cosine_decay(1e-3, 100, warmup_steps=-1), "warmup_steps"),
        (lambda: mcd.cosine_decay(1e-3, 100, warmup_steps=2**62), "warmup_steps"),
        (lambda: mcd.cosine_decay(1e-3, 100, warmup_steps=1.5), "warmup_steps"),
        (
            lambda: mcd.cosine_decay(1e-3, 100, warmup_init=float("nan"), warmup_steps=3),
            "warmup_init",
        ),
        (lambda: mcd.cosine_decay(1e-3, 100, exponent=0.0), "exponent"),
        (lambda: mcd.cosine_decay(1e-3, 100, exponent=-1.0), "exponent"),
        (lambda: mcd.cosine_decay(1e-3, 100, exponent=float("inf")), "exponent"),
        (lambda: mcd.cosine_decay(1e-3, 0, warmup_steps=3), "decay_steps"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 0), "first_decay_steps"),
        (lambda: mcd.cosine_decay_restarts(1e-3, -5), "first_decay_steps"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, t_mul=0.0), "t_mul"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, t_mul=-2.0), "t_mul"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, t_mul=float("nan")), "t_mul"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, m_mul=-0.5), "m_mul"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, m_mul=float("inf")), "m_mul"),
        (lambda: mcd.cosine_decay_restarts(float("nan"), 10), "init"),
        (lambda: mcd.cosine_decay_restarts(1e-3, 10, float("inf")), "end"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, param):
    with pytest.raises((ValueError, TypeError), match=param):
        call()


@pytest.mark.parametrize("name", FAMILY)
def test_pickle_keeps_the_family_parameters(name):
    c = FAMILY[name]
    sched = c["make"](*c["args"], **c["kw"])
    back = pickle.loads(pickle.dumps(sched))
    s = mx.arange(0, 1500)
    assert np.array_equal(to_numpy(back(s)), to_numpy(sched(s)))
    assert repr(back) == repr(sched)


# ---------------------------------------------------------------- command line


def test_cli_eval_writes_the_family_values(tmp_path):
    from mlx_cosine_decay import cli

    out = tmp_path / "w.npy"
    argv = [
        "eval",
        "--init",
        "1e-3,5e-4",
        "--decay-steps",
        "100",
        "--end",
        "1e-5",
        "--warmup-steps",
        "10",
        "--warmup-init",
        "1e-6",
        "--exponent",
        "2",
        "--num-steps",
        "130",
        "--start",
        "-5",
        "--out",
        str(out),
        "-q",
    ]
    assert cli.main(argv) == 0
    got = np.load(out)
    for row, init in enumerate((1e-3, 5e-4)):
        want = mcd.cosine_decay(init, 100, 1e-5, warmup_steps=10, warmup_init=1e-6, exponent=2.0)
        assert np.array_equal(got[row], to_numpy(want.values(130, -5)))
    out = tmp_path / "r.npy"
    argv = [
        "eval",
        "--init",
        "1e-3",
        "--decay-steps",
        "10",
        "--restarts",
        "--t-mul",
        "1.5",
        "--m-mul",
        "0.5",
        "--num-steps",
        "200",
        "--out",
        str(out),
        "-q",
    ]
    assert cli.main(argv) == 0
    want = mcd.cosine_decay_restarts(1e-3, 10, t_mul=1.5, m_mul=0.5).values(200)
    assert np.array_equal(np.load(out)[0], to_numpy(want))


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--warmup-steps", "-3"], "argument --warmup-steps: warmup_steps must be non-negative"),
        (["--exponent", "0"], "argument --exponent: exponent must be positive"),
        (["--restarts", "--t-mul", "0"], "argument --t-mul: t_mul must be positive"),
        (["--restarts", "--m-mul", "-1"], "argument --m-mul: m_mul must be non-negative"),
        (["--t-mul", "3"], "only with --restarts"),
        (["--restarts", "--warmup-steps", "3"], "argument --restarts: not with"),
    ],
)
def test_cli_rejects_bad_family_options(tmp_path, capsys, extra, message):
    from mlx_cosine_decay import cli

    argv = [
        "eval",
        "--init",
        "1e-3",
        "--decay-steps",
        "100",
        "--num-steps",
        "5",
        "--out",
        str(tmp_path / "x.npy"),
        *extra,
    ]
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_cli_plot_draws_restarts(tmp_path):
    pytest.importorskip("matplotlib")
    from mlx_cosine_decay import cli

    out = tmp_path / "r.png"
    argv = ["plot", "--init", "1e-3", "--decay-steps", "50", "--restarts", "--out", str(out), "-q"]
    assert cli.main(argv) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_example_trains_with_warmup_and_cosine():
    example = example_module("train_warmup_cosine")
    first, final = example.main(["--steps", "200", "--warmup", "20"])
    assert final < first / 10


def test_restarts_with_array_first_decay_steps_broadcast():
    firsts = mx.array([[10], [7]])
    s = np.arange(0, 300, dtype=np.int32)
    got = to_numpy(mcd.cosine_decay_restarts(INIT, firsts, END, t_mul=1.5, m_mul=0.5)(mx.array(s)))
    assert got.shape == (2, 300)
    for row, f in enumerate((10, 7)):
        assert_correctly_rounded(got[row], restarts_truth(s, INIT, f, END, 1.5, 0.5))
    with pytest.raises(ValueError, match="first_decay_steps"):
        mcd.cosine_decay_restarts(INIT, mx.array([10, 0]), END)
