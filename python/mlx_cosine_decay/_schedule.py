"""The drop-in facade for ``mlx.optimizers.cosine_decay``."""

import operator

import mlx.core as mx

from . import _ext

_TAG = "[cosine_decay] "


def _number_or_array(x):
    return x if isinstance(x, mx.array) else float(x)


def _as_steps(decay_steps):
    if isinstance(decay_steps, mx.array):
        return decay_steps
    if isinstance(decay_steps, float):
        if not decay_steps.is_integer():
            raise TypeError(f"decay_steps must be an integer, but got {decay_steps}.")
        return int(decay_steps)
    try:
        return operator.index(decay_steps)
    except TypeError:
        raise TypeError(
            f"decay_steps must be an integer or an mx.array, but got "
            f"{type(decay_steps).__name__}."
        ) from None


class CosineDecaySchedule:
    """``schedule(step)``: the cosine-decay value at ``step`` as one
    ``CosineDecay`` node; ``schedule.values(n, start)`` for whole ranges."""

    def __init__(self, init, decay_steps, end=0.0):
        self.init, self.decay_steps, self.end = init, decay_steps, end
        steps = _as_steps(decay_steps)
        try:
            if any(isinstance(p, mx.array) for p in (init, steps, end)):
                # Numbers stay numbers: the C++ op gives them the result's
                # dtype, as MLX does with weak Python scalars.
                if not isinstance(steps, mx.array):
                    steps = mx.array(steps)
                self._impl = _ext.Schedule(_number_or_array(init), steps, _number_or_array(end))
            else:
                self._impl = _ext.Schedule(float(init), steps, float(end))
        except ValueError as e:
            # The reference's exact text, without the C++ function tag.
            raise ValueError(str(e).removeprefix(_TAG)) from None

    def __call__(self, step, stream=None):
        if not isinstance(step, mx.array):
            step = mx.array(step)
        return self._impl(step, stream=stream)

    def values(self, num_steps, start=0, stream=None):
        """The schedule at steps ``start .. start + num_steps - 1`` with shape
        ``param_shape + (num_steps,)``, generated without a step array."""
        return self._impl.values(num_steps, start, stream=stream)

    def __repr__(self):
        def show(p):
            return f"array(shape={list(p.shape)}, dtype={p.dtype})" if isinstance(
                p, mx.array
            ) else repr(p)

        return (
            f"cosine_decay(init={show(self.init)}, decay_steps={show(self.decay_steps)}, "
            f"end={show(self.end)})"
        )


def cosine_decay(init, decay_steps, end=0.0) -> CosineDecaySchedule:
    r"""Make a cosine decay scheduler (a drop-in for
    ``mlx.optimizers.cosine_decay``).

    Args:
        init (float or mx.array): Initial value.
        decay_steps (int or mx.array): Number of steps to decay over. The
            decayed value is constant for steps beyond ``decay_steps``.
        end (float or mx.array, optional): Final value to decay to. Default: ``0``.

    Example:
        >>> lr_schedule = cosine_decay(1e-1, 1000)
        >>> optimizer = optim.SGD(learning_rate=lr_schedule)
        >>> for _ in range(5): optimizer.update({}, {})
        >>> optimizer.learning_rate
        array(0.0999961, dtype=float32)
    """
    return CosineDecaySchedule(init, decay_steps, end)
