"""grad / vjp / jvp / vmap / compile of the CosineDecay primitive."""

import mlx.core as mx
import numpy as np
import pytest
from conftest import reference, to_numpy, truth

import mlx_cosine_decay as mcd

INIT, D, END = 0.1, 100, 0.01
# Away from the kinks at 0 (mod 2D) and D, where the derivative is one-sided.
STEPS = [0.5, 3.0, 10.5, 37.25, 50.0, 99.5, 150.0, 1e4, -20.0, -0.75, -130.0]


def finite_difference(step, init, d, end, h=1e-4):
    s = np.asarray(step, dtype=np.float64)
    return (truth(s + h, init, d, end) - truth(s - h, init, d, end)) / (2 * h)


# Relative to the largest slope. float64: MLX's CPU sin/cos for float64 are
# only float32-accurate (mx.sin(float64 0.995 pi) is off by 5e-6 relative), and
# the derivative (like the reference's) is built from them.
GRAD_RTOL = {mx.float32: 2e-6, mx.float64: 2e-6, mx.float16: 1e-3, mx.bfloat16: 8e-3}


@pytest.mark.parametrize("dtype", list(GRAD_RTOL), ids=str)
def test_grad_wrt_steps_matches_finite_differences_and_the_reference(dtype):
    sched = mcd.cosine_decay(INIT, D, END)
    x = mx.array(STEPS, dtype=mx.float32).astype(dtype)
    g = mx.grad(lambda s: sched(s).sum())(x)
    assert g.dtype == dtype and g.shape == x.shape
    got = to_numpy(g).astype(np.float64)
    want = finite_difference(to_numpy(x), INIT, D, END)
    tol = GRAD_RTOL[dtype] * np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    g_ref = mx.grad(lambda s: reference(INIT, D, END)(s).sum())(x)
    got_ref = to_numpy(g_ref).astype(np.float64)
    assert np.all(np.abs(got - want) <= np.abs(got_ref - want) + tol)


def test_vjp_and_jvp_wrt_steps_match_finite_differences():
    sched = mcd.cosine_decay(INIT, D, END)
    x = mx.array(STEPS)
    cot = mx.array(np.linspace(-2, 3, len(STEPS)).astype(np.float32))
    (out,), (vjp,) = mx.vjp(sched, [x], [cot])
    (out2,), (jvp,) = mx.jvp(sched, [x], [cot])
    fd = finite_difference(STEPS, INIT, D, END) * to_numpy(cot)
    np.testing.assert_allclose(to_numpy(vjp), fd, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(to_numpy(jvp), fd, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(out2))
    np.testing.assert_allclose(to_numpy(out), truth(STEPS, INIT, D, END), rtol=1e-6)


def test_grad_wrt_array_init_and_end_with_integer_steps_matches_the_reference():
    """Integer steps: differentiating w.r.t. array init/end still works."""
    init = mx.array([0.1, 0.2, 0.4])
    end = mx.array([0.0, 0.05, -0.1])
    step = mx.array([[0], [25], [50], [100], [300]], dtype=mx.int32)

    def f(i, e):
        return (mcd.cosine_decay(i, D, e)(step) * mx.arange(1, 6).reshape(5, 1)).sum()

    def f_ref(i, e):
        return (reference(i, D, e)(step) * mx.arange(1, 6).reshape(5, 1)).sum()

    gi, ge = mx.grad(f, argnums=(0, 1))(init, end)
    ri, re_ = mx.grad(f_ref, argnums=(0, 1))(init, end)
    np.testing.assert_allclose(to_numpy(gi), to_numpy(ri), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ge), to_numpy(re_), rtol=1e-5)
    # d/dinit = sum_k k * decay_k and d/dend = sum_k k * (1 - decay_k)
    decay = truth(np.array([0, 25, 50, 100, 300]), 1.0, D, 0.0)
    w = np.arange(1, 6)
    np.testing.assert_allclose(to_numpy(gi), np.full(3, (w * decay).sum()), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(ge), np.full(3, (w * (1 - decay)).sum()), rtol=1e-6)


def test_jvp_wrt_init_end_and_steps_together_matches_the_reference():
    init, end = mx.array([0.3, 0.5]), mx.array([0.1, 0.0])
    steps = mx.array([[12.5], [70.0]])

    def f(i, e, s):
        return mcd.cosine_decay(i, D, e)(s)

    def f_ref(i, e, s):
        return reference(i, D, e)(s)

    tangents = [mx.array([1.0, -2.0]), mx.array([0.5, 3.0]), mx.array([[1.5], [-1.0]])]
    _, (ours,) = mx.jvp(f, [init, end, steps], tangents)
    _, (ref,) = mx.jvp(f_ref, [init, end, steps], tangents)
    np.testing.assert_allclose(to_numpy(ours), to_numpy(ref), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("axis", [0, 1])
def test_vmap_over_steps_equals_the_unmapped_values(axis):
    sched = mcd.cosine_decay(INIT, D, END)
    x = mx.array(np.arange(-30, 180, 5, dtype=np.int32).reshape(6, 7))
    got = mx.vmap(sched, in_axes=axis)(x)
    want = sched(mx.moveaxis(x, axis, 0))
    assert got.shape == want.shape
    np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


@pytest.mark.parametrize("axis", [0, 1])
def test_vmap_over_array_init_and_steps_matches_the_truth(axis):
    inits = mx.array([0.1, 0.2, 0.3, 0.4])
    x = mx.array(np.arange(0, 120, 10, dtype=np.float32).reshape(3, 4))
    xs = x if axis == 1 else x.T  # (3, 4) mapped over the axis of length 4

    def f(i, s):
        return mcd.cosine_decay(i, D, 0.0)(s)

    got = mx.vmap(f, in_axes=(0, axis), out_axes=0)(inits, xs)
    assert got.shape == (4, 3)
    want = truth(to_numpy(x).T, to_numpy(inits)[:, None], D, 0.0)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-6, atol=1e-9)


def test_vmap_of_grad_matches_finite_differences():
    sched = mcd.cosine_decay(INIT, D, END)
    x = mx.array(np.array(STEPS[:8], dtype=np.float32).reshape(2, 4))
    got = mx.vmap(mx.grad(lambda s: sched(s)))(x.reshape(-1))
    want = finite_difference(to_numpy(x).reshape(-1), INIT, D, END)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-10)


def test_compiled_schedule_equals_the_uncompiled_one():
    sched = mcd.cosine_decay(INIT, D, END)
    f = mx.compile(lambda s: sched(s) * 2.0 + 1.0)
    x = mx.arange(-10, 300, dtype=mx.int32)
    np.testing.assert_array_equal(to_numpy(f(x)), to_numpy(sched(x) * 2.0 + 1.0))


def test_shapeless_compile_follows_the_input_shape():
    sched = mcd.cosine_decay(INIT, D, END)
    f = mx.compile(lambda s: sched(s) + 0.5, shapeless=True)
    for shape in [(7,), (11,), (3, 5), (0,), ()]:
        x = mx.array(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) * 3.5)
        got = f(x)
        assert got.shape == shape
        np.testing.assert_array_equal(to_numpy(got), to_numpy(sched(x) + 0.5))


def test_compile_shapeless_values_takes_its_shape_from_the_node():
    # values() of a scalar schedule has no inputs: the node's own state
    # (num_steps) gives the shape, as MLX's Arange does.
    sched = mcd.cosine_decay(INIT, D, END)
    f = mx.compile(lambda x: sched.values(10, 95) + x, shapeless=True)
    for x in (mx.zeros(10), mx.arange(10, dtype=mx.float32)):
        got = f(x)
        assert got.shape == (10,)
        want = truth(np.arange(95, 105), INIT, D, END).astype(np.float32) + to_numpy(x)
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-6, atol=0)


def test_compile_merging_equal_schedules_keeps_the_values():
    """Two equal nodes may be merged by compile: the values stay right."""
    sched = mcd.cosine_decay(INIT, D, END)
    f = mx.compile(lambda s: sched(s) + sched(s) * 10.0)
    x = mx.arange(0, 200, 3)
    np.testing.assert_array_equal(to_numpy(f(x)), to_numpy(sched(x) + sched(x) * 10.0))


@pytest.mark.parametrize(
    "other",
    [(0.2, D, END), (INIT, D + 1, END), (INIT, D, 0.02), (INIT, 1, END)],
    ids=["init", "decay_steps", "end", "D=1"],
)
def test_compile_does_not_merge_schedules_differing_in_one_parameter(other):
    a = mcd.cosine_decay(INIT, D, END)
    b = mcd.cosine_decay(*other)
    f = mx.compile(lambda s: mx.stack([a(s), b(s)]))
    x = mx.arange(1, 99, 7)
    got = f(x)
    np.testing.assert_array_equal(to_numpy(got[0]), to_numpy(a(x)))
    np.testing.assert_array_equal(to_numpy(got[1]), to_numpy(b(x)))
    assert not np.array_equal(to_numpy(got[0]), to_numpy(got[1]))


def test_compile_does_not_merge_generated_ranges_with_different_starts():
    a = mcd.cosine_decay(INIT, D, END)
    f = mx.compile(lambda: mx.stack([a.values(50, 0), a.values(50, 10)]))
    got = f()
    assert not np.array_equal(to_numpy(got[0]), to_numpy(got[1]))
    np.testing.assert_array_equal(to_numpy(got[1]), to_numpy(a(mx.arange(10, 60))))


def test_compiled_grad_matches_finite_differences():
    sched = mcd.cosine_decay(INIT, D, END)
    g = mx.compile(mx.grad(lambda s: sched(s).sum()))
    x = mx.array(STEPS)
    np.testing.assert_allclose(
        to_numpy(g(x)), finite_difference(STEPS, INIT, D, END), rtol=1e-5, atol=1e-10
    )
