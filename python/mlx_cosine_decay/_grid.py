"""The command line's grid commands: ``eval`` (a .npy) and ``plot`` (a PNG) of
every configuration of init x decay_steps x end, each written atomically."""

from __future__ import annotations

import errno
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

import mlx.core as mx

from ._npy import Config, parameter_rows, write_npy
from ._schedule import CosineDecaySchedule, cosine_decay

PROG = "mlx-cosine-decay"


def configurations(
    init: Sequence[float], decay_steps: Sequence[int], end: Sequence[float]
) -> list[Config]:
    """The configurations in itertools.product(init, decay_steps, end) order."""
    return list(itertools.product(init, decay_steps, end))


Make = Callable[..., CosineDecaySchedule]


def grid_schedule(
    configs: Sequence[Config], column: bool = False, make: Make = cosine_decay
) -> CosineDecaySchedule:
    """One schedule for the configurations (parameters of shape (K,), or (K, 1)
    with `column`), made by `make(init, decay_steps, end)`: cosine_decay, or a
    member of its family with fixed options. Raises the facade's ValueError or
    TypeError for a bad decay_steps or option: each distinct decay_steps is
    checked as a number first, so that one outside int64 is reported as such
    rather than by the array conversion."""
    for d in sorted({c[1] for c in configs}):
        make(1.0, d, 0.0)
    shape = (len(configs), 1) if column else (len(configs),)
    return make(*(p.reshape(shape) for p in parameter_rows(configs)))


class Grid(NamedTuple):
    """What eval and plot evaluate: every configuration, made by `make` (see
    grid_schedule; `title` names it), at steps start .. start + num_steps - 1."""

    configs: Sequence[Config]
    make: Make
    title: str
    num_steps: int
    start: int


def label(config: Config) -> str:
    init, decay_steps, end = config
    return f"init={init:g}, decay_steps={decay_steps}, end={end:g}"


class AtomicOutput:
    """A file that replaces `path` only when its ``with`` block completes.

    It is written as a temporary file in the same directory (so that the
    final rename is atomic) and removed on any exception, KeyboardInterrupt
    included: `path` is either untouched or complete, never truncated. The
    constructor raises OSError when `path` cannot be written, before any work.
    """

    def __init__(self, path: Path):
        self.path = path
        # Through a symlink to the file it names, as open() would write.
        self.target = Path(os.path.realpath(path))
        if self.target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        # The new file keeps the permissions of the one it replaces, else
        # those a plain open() gives (mkstemp's are 0600).
        try:
            self.mode = self.target.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            self.mode = 0o666 & ~umask
        fd, self.tmp = tempfile.mkstemp(
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".part"
        )
        self.file = os.fdopen(fd, "wb")

    def __enter__(self) -> IO[bytes]:
        return self.file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        committed = False
        try:
            with self.file:
                if exc_type is None:
                    self.file.flush()
                    # On disk before the rename: after a crash the path holds
                    # the old file or the whole new one, not an empty one.
                    os.fsync(self.file.fileno())
            if exc_type is None:
                os.chmod(self.tmp, self.mode)
                os.replace(self.tmp, self.target)
                committed = True
        finally:
            if not committed:
                os.unlink(self.tmp)


class Progress:
    """tqdm where it is installed (not a dependency), else a percentage on
    stderr every 10%."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled
        self.bar = None
        self.last_shown = -1
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="value", unit_scale=True, file=sys.stderr)

    def __call__(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        percent = 100 * self.done // max(1, self.total)
        if percent // 10 != self.last_shown // 10 or self.done == self.total:
            self.last_shown = percent
            sys.stderr.write(
                f"{PROG} eval: {percent:3d}% ({self.done:,} / {self.total:,} values)\n"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_eval(
    out: AtomicOutput,
    grid: Grid,
    memory_budget: int,
    quiet: bool,
    legend_columns: tuple[int, int],
) -> int:
    """Writes the grid's .npy to `out` and prints a summary; the exit status.
    `legend_columns`: the number of decay_steps and of end values, for the
    row formula of a grid too large to list."""
    configs, make, _, num_steps, start = grid
    num_rows = len(configs)
    total = num_rows * num_steps
    # Two pieces in flight at most, each at most 4 MiB: MLX's buffer cache
    # keeps buffers that small, so later pieces reuse memory instead of
    # faulting in fresh pages (32 MiB pieces ran 3x slower here).
    max_values = max(1, min(memory_budget // 2, 4 << 20) // 4)
    if total * 4 <= memory_budget:
        max_values = max(1, total)
    progress = Progress(total, enabled=total > max_values and not quiet)
    tic = time.perf_counter()
    try:
        with out as f:
            write_npy(f, configs, num_steps, start, max_values, progress, make)
    except OSError as e:
        print(f"{PROG} eval: error: writing {str(out.path)!r}: {e}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    seconds = time.perf_counter() - tic
    if quiet:
        return 0
    print(
        f"wrote {out.path}: float32 array of shape ({num_rows}, {num_steps}), "
        f"{total:,} values in {seconds:.2f} s"
        + (f" ({seconds / total * 1e9:.2f} ns/value)" if total else "")
    )
    print("rows: the configurations in itertools.product(init, decay_steps, end) order")
    if num_rows <= 64:
        for row, config in enumerate(configs):
            print(f"  {row:3d}: {label(config)}")
    else:
        num_decay_steps, num_end = legend_columns
        print(
            f"  row = (i * {num_decay_steps} + j) * {num_end} + k "
            "for init[i], decay_steps[j], end[k]"
        )
    return 0


def run_plot(out: AtomicOutput, grid: Grid, points: int, log: bool, dpi: int, quiet: bool) -> int:
    """Plots the grid, at most `points` evenly spaced integer steps (first and
    last included) per curve, into `out` as a PNG; the exit status."""
    configs, make, title, num_steps, start = grid
    with out as f:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        schedule = grid_schedule(configs, column=True, make=make)
        n = num_steps
        if n <= points:
            step_list = list(range(start, start + n))
        else:  # in Python integers: (n - 1) * i may not fit int64
            step_list = [start + i * (n - 1) // (points - 1) for i in range(points)]
        values = schedule(mx.array(step_list, dtype=mx.int64))  # (K, points)
        mx.eval(values)
        fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
        for row, config in enumerate(configs):
            ax.plot(step_list, values[row].tolist(), label=label(config))
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        if len(configs) <= 20:
            ax.legend(fontsize="small")
        fig.savefig(f, format="png", dpi=dpi)
        plt.close(fig)
    if not quiet:
        print(f"wrote {out.path}: {len(configs)} curve(s) of {len(step_list)} points")
    return 0
