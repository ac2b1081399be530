"""The command line's demo: one schedule evaluated with this package and with
``mlx.optimizers.cosine_decay``, its values checked against a float64 truth,
and the times side by side."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import mlx.core as mx
import mlx.optimizers as optim

from . import __version__
from ._ext import cpu_isa, num_threads
from ._schedule import cosine_decay

PROG = "mlx-cosine-decay"

Errors = Callable[[mx.array], tuple[float, float]]


def _median_seconds(fn: Callable[[], mx.array], repeat: int) -> float:
    mx.eval(fn())  # warm-up
    times = []
    for _ in range(repeat):
        tic = time.perf_counter()
        mx.eval(fn())
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def _truth_errors(steps: mx.array, init: float, decay_steps: int, end: float) -> Errors | None:
    """max |x - truth| and max ulp error of x against the float64 truth (from
    the float32 parameters); None without NumPy, which is not a dependency."""
    try:
        import numpy as np
    except ImportError:
        return None
    init, end = float(np.float32(init)), float(np.float32(end))
    s = np.minimum(np.asarray(steps).astype(np.float64), decay_steps)
    # From the exact distance to the nearer end of the decay: no cancellation.
    half = np.pi / (2 * decay_steps)
    decay = np.where(
        s > decay_steps / 2,
        np.sin(half * (decay_steps - s)) ** 2,
        np.cos(half * s) ** 2,
    )
    truth = end + (init - end) * decay
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)

    def errors(x: mx.array) -> tuple[float, float]:
        err = np.abs(np.asarray(x).astype(np.float64) - truth)
        return float(err.max()), float((err / ulp).max())

    return errors


def _summary(name: str, x: mx.array, reference: mx.array, errors: Errors | None) -> list:
    cpu = mx.cpu
    x64 = x.astype(mx.float64, stream=cpu)
    diff = mx.abs(
        mx.subtract(x64, reference.astype(mx.float64, stream=cpu), stream=cpu), stream=cpu
    )
    row = [
        name,
        mx.min(x).item(),
        mx.max(x).item(),
        mx.mean(x64, stream=cpu).item(),
        x[0].item(),
        x[-1].item(),
        mx.max(diff, stream=cpu).item(),
    ]
    return row + (list(errors(x)) if errors else [])


def _table(header: Sequence[str], rows: Sequence[Sequence], formats: Sequence[str]) -> str:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    cells = [list(header)] + [[f.format(v) for f, v in zip(formats, r, strict=True)] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    )


def run(init: float, decay_steps: int, end: float, num_steps: int, repeat: int) -> int:
    """Prints the demo's tables; the exit status."""
    n = num_steps
    schedule = cosine_decay(init, decay_steps, end)
    reference = optim.cosine_decay(init, decay_steps, end)
    steps = mx.arange(n, dtype=mx.int32)
    mx.eval(steps)

    device = mx.default_device()
    print(
        f"{PROG} {__version__} demo: cosine_decay(init={init:g}, decay_steps={decay_steps}, "
        f"end={end:g}) over {n:,} int32 steps"
    )
    print(
        f"mlx {mx.__version__}, device {device}"
        + (f", CPU kernel {cpu_isa()}, {num_threads()} threads" if device == mx.cpu else "")
    )
    print()

    ours, generated, ref = schedule(steps), schedule.values(n), reference(steps)
    mx.eval(ours, generated, ref)
    if n:
        errors = _truth_errors(steps, init, decay_steps, end)
        header = ["values", "min", "max", "mean", "first", "last", "max|x - ref|"]
        formats = ["{}"] + ["{:.7g}"] * 5 + ["{:.3g}"]
        if errors:
            header += ["max|x - truth|", "max ulp error"]
            formats += ["{:.3g}", "{:.3g}"]
        rows = [
            _summary("ours, schedule(steps)", ours, ref, errors),
            _summary("ours, values(n)", generated, ref, errors),
            _summary("mlx.optimizers", ref, ref, errors),
        ]
        print(_table(header, rows, formats))
        if errors:
            print("truth: float64 NumPy from the float32 parameters; ulp of float32 at the truth")
        else:
            print("(NumPy is not installed: no comparison with a float64 truth)")
        print()

    timings = [
        ("mlx.optimizers.cosine_decay", _median_seconds(lambda: reference(steps), repeat)),
        ("ours, schedule(steps)", _median_seconds(lambda: schedule(steps), repeat)),
        ("ours, schedule.values(n)", _median_seconds(lambda: schedule.values(n), repeat)),
    ]
    base = timings[0][1]
    table = [
        [name, t * 1e3, t / max(1, n) * 1e9, base / t if t > 0 else float("inf")]
        for name, t in timings
    ]
    print(
        _table(
            [f"time (median of {repeat}, after a warm-up)", "ms", "ns/step", "speed-up"],
            table,
            ["{}", "{:.2f}", "{:.2f}", "{:.1f}x"],
        )
    )
    return 0
