"""Errors: the reference's texts where it has one, clear messages elsewhere."""

import os
import re
import subprocess
import sys

import mlx.core as mx
import mlx.optimizers as optim
import pytest
from conftest import FLOAT_DTYPES

import mlx_cosine_decay as mcd


@pytest.mark.parametrize("d", [0, -1, -(10**12)])
def test_decay_steps_below_one_has_the_reference_text(d):
    with pytest.raises(ValueError) as ref:
        optim.cosine_decay(0.1, d)
    with pytest.raises(ValueError) as ours:
        mcd.cosine_decay(0.1, d)
    assert str(ours.value) == str(ref.value)
    assert str(ours.value) == f"decay_steps must be greater than 0, but got {d}."


def test_low_level_op_validates_decay_steps():
    with pytest.raises(ValueError, match=r"\[cosine_decay\] decay_steps must be greater than 0"):
        mcd.cosine_decay_op(mx.array([1.0]), 0.1, 0)


@pytest.mark.parametrize("d", [2**62, 2**63 - 1, "array"])
def test_decay_steps_from_two_to_the_62_are_rejected(d):
    if d == "array":
        d = mx.array([10, 2**62 + 1])
    with pytest.raises(ValueError, match=r"decay_steps must be less than 2\*\*62"):
        mcd.cosine_decay(0.1, d)


@pytest.mark.parametrize("dtype", [mx.complex64], ids=str)
def test_complex_steps_are_rejected(dtype):
    sched = mcd.cosine_decay(0.1, 10)
    with pytest.raises(ValueError, match=r"step must have a real dtype.*complex64"):
        sched(mx.array([1 + 2j], dtype=dtype))


def test_complex_params_are_rejected():
    with pytest.raises(ValueError, match=r"init must have a real dtype"):
        mcd.cosine_decay(mx.array([1 + 1j]), 10)
    with pytest.raises(ValueError, match=r"end must have a real dtype"):
        mcd.cosine_decay(mx.array([1.0]), 10, mx.array([1j]))


@pytest.mark.parametrize("d", [10.5, "10", None, [10], 1e-3])
def test_non_integer_decay_steps_are_a_type_error(d):
    with pytest.raises(TypeError, match="decay_steps must be an integer"):
        mcd.cosine_decay(0.1, d)


def test_integral_float_decay_steps_is_accepted_like_the_reference():
    step = mx.array([3, 7])
    ours = mcd.cosine_decay(0.1, 10.0)(step)
    ref = optim.cosine_decay(0.1, 10.0)(step)
    assert mx.allclose(ours, ref, rtol=1e-6).item()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_float_array_decay_steps_are_rejected(dtype):
    msg = r"decay_steps must have an integer dtype, but got .*float"
    for d in (mx.array(10.0, dtype=dtype), mx.array([10.0, 20.0], dtype=dtype)):
        with pytest.raises(ValueError, match=msg):
            mcd.cosine_decay(0.1, d)


@pytest.mark.parametrize(
    "d,bad",
    [
        (mx.array([10, 0]), 0),
        (mx.array([0, 10], dtype=mx.int16), 0),
        (mx.array([10, -1], dtype=mx.int16), -1),
        (mx.array([5, -1], dtype=mx.int32), -1),
        (mx.array([[7], [0]], dtype=mx.int64), 0),
        (mx.array([10, -(2**40), 5], dtype=mx.int64), -(2**40)),
        (mx.array([10, -1, 5], dtype=mx.int64).reshape(3, 1), -1),
        (mx.array(0, dtype=mx.int8), 0),
        (mx.array([3, 0], dtype=mx.uint8), 0),
    ],
    ids=[
        "int32",
        "int16",
        "int16-negative",
        "int32-negative",
        "int64-2d",
        "int64-large",
        "int64-column",
        "int8-0d",
        "uint8",
    ],
)
def test_array_decay_steps_with_bad_entry_fail_at_construction_naming_it(d, bad):
    msg = rf"^decay_steps must be greater than 0, but got {bad}\.$"
    # Repeated: a read of the wrong width once made this pass by chance.
    for _ in range(20):
        with pytest.raises(ValueError, match=msg):
            mcd.cosine_decay(0.1, d)
    # Array init and end: the validation does not depend on the parameters.
    with pytest.raises(ValueError, match=msg):
        mcd.cosine_decay(mx.full(d.shape, 0.1), d, mx.array(0.0))


def test_array_decay_steps_of_any_integer_dtype_give_the_scalar_values():
    steps = mx.arange(-3, 12)
    want = mx.stack([mcd.cosine_decay(0.1, d)(steps) for d in (1, 7)], axis=1)
    for dtype in [mx.uint8, mx.int16, mx.uint32, mx.int64, mx.uint64]:
        got = mcd.cosine_decay(0.1, mx.array([1, 7], dtype=dtype))(steps[:, None])
        assert mx.array_equal(got, want).item(), dtype


def test_non_numeric_step_is_a_value_error():
    with pytest.raises(ValueError):
        mcd.cosine_decay(0.1, 10)("abc")


def test_export_function_fails_naming_the_primitive(tmp_path):
    """MLX cannot serialise extension primitives; the failure names ours."""
    sched = mcd.cosine_decay(0.1, 10)
    path = str(tmp_path / "schedule.mlxfn")
    with pytest.raises(ValueError, match=re.escape("Unable to serialize primitive CosineDecay")):
        mx.export_function(path, lambda s: sched(s), mx.array([1.0]))


def test_unknown_isa_override_is_a_runtime_error_naming_it():
    code = (
        "import mlx.core as mx, mlx_cosine_decay as m; "
        "mx.eval(m.cosine_decay(1.0, 10)(mx.arange(4)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MLX_COSINE_DECAY_ISA": "sse9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "RuntimeError: [cosine_decay] MLX_COSINE_DECAY_ISA=sse9" in proc.stderr
    assert "terminate" not in proc.stderr
