"""Sweeps: array-valued parameters (decay_steps included) that broadcast, and
`values(num_steps, start)`, which generates the steps inside the kernel.

The references: the same schedule applied to an explicit step array (must be
bit-identical: the same kernel math on the same integers), one scalar schedule
per configuration (bit-identical), mlx.optimizers.cosine_decay and a float64
NumPy truth (within tolerance)."""

import importlib.util
import itertools

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from conftest import EXAMPLES, truth

import mlx_cosine_decay as mcd

INITS = [0.1, 0.025]
DECAYS = [1, 7, 1000]
ENDS = [0.0, 1e-3]


def truth_of_float32_params(steps, init, decay_steps, end):
    """The float64 truth for parameters as float32 arrays hold them."""
    init = np.asarray(init, np.float32).astype(np.float64)
    end = np.asarray(end, np.float32).astype(np.float64)
    return truth(steps, init, decay_steps, end)


def assert_near_truth(got, want, init, end):
    # A few float32 ulp of the value range: an accuracy anchor only (the
    # kernel's ulp bound is tested with the kernel).
    scale = np.maximum(np.abs(np.asarray(init, np.float64)), np.abs(np.asarray(end, np.float64)))
    err = np.abs(np.asarray(got, np.float64) - want)
    assert (err <= 8 * 6e-8 * scale).all(), err.max()


def grid_schedule(configs, shape):
    init, decay_steps, end = zip(*configs, strict=True)
    return mcd.cosine_decay(
        mx.array(init, dtype=mx.float32).reshape(shape),
        mx.array(decay_steps, dtype=mx.int64).reshape(shape),
        mx.array(end, dtype=mx.float32).reshape(shape),
    )


@pytest.mark.parametrize("start", [0, -3, 995])
def test_grid_values_equal_each_configuration_bit_for_bit(start):
    configs = list(itertools.product(INITS, DECAYS, ENDS))
    n = 1100
    grid = grid_schedule(configs, (len(configs),)).values(n, start)
    assert grid.shape == (len(configs), n)
    assert grid.dtype == mx.float32
    steps = mx.arange(start, start + n)
    for row, (init, d, end) in enumerate(configs):
        one = mcd.cosine_decay(init, d, end)
        assert mx.array_equal(grid[row], one(steps)).item(), (init, d, end)
        assert mx.array_equal(grid[row], one.values(n, start)).item(), (init, d, end)
        want = truth_of_float32_params(np.arange(start, start + n), init, d, end)
        assert_near_truth(grid[row], want, init, end)


def test_grid_within_2e_8_of_the_reference():
    configs = list(itertools.product(INITS, [10, 1000], ENDS))
    steps = mx.arange(0, 1200)
    grid = grid_schedule(configs, (len(configs), 1))(steps)
    for row, (init, d, end) in enumerate(configs):
        ref = optim.cosine_decay(init, d, end)(steps)
        np.testing.assert_allclose(np.asarray(grid[row]), np.asarray(ref), rtol=0, atol=2e-8)


# (start, num_steps, dtype of the explicit steps), int32 only where they fit.
ARANGE_CASES = [
    (start, num_steps, dtype)
    for start, num_steps in [
        (0, 0),
        (0, 1),
        (0, 2500),
        (17, 300),
        (-40, 300),
        (-10_000, 50),
        (2**40, 20),
    ]
    for dtype in (mx.int32, mx.int64)
    if dtype == mx.int64 or abs(start) + num_steps < 2**31
]


@pytest.mark.parametrize(
    "shapes",
    [
        ((), (), ()),
        ((3,), (), ()),
        ((), (3,), ()),
        ((2, 3), (3,), (2, 1)),
        ((2, 1, 1), (1, 3, 1), (1, 1, 2)),  # a full grid by broadcasting
    ],
    ids=["scalar", "init3", "decay3", "2d", "3d-grid"],
)
def test_values_equal_schedule_on_arange_bit_for_bit(shapes):
    for start, num_steps, step_dtype in ARANGE_CASES:
        check_values_against_arange(shapes, start, num_steps, step_dtype)


def check_values_against_arange(shapes, start, num_steps, step_dtype):
    init_shape, decay_shape, end_shape = shapes
    rng = np.random.default_rng(0)
    init = mx.array(rng.uniform(0.01, 0.1, init_shape).astype(np.float32))
    decay_steps = mx.array(rng.integers(1, 2000, decay_shape).astype(np.int64))
    end = mx.array(rng.uniform(0, 1e-3, end_shape).astype(np.float32))
    schedule = mcd.cosine_decay(init, decay_steps, end)
    got = schedule.values(num_steps, start)
    param_shape = np.broadcast_shapes(init_shape, decay_shape, end_shape)
    assert got.shape == (*param_shape, num_steps)

    # The same parameters with a trailing axis, over an explicit step array.
    column = mcd.cosine_decay(init[..., None], decay_steps[..., None], end[..., None])
    steps = mx.arange(start, start + num_steps, dtype=step_dtype)
    want = column(steps)
    assert want.shape == got.shape
    assert mx.array_equal(got, want).item(), (start, num_steps, step_dtype)
    want64 = truth_of_float32_params(
        np.arange(start, start + num_steps),
        np.asarray(init)[..., None],
        np.asarray(decay_steps)[..., None],
        np.asarray(end)[..., None],
    )
    assert_near_truth(got, want64, np.asarray(init)[..., None], np.asarray(end)[..., None])


def test_scalar_schedule_values_equal_the_schedule_on_arange():
    schedule = mcd.cosine_decay(0.1, 1000, 1e-4)
    steps = mx.arange(-2000, 3000)
    assert mx.array_equal(schedule.values(5000, -2000), schedule(steps)).item()
    assert schedule.values(0).shape == (0,)
    assert schedule.values(0, 5).dtype == mx.float32


def test_float64_parameter_values_equal_the_schedule_on_arange():
    init = mx.array([0.1, 0.2], dtype=mx.float64)
    schedule = mcd.cosine_decay(init, mx.array([10, 100]), mx.array(0.0, dtype=mx.float64))
    got = schedule.values(150, -5, stream=mx.cpu)
    assert got.dtype == mx.float64
    column = mcd.cosine_decay(
        init[:, None], mx.array([[10], [100]]), mx.array(0.0, dtype=mx.float64)
    )
    assert mx.array_equal(got, column(mx.arange(-5, 145), stream=mx.cpu)).item()


def test_array_decay_steps_broadcast_against_steps_match_the_reference():
    # init (K, 1), decay_steps (K, 1), steps (N,) -> (K, N): row k is the
    # reference schedule of configuration k.
    inits = [0.1, 0.05, 0.2, 0.3]
    decays = [1, 50, 333, 1000]
    steps = mx.arange(0, 1500)
    schedule = mcd.cosine_decay(mx.array(inits)[:, None], mx.array(decays)[:, None], mx.array(1e-3))
    got = schedule(steps)
    assert got.shape == (4, 1500)
    for row, (init, d) in enumerate(zip(inits, decays, strict=True)):
        ref = optim.cosine_decay(init, d, 1e-3)(steps)
        # A few ulp of init: the reference itself is about 2 ulp off.
        np.testing.assert_allclose(np.asarray(got[row]), np.asarray(ref), rtol=0, atol=4e-7 * init)
        assert mx.array_equal(got[row], mcd.cosine_decay(init, d, 1e-3)(steps)).item()


def test_array_decay_steps_along_the_steps_match_the_reference():
    # decay_steps varying along the same axis as the steps (per element).
    decays = mx.array([1, 2, 3, 4, 5, 1000])
    steps = mx.array([0, 1, 2, 3, 4, 500])
    got = mcd.cosine_decay(mx.array(1.0), decays, mx.array(0.0))(steps)
    want = [
        optim.cosine_decay(1.0, d, 0.0)(s).item()
        for d, s in zip(decays.tolist(), steps.tolist(), strict=True)
    ]
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=3e-7)


def test_low_level_op_gives_nan_for_invalid_entries():
    # The op does not read decay_steps when it builds the graph (documented).
    got = mcd.cosine_decay_op(
        mx.arange(4), mx.array(0.1), mx.array([[0], [-3], [10]]), mx.array(0.0)
    )
    assert np.isnan(np.asarray(got[:2])).all()
    assert mx.array_equal(got[2], mcd.cosine_decay(0.1, 10)(mx.arange(4))).item()
    got = mcd.cosine_decay_values(mx.array(0.1), mx.array([0, 10]), mx.array(0.0), 3)
    assert np.isnan(np.asarray(got[0])).all()
    assert not np.isnan(np.asarray(got[1])).any()


def test_values_rejects_negative_num_steps_and_int64_overflow():
    schedule = mcd.cosine_decay(0.1, 10)
    with pytest.raises(ValueError, match="num_steps must be non-negative"):
        schedule.values(-1)
    with pytest.raises(ValueError, match="fit in int64"):
        schedule.values(10, 2**63 - 5)


def test_empty_parameter_grid_gives_empty_values():
    schedule = mcd.cosine_decay(0.1, mx.array([], dtype=mx.int32))
    assert schedule.values(3).shape == (0, 3)


def test_sweep_example_counts_match_the_reference():
    # examples/sweep.py: 27 schedules in one values() call, reduced by MLX.
    path = EXAMPLES / "sweep.py"
    spec = importlib.util.spec_from_file_location("sweep_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    n = 4000
    configs, above_tenth, above_floor = example.sweep(n)
    assert len(configs) == 27 and above_tenth.shape == above_floor.shape == (27,)
    for k, (init, d, end) in enumerate(configs):
        lr = np.asarray(optim.cosine_decay(init, d, end)(mx.arange(n)))
        # The reference's rounding may move a crossing by a step.
        assert abs(above_tenth[k].item() - (lr >= np.float32(init) / 10).sum()) <= 1
        assert abs(above_floor[k].item() - (lr >= example.LR_FLOOR).sum()) <= 1
    assert example.main(["--num-steps", "1000"]) == 0
