"""The drop-in facade for ``mlx.optimizers.cosine_decay``."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, NamedTuple

import mlx.core as mx

from . import _ext

if TYPE_CHECKING:  # an alias of MLX's stubs, not a runtime name
    from mlx.core import StreamOrDevice

_TAG = "[cosine_decay] "


def _parameter(x: object, name: str) -> float | mx.array:
    """init or end as the bindings take it: an array, or a Python float.
    Anything else is a TypeError, as in the reference, which computes with
    the value (``"1e-3" - 0.0`` fails there)."""
    if isinstance(x, mx.array):
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{name} must be a number or an mx.array, but got {type(x).__name__}.")


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

    init: float | mx.array
    decay_steps: int | mx.array
    end: float | mx.array

    def __init__(
        self, init: float | mx.array, decay_steps: int | mx.array, end: float | mx.array = 0.0
    ) -> None:
        self.init, self.decay_steps, self.end = init, decay_steps, end
        # What __reduce__ passes back to the constructor.
        self._args: tuple = (init, decay_steps, end)
        self._kwargs: dict[str, Any] = {}
        try:
            self._impl = _ext.Schedule(
                _parameter(init, "init"), decay_steps, _parameter(end, "end")
            )
        except (ValueError, TypeError) as e:
            # The reference's exact text, without the C++ function tag.
            message = str(e)
            if not message.startswith(_TAG):
                raise
            raise type(e)(message.removeprefix(_TAG)) from None

    def __call__(self, step: mx.array | float, stream: StreamOrDevice = None) -> mx.array:
        """The schedule at ``step``: an ``mx.array`` of any real dtype, shape
        and layout, or a Python number."""
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

        return (
            f"cosine_decay(init={show(self.init)}, decay_steps={show(self.decay_steps)}, "
            f"end={show(self.end)})"
        )


def cosine_decay(
    init: float | mx.array, decay_steps: int | mx.array, end: float | mx.array = 0.0
) -> CosineDecaySchedule:
    r"""Make a cosine decay scheduler (a drop-in for
    ``mlx.optimizers.cosine_decay``).

    Args:
        init (float or mx.array): Initial value.
        decay_steps (int or mx.array): Number of steps to decay over. The
            decayed value is constant for steps beyond ``decay_steps``.
        end (float or mx.array, optional): Final value to decay to. Default: ``0``.

    Returns:
        CosineDecaySchedule: The schedule; array parameters broadcast.

    Example:
        >>> lr_schedule = cosine_decay(1e-1, 1000)
        >>> optimizer = optim.SGD(learning_rate=lr_schedule)
        >>> for _ in range(5): optimizer.update({}, {})
        >>> optimizer.learning_rate
        array(0.0999961, dtype=float32)
    """
    return CosineDecaySchedule(init, decay_steps, end)
