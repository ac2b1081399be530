"""The command line: ``python -m mlx_cosine_decay`` or ``mlx-cosine-decay``.

    demo (default)  10 million steps with this package and with
                    mlx.optimizers.cosine_decay: the values and the times
    eval            a grid of schedules written to a .npy, in bounded memory
    plot            the same grid as a PNG (needs the [plot] extra)
    --cmake-dir     the directory of the CMake package, for C++ consumers

This module parses and checks the arguments and dispatches; the commands live
in ``_demo`` and ``_grid``. Every bad argument exits with status 2 and one
line before any file is opened; an interrupted run (SIGINT, SIGTERM) exits
with 130 or 143 and leaves no partial output.
"""

from __future__ import annotations

import argparse
import functools
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from . import __version__

if TYPE_CHECKING:
    from ._grid import AtomicOutput, Grid

PROG = "mlx-cosine-decay"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

T = TypeVar("T")

# --- argument types ---------------------------------------------------------


def _float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not a finite number")
    return x


def _int(text: str) -> int:
    """An integer, also written as a float with an integral value (1e6)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not an integer") from None
    if not (math.isfinite(x) and x.is_integer()):
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not an integer")
    return int(x)


def _count(text: str) -> int:
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, but got {n}")
    return n


def _positive(text: str) -> int:
    n = _int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, but got {n}")
    return n


def _list_of(parse: Callable[[str], T], name: str) -> Callable[[str], list[T]]:
    def parse_list(text: str) -> list[T]:
        items = text.split(",")
        if any(not t.strip() for t in items):
            raise argparse.ArgumentTypeError(f"empty item in {text!r}")
        return [parse(t) for t in items]

    parse_list.__name__ = name  # argparse names the type in its messages
    return parse_list


_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _SUFFIXES and t[-1:] else ""
    try:
        n = float(t[: len(t) - len(unit)]) * _SUFFIXES[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size (bytes, or with a K, M, G suffix)"
        ) from None
    if not (math.isfinite(n) and n >= 1):
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1 byte")
    return int(n)


# --- checks of the arguments, before any file is opened ---------------------


# The facade's errors name the parameter first; the flag that gave it.
_FLAGS = {
    "warmup_steps": "--warmup-steps",
    "warmup_init": "--warmup-init",
    "exponent": "--exponent",
    "t_mul": "--t-mul",
    "m_mul": "--m-mul",
    "first_decay_steps": "--decay-steps",
}


def _check_schedule(parser: argparse.ArgumentParser, make: Callable[[], T]) -> T:
    """`make()`, with the facade's errors (about decay_steps or a family
    option: the values are already numbers) reported as a usage error."""
    try:
        return make()
    except (ValueError, TypeError) as e:
        flag = next((f for name, f in _FLAGS.items() if str(e).startswith(name)), "--decay-steps")
        parser.error(f"argument {flag}: {e}")


def _family(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Any, str]:
    """The schedule maker for the grid (cosine_decay with the warmup options,
    or cosine_decay_restarts) and a title that names it."""
    from . import cosine_decay, cosine_decay_restarts

    warmup = {
        "warmup_steps": args.warmup_steps,
        "warmup_init": args.warmup_init,
        "exponent": args.exponent,
    }
    restarts = {"t_mul": args.t_mul, "m_mul": args.m_mul}
    if args.restarts:
        if warmup != {"warmup_steps": 0, "warmup_init": 0.0, "exponent": 1.0}:
            parser.error(
                "argument --restarts: not with --warmup-steps, --warmup-init or --exponent"
            )
        title = f"cosine decay with warm restarts (t_mul={args.t_mul:g}, m_mul={args.m_mul:g})"
        return functools.partial(cosine_decay_restarts, **restarts), title
    if restarts != {"t_mul": 2.0, "m_mul": 1.0}:
        parser.error("argument --t-mul/--m-mul: only with --restarts")
    title = "cosine decay"
    if args.warmup_steps:
        title = f"linear warmup ({args.warmup_steps} steps) + " + title
    if args.exponent != 1.0:
        title += f" ** {args.exponent:g}"
    return functools.partial(cosine_decay, **warmup), title


def _check_range(parser: argparse.ArgumentParser, num_steps: int, start: int) -> None:
    """The steps start .. start + num_steps - 1 and their end must be int64."""
    if start < INT64_MIN or start + num_steps > INT64_MAX:
        parser.error(
            f"argument --start: start + num_steps must be in int64 "
            f"[-2**63, 2**63 - 1], but got {start} + {num_steps}"
        )


def _output(parser: argparse.ArgumentParser, path: Path) -> AtomicOutput:
    from ._grid import AtomicOutput

    try:
        return AtomicOutput(path)
    except OSError as e:
        parser.error(f"argument --out: cannot write {str(path)!r}: {e.strerror or e}")


# --- commands ---------------------------------------------------------------


def _cmd_demo(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from . import _demo, cosine_decay

    if args.num_steps >= 2**31:
        parser.error(
            f"argument --num-steps: must be less than 2**31 (int32 steps), but got {args.num_steps}"
        )
    decay_steps = args.decay_steps if args.decay_steps is not None else max(1, args.num_steps)
    _check_schedule(parser, lambda: cosine_decay(args.init, decay_steps, args.end))
    return _demo.run(args.init, decay_steps, args.end, args.num_steps, args.repeat)


def _grid_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Grid:
    """The grid of the arguments, its schedule checked by making it once."""
    from ._grid import Grid, configurations, grid_schedule

    configs = configurations(args.init, args.decay_steps, args.end)
    make, title = _family(parser, args)
    _check_schedule(parser, lambda: grid_schedule(configs, make=make))
    _check_range(parser, args.num_steps, args.start)
    return Grid(configs, make, title, args.num_steps, args.start)


def _cmd_eval(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from . import _grid

    grid = _grid_of(parser, args)
    return _grid.run_eval(
        _output(parser, args.out),
        grid,
        args.memory_budget,
        args.quiet,
        legend_columns=(len(args.decay_steps), len(args.end)),
    )


def _cmd_plot(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from . import _grid

    if args.points < 2:
        parser.error("argument --points: must be at least 2")
    if args.num_steps is None:  # the whole decay and a little of the tail
        if args.restarts:  # the first four periods
            periods = 4 if args.t_mul == 1 else (args.t_mul**4 - 1) / (args.t_mul - 1)
            args.num_steps = int(max(args.decay_steps) * min(periods, 1e6)) + 1
        else:
            args.num_steps = args.warmup_steps + max(args.decay_steps) * 11 // 10 + 1
    grid = _grid_of(parser, args)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            f"{PROG} plot: error: matplotlib is not installed; install it with "
            f"pip install 'mlx-cosine-decay[plot]'",
            file=sys.stderr,
        )
        return 2
    return _grid.run_plot(
        _output(parser, args.out), grid, args.points, args.log, args.dpi, args.quiet
    )


def _cmd_cmake_dir() -> int:
    from ._cmake import cmake_dir

    print(cmake_dir())
    return 0


# --- the parser -------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line: the message, and where to find the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def _add_grid_arguments(p: argparse.ArgumentParser, num_steps_required: bool = True) -> None:
    p.add_argument(
        "--init",
        type=_list_of(_float, "number list"),
        required=True,
        help="initial values, comma-separated (e.g. 0.1,0.01)",
    )
    p.add_argument(
        "--decay-steps",
        type=_list_of(_int, "integer list"),
        required=True,
        help="decay lengths, integers >= 1, comma-separated (1e6 is accepted)",
    )
    p.add_argument(
        "--end",
        type=_list_of(_float, "number list"),
        default=[0.0],
        help="final values, comma-separated (default: 0)",
    )
    p.add_argument(
        "--num-steps",
        type=_count,
        required=num_steps_required,
        help="steps per configuration"
        + ("" if num_steps_required else " (default: 1.1 x the largest decay_steps)"),
    )
    p.add_argument("--start", type=_int, default=0, help="first step (default: 0)")
    family = p.add_argument_group(
        "the cosine family (one value for every configuration)",
        "a linear warmup and an exponent (cosine_decay's keyword arguments), or warm "
        "restarts (cosine_decay_restarts; --decay-steps is then the first period)",
    )
    family.add_argument(
        "--warmup-steps",
        type=_int,
        default=0,
        help="steps of linear warmup before the decay (default: 0)",
    )
    family.add_argument(
        "--warmup-init",
        type=_float,
        default=0.0,
        help="the value at step 0 of the warmup (default: 0)",
    )
    family.add_argument(
        "--exponent", type=_float, default=1.0, help="power of the decay fraction (default: 1)"
    )
    family.add_argument(
        "--restarts",
        action="store_true",
        help="warm restarts: periods of decay_steps * t_mul**i steps",
    )
    family.add_argument(
        "--t-mul",
        type=_float,
        default=2.0,
        help="with --restarts: each period's length over the previous (default: 2)",
    )
    family.add_argument(
        "--m-mul",
        type=_float,
        default=1.0,
        help="with --restarts: each peak over the previous (default: 1)",
    )
    p.add_argument("--out", type=Path, required=True, help="output file")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="The cosine-decay learning-rate schedule as one MLX primitive: "
        "a demo (the default), grids of schedules to .npy or .png.",
    )
    parser.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory of the CMake package (for find_package) and exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{demo,eval,plot}")

    demo = sub.add_parser(
        "demo",
        help="(default) 10 million steps: ours vs mlx.optimizers.cosine_decay",
        description="Evaluates a schedule with this package and with "
        "mlx.optimizers.cosine_decay; prints the values, their differences and "
        "the times side by side.",
    )
    demo.add_argument("--init", type=_float, default=0.1)
    demo.add_argument("--decay-steps", type=_int, default=None, help="default: --num-steps")
    demo.add_argument("--end", type=_float, default=0.0)
    demo.add_argument("--num-steps", type=_count, default=10_000_000)
    demo.add_argument("--repeat", type=_positive, default=5, help="timed runs (median)")
    demo.set_defaults(handler=_cmd_demo, parser=demo)

    ev = sub.add_parser(
        "eval",
        help="a grid of schedules to a .npy",
        description="Evaluates every configuration of the grid init x decay_steps x end "
        "(itertools.product order) at steps start .. start + num_steps - 1 and writes a "
        "float32 .npy of shape (configurations, num_steps). Outputs over the memory "
        "budget are written in chunks, with a progress bar (tqdm where installed). "
        "The file is replaced only when complete.",
    )
    _add_grid_arguments(ev)
    ev.add_argument(
        "--memory-budget",
        type=_bytes,
        default=_bytes("256M"),
        help="largest output held in memory; larger ones are written in chunks "
        "(bytes, or with a K, M, G suffix; default 256M)",
    )
    ev.set_defaults(handler=_cmd_eval, parser=ev)

    pl = sub.add_parser(
        "plot",
        help="a grid of schedules to a PNG (needs matplotlib: the [plot] extra)",
        description="Plots every configuration of the grid init x decay_steps x end, "
        "one labelled curve each.",
    )
    _add_grid_arguments(pl, num_steps_required=False)
    pl.add_argument("--log", action="store_true", help="logarithmic value axis")
    pl.add_argument(
        "--points", type=_count, default=2000, help="points per curve at most (default 2000)"
    )
    pl.add_argument("--dpi", type=_positive, default=100)
    pl.set_defaults(handler=_cmd_plot, parser=pl)
    return parser


# --- main -------------------------------------------------------------------


class _Terminated(BaseException):
    """Raised by SIGTERM, so that the output's cleanup runs as on SIGINT."""


def _raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmake_dir:
        return _cmd_cmake_dir()
    if args.command is None:
        args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "demo"])
    # Signal handlers can only be set from the main thread; elsewhere SIGTERM
    # keeps its default action.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return args.handler(args.parser, args)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except _Terminated:
        return 128 + signal.SIGTERM
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
