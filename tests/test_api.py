"""The Python API as a user holds it: argument types and ranges give errors
that name the parameter, and schedules copy and pickle with their values."""

import copy
import dataclasses
import pickle
import re
import subprocess
import sys

import mlx.core as mx
import mlx.optimizers as optim
import pytest

import mlx_cosine_decay as mcd

# --- errors ------------------------------------------------------------------

TOO_LARGE = [2**63, 2**64, 1e20, 2.0**63]


@pytest.mark.parametrize("d", TOO_LARGE, ids=repr)
def test_decay_steps_outside_int64_is_a_value_error(d):
    with pytest.raises(
        ValueError, match=rf"^decay_steps must fit in int64, but got {re.escape(repr(d))}\.$"
    ):
        mcd.cosine_decay(0.1, d)
    with pytest.raises(ValueError, match=r"^decay_steps must fit in int64"):
        mcd.cosine_decay(mx.array([0.1, 0.2]), d)


def test_decay_steps_below_int64_has_the_reference_text():
    d = -(2**70)
    with pytest.raises(ValueError) as ref:
        optim.cosine_decay(0.1, d)
    with pytest.raises(ValueError) as ours:
        mcd.cosine_decay(0.1, d)
    assert str(ours.value) == str(ref.value) == f"decay_steps must be greater than 0, but got {d}."


LOW_LEVEL = {
    "op": lambda d: mcd.cosine_decay_op(mx.arange(3), 0.1, d, 0.0),
    "op-array-params": lambda d: mcd.cosine_decay_op(mx.arange(3), mx.array([0.1]), d),
    "values": lambda d: mcd.cosine_decay_values(0.1, d, 0.0, 3),
    "values-array-params": lambda d: mcd.cosine_decay_values(mx.array([0.1]), d, 0.0, 3),
}


@pytest.mark.parametrize("call", LOW_LEVEL.values(), ids=LOW_LEVEL.keys())
def test_low_level_decay_steps_errors_name_it(call):
    for d in TOO_LARGE:
        with pytest.raises(ValueError, match=r"^\[cosine_decay\] decay_steps must fit in int64"):
            call(d)
    for d in [2.5, "10", None]:
        with pytest.raises(TypeError, match=r"^\[cosine_decay\] decay_steps must be an integer"):
            call(d)


@pytest.mark.parametrize("call", LOW_LEVEL.values(), ids=LOW_LEVEL.keys())
def test_low_level_takes_any_integral_number_as_decay_steps(call):
    np = pytest.importorskip("numpy")
    want = call(10)
    for d in [10.0, np.int64(10), np.uint8(10), np.float32(10.0)]:
        got = call(d)
        assert got.dtype == want.dtype and mx.array_equal(got, want).item(), repr(d)


@pytest.mark.parametrize("name", ["init", "end"])
@pytest.mark.parametrize("bad", ["1e-3", None, [0.1], b"1"], ids=repr)
def test_non_number_init_or_end_is_a_type_error_like_the_reference(name, bad):
    kwargs = {"init": 0.1, "decay_steps": 10, "end": 0.0, name: bad}
    # The reference fails when it computes with the value.
    with pytest.raises(TypeError):
        optim.cosine_decay(**kwargs)(mx.array(3))
    with pytest.raises(TypeError, match=rf"^{name} must be a number or an mx.array, but got "):
        mcd.cosine_decay(**kwargs)


# --- copies and pickles ------------------------------------------------------

SCHEDULES = {
    "scalar": lambda: mcd.cosine_decay(0.1, 1000, 1e-4),
    "int-and-float-numbers": lambda: mcd.cosine_decay(1, 10.0),
    "arrays": lambda: mcd.cosine_decay(
        mx.array([[3e-4], [1e-3]], dtype=mx.bfloat16),
        mx.array([10, 700, 5000], dtype=mx.uint16),
        mx.array(1e-5, dtype=mx.float16),
    ),
    "float64-array": lambda: mcd.cosine_decay(mx.array([0.1, 0.3], dtype=mx.float64), 77),
    "int64-decay-steps": lambda: mcd.cosine_decay(0.5, mx.array([2**40, 3], dtype=mx.int64), 0.1),
    "uint64": lambda: mcd.cosine_decay(
        mx.array([-1, 5], dtype=mx.int64).view(mx.uint64),  # 2**64 - 1: not a list entry
        mx.array(2**61, dtype=mx.uint64),
        mx.array(2.0, dtype=mx.float64),
    ),
    "empty": lambda: mcd.cosine_decay(mx.zeros((0, 3)), 10),
}


def same_schedule(a, b):
    """Same parameters (values and dtypes) and bit-identical values."""
    assert type(a) is type(b) and repr(a) == repr(b)
    for name in ["init", "decay_steps", "end"]:
        p, q = getattr(a, name), getattr(b, name)
        if isinstance(p, mx.array):
            assert p is not q and p.dtype == q.dtype and mx.array_equal(p, q).item(), name
        else:
            assert type(p) is type(q) and p == q, name
    steps = mx.array([-3, 0, 1, 9, 10, 11, 699, 4999, 2**41]).reshape(-1, 1, 1)
    for x, y in [(a(steps), b(steps)), (a.values(64, -5), b.values(64, -5))]:
        assert x.dtype == y.dtype and x.shape == y.shape
        assert mx.array_equal(x.view(mx.uint8), y.view(mx.uint8)).item()


@pytest.mark.parametrize("make", SCHEDULES.values(), ids=SCHEDULES.keys())
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip(make, protocol):
    schedule = make()
    same_schedule(schedule, pickle.loads(pickle.dumps(schedule, protocol=protocol)))


@pytest.mark.parametrize("make", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_copy_and_deepcopy(make):
    schedule = make()
    same_schedule(schedule, copy.deepcopy(schedule))
    same_schedule(schedule, copy.copy(schedule))


def test_unpickles_in_a_fresh_process():
    schedule = SCHEDULES["arrays"]()
    code = (
        "import pickle, sys, mlx.core as mx\n"
        "s = pickle.loads(sys.stdin.buffer.read())\n"
        "print(repr(s)); print(s.values(5, 695).tolist())\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(schedule),
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines() == [
        repr(schedule),
        str(schedule.values(5, 695).tolist()),
    ]


def test_deepcopy_of_an_optimizer_holding_a_schedule():
    def train(optimizer, n=5):
        params = {"w": mx.ones(3)}
        rates = []
        for _ in range(n):
            params = optimizer.apply_gradients({"w": mx.full((3,), 0.5)}, params)
            rates.append(optimizer.learning_rate.item())
        return rates, params["w"]

    optimizer = optim.AdamW(learning_rate=mcd.cosine_decay(1e-1, 4, 1e-3))
    clone = copy.deepcopy(optimizer)
    rates, w = train(optimizer)
    clone_rates, clone_w = train(clone)
    assert rates == clone_rates and len(set(rates)) > 1
    assert mx.array_equal(w, clone_w).item()


def test_dataclass_asdict_holding_a_schedule():
    @dataclasses.dataclass
    class Config:
        learning_rate: mcd.CosineDecaySchedule
        batch_size: int = 32

    config = Config(mcd.cosine_decay(mx.array([1e-3, 3e-4]), 100))
    as_dict = dataclasses.asdict(config)
    assert as_dict["batch_size"] == 32
    same_schedule(config.learning_rate, as_dict["learning_rate"])
