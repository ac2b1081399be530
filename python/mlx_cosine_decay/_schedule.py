"""The drop-in facade for ``mlx.optimizers.cosine_decay``."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

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


def _restore(cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


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
        return (_restore, (type(self), self._args, self._kwargs))

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
