"""Optimizers, compiled training, Python threads, the graph, streams, memory."""

import re
import threading

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import example_module, to_numpy, truth

import mlx_cosine_decay as mcd

# Optimizers: the documented examples.


def test_sgd_example_matches_the_reference():
    for make in (mcd.cosine_decay, optim.cosine_decay):
        opt = optim.SGD(learning_rate=make(1e-1, 1000))
        assert opt.learning_rate.item() == pytest.approx(0.1, rel=1e-7)
        for _ in range(5):
            opt.update({}, {})
        assert f"{opt.learning_rate.item():.6g}" == "0.0999961"
        assert opt.learning_rate.dtype == mx.float32
    ours = optim.SGD(learning_rate=mcd.cosine_decay(1e-1, 1000))
    ref = optim.SGD(learning_rate=optim.cosine_decay(1e-1, 1000))
    for _ in range(5):
        ours.update({}, {})
        ref.update({}, {})
    # After 5 updates the rate is the schedule at step 4.
    assert abs(ours.learning_rate.item() - truth([4], 0.1, 1000)[0]) <= 2 * 2**-27
    assert abs(ours.learning_rate.item() - ref.learning_rate.item()) <= 2 * 2**-27


def test_join_schedules_adam_example_matches_the_reference():
    def run(make):
        sched = optim.join_schedules([optim.linear_schedule(0, 1e-1, 10), make(1e-1, 200)], [10])
        opt = optim.Adam(learning_rate=sched)
        for _ in range(12):
            opt.update({}, {})
        return opt.learning_rate

    ours, ref = run(mcd.cosine_decay), run(optim.cosine_decay)
    assert f"{ours.item():.6g}" == f"{ref.item():.6g}" == "0.0999938"
    assert ours.dtype == ref.dtype
    # After 12 updates the rate is the cosine schedule at step 11 - 10 = 1.
    assert abs(ours.item() - truth([1], 0.1, 200)[0]) <= 2 * 2**-27


@pytest.mark.parametrize(
    "opt_cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Lion, optim.Adafactor]
)
def test_every_optimizer_takes_the_schedule(opt_cls):
    lrs = []
    opt = opt_cls(learning_rate=mcd.cosine_decay(1e-2, 20, 1e-3))
    params = {"w": mx.ones((3,))}
    for _ in range(25):
        params = opt.apply_gradients({"w": mx.full((3,), 0.5)}, params)
        lrs.append(opt.learning_rate.item())
    # The rate read after k updates is the schedule at step k - 1.
    want = truth(np.arange(0, 25), 1e-2, 20, 1e-3)
    np.testing.assert_allclose(lrs, want, rtol=2e-6, atol=1e-10)


def _train(schedule, steps=30):
    # The example's compiled step, so that what users copy is what is tested.
    example = example_module("train_warmup_cosine")
    mx.random.seed(3)
    model = nn.Linear(4, 1)
    opt = optim.SGD(learning_rate=schedule, momentum=0.9)
    opt.init(model.trainable_parameters())
    step, _ = example.compiled_train_step(model, opt, example.mse)

    x = mx.random.normal((16, 4))
    y = x @ mx.array([[1.0], [-2.0], [0.5], [3.0]])
    lrs, losses = [], []
    for _ in range(steps):
        losses.append(step(x, y).item())
        lrs.append(opt.learning_rate.item())
    return np.array(lrs), np.array(losses)


def test_compiled_training_step_matches_the_reference_and_truth():
    lrs, losses = _train(mcd.cosine_decay(0.05, 20, 0.001))
    ref_lrs, ref_losses = _train(optim.cosine_decay(0.05, 20, 0.001))
    ulp = float(np.spacing(np.float32(0.05)))
    np.testing.assert_allclose(lrs, ref_lrs, rtol=0, atol=4 * ulp)
    # The rate read after k steps is the schedule at step k - 1.
    np.testing.assert_allclose(lrs, truth(np.arange(0, 30), 0.05, 20, 0.001), rtol=0, atol=4 * ulp)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4)
    assert losses[-1] < losses[0]


# Threads.


def test_python_threads_get_the_single_threaded_values():
    scheds = [mcd.cosine_decay(0.1 * (k + 1), 100 + 37 * k, 0.001 * k) for k in range(6)]
    inputs = [
        mx.arange(-500, 300_000, 3, dtype=dt)
        for dt in (mx.int32, mx.int64, mx.float32, mx.uint32, mx.float64, mx.int32)
    ]
    mx.eval(inputs)
    want = [to_numpy(s(x)) for s, x in zip(scheds, inputs, strict=True)]
    errors, results = [], {}

    def worker(k):
        try:
            for it in range(8):
                j = (k + it) % len(scheds)
                results[(k, it)] = (j, to_numpy(scheds[j](inputs[j])))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 32
    for j, got in results.values():
        np.testing.assert_array_equal(got, want[j])


# The graph.


def _primitives(dot_text):
    return re.findall(r'label ="([^"]+)", shape=rectangle', dot_text)


def test_schedule_is_one_graph_node(tmp_path):
    x = mx.arange(1000)
    mx.eval(x)
    y = mcd.cosine_decay(0.1, 1000)(x)
    mx.export_to_dot(str(tmp_path / "ours.dot"), y)
    assert _primitives((tmp_path / "ours.dot").read_text()) == ["CosineDecay"]
    # The reference is a chain of ops; the comparison shows the parser works.
    mx.export_to_dot(str(tmp_path / "ref.dot"), optim.cosine_decay(0.1, 1000)(x))
    ref_ops = _primitives((tmp_path / "ref.dot").read_text())
    assert "Cos" in ref_ops and len(ref_ops) > 3


def test_schedule_is_lazy_until_evaluated(tmp_path):
    x = mx.arange(10_000_000, dtype=mx.int32)
    mx.eval(x)
    before = mx.get_active_memory()
    y = mcd.cosine_decay(0.1, 1000)(x)
    assert mx.get_active_memory() - before < 1_000_000  # no output yet
    mx.export_to_dot(str(tmp_path / "lazy.dot"), y)
    assert _primitives((tmp_path / "lazy.dot").read_text()) == ["CosineDecay"]
    mx.eval(y)
    assert mx.get_active_memory() - before >= 40_000_000
    mx.export_to_dot(str(tmp_path / "done.dot"), y)
    assert _primitives((tmp_path / "done.dot").read_text()) == []
    assert y[999].item() == pytest.approx(truth([999], 0.1, 1000)[0], rel=1e-5)


ONE_STEP_SCHEDULES = {
    "plain": lambda: mcd.cosine_decay(0.1, 1000, 0.01),
    "warmup ** 1.7": lambda: mcd.cosine_decay(0.1, 1000, 0.01, warmup_steps=300, exponent=1.7),
    "restarts": lambda: mcd.cosine_decay_restarts(0.1, 100, 0.01, t_mul=1.5, m_mul=0.9),
}
ONE_STEP_DTYPES = [mx.bool_, mx.uint8, mx.int32, mx.uint64, mx.float16, mx.bfloat16, mx.float32]


@pytest.mark.parametrize("name", ONE_STEP_SCHEDULES)
@pytest.mark.parametrize("dtype", ONE_STEP_DTYPES, ids=str)
def test_one_evaluated_step_is_computed_at_once_as_the_node_computes_it(tmp_path, name, dtype):
    """An optimizer's step between eager updates: the value is there without
    an evaluation (no node left), bit for bit what a node gives."""
    sched = ONE_STEP_SCHEDULES[name]()
    for value in (0, 1, 37, 250, 301, 999, 1500, 123_456):
        step = mx.array(value).astype(dtype)
        mx.eval(step)
        got = sched(step)
        path = tmp_path / "one.dot"
        mx.export_to_dot(str(path), got)
        assert _primitives(path.read_text()) == []
        # The same step as an unevaluated input, and inside a longer array.
        lazy = sched(mx.stop_gradient(step))
        mx.export_to_dot(str(path), lazy)
        assert sorted(_primitives(path.read_text())) == ["CosineDecay", "StopGradient"]
        many = sched(mx.concatenate([step[None]] * 40))
        assert got.dtype == lazy.dtype == many.dtype and got.shape == ()
        want = to_numpy(many)
        np.testing.assert_array_equal(np.full(40, to_numpy(got)), want)
        np.testing.assert_array_equal(to_numpy(lazy), want[0])
    with_shape = sched(mx.array([[250]], dtype=dtype))
    assert with_shape.shape == (1, 1) and with_shape.item() == sched(mx.array(250, dtype)).item()


def test_one_traced_step_still_builds_the_node():
    """grad, vmap and compile see the node: a known step is not a constant
    to them."""
    sched = ONE_STEP_SCHEDULES["warmup ** 1.7"]()
    step = mx.array(450.0)
    mx.eval(step)
    h = 1e-2
    slope = (sched(mx.array(450.0 + h, mx.float64)) - sched(mx.array(450.0 - h, mx.float64))) / (
        2 * h
    )
    g = mx.grad(sched)(step)
    assert g.item() != 0 and g.item() == pytest.approx(slope.item(), rel=1e-4)
    assert mx.vmap(mx.grad(sched))(step[None]).item() == g.item()
    calls = []

    def traced(s):
        calls.append(1)
        return sched(s)

    compiled = mx.compile(traced)
    assert compiled(step).item() == sched(step).item()
    assert compiled(mx.array(451.0)).item() == sched(mx.array(451.0)).item()
    assert len(calls) == 1


def test_every_cpu_stream_gives_the_same_values():
    x = mx.arange(-50, 2000, dtype=mx.int32)
    sched = mcd.cosine_decay(0.1, 1000, 0.01)
    want = to_numpy(sched(x))
    with mx.stream(mx.cpu):
        a = sched(x)
    s = mx.new_stream(mx.cpu)
    with mx.stream(s):
        b = sched(x)
    c = sched(x, stream=s)
    d = mcd.cosine_decay_op(x, 0.1, 1000, 0.01, stream=mx.cpu)
    e = mcd.cosine_decay_op(x, 0.1, 1000, 0.01, stream=s)
    for got in (a, b, c, d, e):
        np.testing.assert_array_equal(to_numpy(got), want)


# Memory.

N = 10_000_000
SLACK = 1 << 20


def test_peak_memory_is_the_output():
    x = mx.arange(N, dtype=mx.int32)
    mx.eval(x)
    keep = x  # not donatable
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    y = mcd.cosine_decay(0.1, 1000)(x)
    mx.eval(y)
    grown = mx.get_peak_memory() - base
    assert 4 * N <= grown <= 4 * N + SLACK, grown
    assert keep.size == N


def test_peak_memory_with_a_donated_input_is_no_new_buffer():
    x = mx.arange(N, dtype=mx.int32)
    mx.eval(x)
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    y = mcd.cosine_decay(0.1, 1000)(x)
    del x  # the step buffer can become the output
    mx.eval(y)
    assert mx.get_peak_memory() - base <= SLACK
    assert y.dtype == mx.float32 and y.size == N
    assert y[N - 1].item() == 0.0 and y[1].item() == pytest.approx(0.09999975, rel=1e-6)


def test_peak_memory_of_generated_values_is_the_output():
    sched = mcd.cosine_decay(0.1, 1000)
    mx.reset_peak_memory()
    base = mx.get_active_memory()
    y = sched.values(N)
    mx.eval(y)
    assert mx.get_peak_memory() - base <= 4 * N + SLACK
