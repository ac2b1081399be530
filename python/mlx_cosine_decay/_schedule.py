"""The drop-in facade for ``mlx.optimizers.cosine_decay``."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias

import mlx.core as mx

from . import _ext

if TYPE_CHECKING:  # an alias of MLX's stubs
    from mlx.core import StreamOrDevice

_TAG = "[cosine_decay] "

# init and end, and decay_steps: numbers, or arrays that broadcast.
_Param: TypeAlias = "float | mx.array"
_Steps: TypeAlias = "int | mx.array"


def _parameter(x: object, name: str) -> float | mx.array:
    """init or end as the bindings take it: an array, or a Python float.
    Anything else is a TypeError, as in the reference, which computes with
    the value (``"1e-3" - 0.0`` fails there)."""
    if isinstance(x, mx.array):
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{name} must be a number or an mx.array, but got {type(x).__name__}.")


def _number(x: object, name: str) -> float:
    """A scalar option of the family (warmup_init, exponent, t_mul, m_mul)."""
    if isinstance(x, numbers.Real) and not isinstance(x, mx.array):
        return float(x)
    raise TypeError(f"{name} must be a number, but got {type(x).__name__}.")


class _ArrayState(NamedTuple):
    """An array parameter as it pickles: exact for every dtype, and without
    NumPy. (MLX's own pickling goes through NumPy and turns float64 into
    float32; a list of uint64 values of 2**63 and above does not convert
    back, so those travel as int64 bits.)"""

    dtype: str
    shape: tuple[int, ...]
    values: Any  # nested lists, or a number for a 0-d array

    @classmethod
    def of(cls, x: object) -> object:
        if not isinstance(x, mx.array):
            return x
        bits = x.view(mx.int64) if x.dtype == mx.uint64 else x
        return cls(str(x.dtype), tuple(x.shape), bits.tolist())

    def array(self) -> mx.array:
        dtype = _DTYPES[self.dtype]
        if dtype == mx.uint64:
            return mx.array(self.values, dtype=mx.int64).view(mx.uint64).reshape(self.shape)
        return mx.array(self.values, dtype=dtype).reshape(self.shape)


_DTYPES = {
    str(d): d
    for d in [
        mx.bool_,
        mx.uint8,
        mx.uint16,
        mx.uint32,
        mx.uint64,
        mx.int8,
        mx.int16,
        mx.int32,
        mx.int64,
        mx.float16,
        mx.bfloat16,
        mx.float32,
        mx.float64,
        mx.complex64,
    ]
}


def _restore(cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The inverse of CosineDecaySchedule.__reduce__."""

    def value(x: object) -> object:
        return x.array() if isinstance(x, _ArrayState) else x

    return cls(*map(value, args), **{k: value(v) for k, v in kwargs.items()})


class CosineDecaySchedule:
    """A cosine-decay schedule: ``schedule(step)`` is the value at ``step`` as
    one ``CosineDecay`` node, ``schedule.values(n, start)`` the values at a
    whole range of steps, generated without a step array.

    Made by :func:`cosine_decay`. It copies and pickles (``copy.deepcopy``,
    ``pickle``) by its arguments, arrays included, and gives identical values
    after the round trip.
    """

    init: _Param
    decay_steps: _Steps
    end: _Param

    _name = "cosine_decay"
    _first_name = "decay_steps"
    # The keyword options and their defaults; float ones must be numbers.
    _options: ClassVar[dict[str, float]] = {"warmup_steps": 0, "warmup_init": 0.0, "exponent": 1.0}

    @staticmethod
    def _build(*args: Any, **options: Any) -> _ext.Schedule:
        return _ext.Schedule(*args, **options)

    def __init__(
        self, init: _Param, decay_steps: _Steps, end: _Param = 0.0, **options: Any
    ) -> None:
        """Use the factory, which documents the options."""
        unknown = sorted(options.keys() - self._options.keys())
        if unknown:
            raise TypeError(f"{self._name}() got an unexpected keyword argument {unknown[0]!r}")
        self.init, self.decay_steps, self.end = init, decay_steps, end
        # What __reduce__ passes back to the constructor (and repr shows):
        # the options that differ from their defaults.
        self._args: tuple = (init, decay_steps, end)
        self._kwargs: dict[str, Any] = {
            k: v
            for k, v in options.items()
            if not (type(v) in (int, float) and v == self._options.get(k))
        }
        given = {
            k: _number(v, k) if isinstance(self._options.get(k), float) else v
            for k, v in options.items()
        }
        try:
            self._impl = self._build(
                _parameter(init, "init"), decay_steps, _parameter(end, "end"), **given
            )
        except (ValueError, TypeError) as e:
            # The reference's exact text, without the C++ function tag.
            message = str(e)
            if not message.startswith(_TAG):
                raise
            raise type(e)(message.removeprefix(_TAG)) from None

    def __call__(self, step: mx.array | float, stream: StreamOrDevice = None) -> mx.array:
        """The schedule at ``step``: an ``mx.array`` of any real dtype, shape
        and layout, or a Python number.

        A lazy ``CosineDecay`` node; except that one step which is already
        evaluated and not traced (an optimizer's step between eager updates),
        with number parameters and on a CPU stream, is computed at once by the
        node's kernel and returned as a constant array."""
        if not isinstance(step, mx.array):
            step = mx.array(step)
        return self._impl(step, stream=stream)

    def values(self, num_steps: int, start: int = 0, stream: StreamOrDevice = None) -> mx.array:
        """The schedule at steps ``start .. start + num_steps - 1`` with shape
        ``param_shape + (num_steps,)``, generated without a step array."""
        return self._impl.values(num_steps, start, stream=stream)

    def __reduce__(self) -> tuple[Any, ...]:
        args = tuple(map(_ArrayState.of, self._args))
        kwargs = {k: _ArrayState.of(v) for k, v in self._kwargs.items()}
        return (_restore, (type(self), args, kwargs))

    def __repr__(self) -> str:
        def show(p: object) -> str:
            if isinstance(p, mx.array):
                return f"array(shape={list(p.shape)}, dtype={p.dtype})"
            return repr(p)

        extra = "".join(f", {k}={show(v)}" for k, v in self._kwargs.items())
        return (
            f"{self._name}(init={show(self.init)}, {self._first_name}={show(self.decay_steps)}, "
            f"end={show(self.end)}{extra})"
        )


class CosineDecayRestartsSchedule(CosineDecaySchedule):
    """A warm-restart schedule (made by :func:`cosine_decay_restarts`):
    called, ``values()``, copied and pickled as :class:`CosineDecaySchedule`.
    ``decay_steps`` holds ``first_decay_steps``."""

    _name = "cosine_decay_restarts"
    _first_name = "first_decay_steps"
    _options: ClassVar[dict[str, float]] = {"t_mul": 2.0, "m_mul": 1.0}

    @staticmethod
    def _build(*args: Any, **options: Any) -> _ext.Schedule:
        return _ext.Schedule.restarts(*args, **options)


# fmt: off
# Each signature on two lines: MLX's own arguments, then the keyword-only
# extras.
def cosine_decay(
    init: _Param, decay_steps: _Steps, end: _Param = 0.0,
    *, warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0,
) -> CosineDecaySchedule:
    r"""Make a cosine decay scheduler (a drop-in for
    ``mlx.optimizers.cosine_decay``), with an optional linear warmup and
    exponent.

    For ``step < warmup_steps``: ``warmup_init + (init - warmup_init) * step /
    warmup_steps``; from ``warmup_steps`` on: ``end + (init - end) * d **
    exponent`` with ``d = 0.5 * (1 + cos(pi * min(step - warmup_steps,
    decay_steps) / decay_steps))``. With ``exponent=1`` this is MLX's
    ``join_schedules([linear_schedule(warmup_init, init, warmup_steps),
    cosine_decay(init, decay_steps, end)], [warmup_steps])`` as one node; with
    the defaults it is ``mlx.optimizers.cosine_decay`` exactly.

    Args:
        init (float or mx.array): Initial value (the peak after a warmup).
        decay_steps (int or mx.array): Number of steps to decay over. The
            decayed value is constant for steps beyond ``decay_steps``.
        end (float or mx.array, optional): Final value to decay to. Default: ``0``.
        warmup_steps (int, optional): Steps of linear warmup before the
            decay, ``0 <= warmup_steps < 2**53``. Default: ``0``.
        warmup_init (float, optional): The value at step 0 of the warmup.
            Default: ``0.0``.
        exponent (float, optional): The power of the decay fraction ``d``
            (optax's ``exponent``), positive. Default: ``1.0``.

    Returns:
        CosineDecaySchedule: The schedule; array parameters broadcast.

    Example:
        >>> lr_schedule = cosine_decay(1e-1, 1000)
        >>> optimizer = optim.SGD(learning_rate=lr_schedule)
        >>> for _ in range(5): optimizer.update({}, {})
        >>> optimizer.learning_rate
        array(0.0999961, dtype=float32)
    """
    return CosineDecaySchedule(
        init,
        decay_steps,
        end,
        warmup_steps=warmup_steps,
        warmup_init=warmup_init,
        exponent=exponent,
    )


def cosine_decay_restarts(
    init: _Param, first_decay_steps: _Steps, end: _Param = 0.0,
    *, t_mul: float = 2.0, m_mul: float = 1.0,
) -> CosineDecayRestartsSchedule:
    r"""Make a cosine decay scheduler with warm restarts (SGDR; Keras'
    ``CosineDecayRestarts`` with ``alpha = end / init``).

    Period ``i`` lasts ``T_i = first_decay_steps * t_mul**i`` steps and starts
    where the previous one ends; in it the value is ``end + (init - end) *
    m_mul**i * 0.5 * (1 + cos(pi * t / T_i))``, ``t`` the steps into the
    period. Restarts never end. Steps below 0 take step 0's value; with
    ``t_mul < 1`` the periods shrink towards ``first_decay_steps / (1 -
    t_mul)``, and steps from there on are NaN.

    Args:
        init (float or mx.array): The first peak.
        first_decay_steps (int or mx.array): Length of the first period,
            ``1 <= first_decay_steps < 2**53``.
        end (float or mx.array, optional): The value each period decays
            towards. Default: ``0``.
        t_mul (float, optional): Each period's length relative to the previous
            one, positive. Default: ``2.0``.
        m_mul (float, optional): Each peak (above ``end``) relative to the
            previous one, non-negative. Default: ``1.0``.

    Returns:
        CosineDecayRestartsSchedule: The schedule; array parameters broadcast.

    Example:
        >>> lr = cosine_decay_restarts(1e-3, 100, 1e-5, t_mul=2.0, m_mul=0.8)
        >>> lr(mx.array(100)).item() == lr(mx.array(0)).item() * 0.8 + 1e-5 * 0.2
    """
    return CosineDecayRestartsSchedule(init, first_decay_steps, end, t_mul=t_mul, m_mul=m_mul)
# fmt: on
