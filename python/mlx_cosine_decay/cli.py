"""The command line: ``python -m mlx_cosine_decay`` or ``mlx-cosine-decay``.

    demo (default)  10 million steps with this package and with
                    mlx.optimizers.cosine_decay: the values and the times
    eval            a grid of schedules written to a .npy, in bounded memory
    plot            the same grid as a PNG (needs the [plot] extra)
    bench           bench/bench_cpu.py of a source checkout
    --cmake-dir     the directory of the CMake package, for C++ consumers

Bad arguments exit with status 2 and an argparse-style message.
"""

import argparse
import importlib.util
import itertools
import math
import statistics
import sys
import time
from pathlib import Path

import mlx.core as mx

PROG = "mlx-cosine-decay"

# --- argument types ---------------------------------------------------------


def _float(text):
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text.strip()!r} is not a finite number")
    return x


def _int(text):
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


def _count(text):
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, but got {n}")
    return n


def _list_of(parse, name):
    def parse_list(text):
        items = [t for t in text.split(",")]
        if any(not t.strip() for t in items):
            raise argparse.ArgumentTypeError(f"empty item in {text!r}")
        return [parse(t) for t in items]

    parse_list.__name__ = name  # argparse names the type in its messages
    return parse_list


_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text):
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


# --- the grid ---------------------------------------------------------------


def _grid(args):
    """The configurations in itertools.product(init, decay_steps, end) order."""
    return list(itertools.product(args.init, args.decay_steps, args.end))


def _schedule(parser, configs, column=False):
    """One schedule for the configurations (parameters of shape (K,), or
    (K, 1) with `column`); bad parameters are reported as a usage error."""
    from . import cosine_decay

    shape = (len(configs), 1) if column else (len(configs),)
    try:
        return cosine_decay(*(p.reshape(shape) for p in _rows(configs)))
    except (ValueError, TypeError, OverflowError) as e:
        parser.error(f"argument --decay-steps: {e}")


def _label(config):
    init, decay_steps, end = config
    return f"init={init:g}, decay_steps={decay_steps}, end={end:g}"


def _open_out(parser, path):
    try:
        return open(path, "wb")
    except OSError as e:
        parser.error(f"argument --out: cannot write {str(path)!r}: {e.strerror or e}")


def _add_grid_arguments(p, num_steps_required=True):
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
    p.add_argument("--out", type=Path, required=True, help="output file")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")


# --- eval -------------------------------------------------------------------


def _npy_header(shape, descr):
    """The NumPy .npy header (format 1.0, or 2.0 for a very long header)."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    for version, len_bytes in ((1, 2), (2, 4)):
        prefix = 8 + len_bytes
        pad = -(prefix + len(header) + 1) % 64
        body = (header + " " * pad + "\n").encode("latin1")
        if len(body) < 1 << (8 * len_bytes):
            return (
                b"\x93NUMPY" + bytes([version, 0]) + len(body).to_bytes(len_bytes, "little") + body
            )
    raise ValueError("header too long")


class _Progress:
    """tqdm where it is installed, else a plain percentage on stderr."""

    def __init__(self, total, enabled):
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

    def update(self, n):
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

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _rows(configs):
    init, decay_steps, end = zip(*configs)
    return (
        mx.array(init, dtype=mx.float32),
        mx.array(decay_steps, dtype=mx.int64),
        mx.array(end, dtype=mx.float32),
    )


def write_npy(f, configs, num_steps, start=0, max_values=1 << 20, progress=None):
    """Writes the schedules of `configs` ((init, decay_steps, end) triples) at
    steps start .. start + num_steps - 1 to the open file `f` as a float32
    .npy of shape (len(configs), num_steps), in pieces of at most `max_values`
    values that are contiguous in the file: blocks of whole rows where a row
    fits, else pieces of one row. Each piece is one `values(n, start)` call;
    the next piece is evaluated while the previous one is written, so at most
    two pieces are in memory."""
    from . import cosine_decay

    descr = "<f4" if sys.byteorder == "little" else ">f4"
    f.write(_npy_header((len(configs), num_steps), descr))
    if num_steps == 0:
        return
    rows_per_block = max(1, max_values // num_steps)
    steps_per_piece = num_steps if rows_per_block > 1 else min(num_steps, max_values)
    # Every schedule is made before the first evaluation: making one
    # evaluates its decay_steps, which would wait for the pieces in flight.
    blocks = [
        cosine_decay(*_rows(configs[r : r + rows_per_block]))
        for r in range(0, len(configs), rows_per_block)
    ]
    pending = None
    for schedule in blocks:
        for s in range(0, num_steps, steps_per_piece):
            values = schedule.values(min(steps_per_piece, num_steps - s), start + s)
            mx.async_eval(values)
            if pending is not None:
                f.write(memoryview(pending))
                if progress:
                    progress.update(pending.size)
            pending = values
    f.write(memoryview(pending))
    if progress:
        progress.update(pending.size)


def _cmd_eval(parser, args):
    configs = _grid(args)
    _schedule(parser, configs)  # validates every configuration
    num_rows, num_steps = len(configs), args.num_steps
    total = num_rows * num_steps
    # Two pieces in flight at most, each at most 4 MiB: MLX's buffer cache
    # keeps buffers that small, so later pieces reuse memory instead of
    # faulting in fresh pages (32 MiB pieces ran 3x slower here).
    max_values = max(1, min(args.memory_budget // 2, 4 << 20) // 4)
    if total * 4 <= args.memory_budget:
        max_values = max(1, total)
    progress = _Progress(total, enabled=total > max_values and not args.quiet)
    tic = time.perf_counter()
    with _open_out(parser, args.out) as f:
        try:
            write_npy(f, configs, num_steps, args.start, max_values, progress)
        except BaseException as e:
            f.close()
            args.out.unlink(missing_ok=True)
            if isinstance(e, OSError):
                print(f"{PROG} eval: error: writing {str(args.out)!r}: {e}", file=sys.stderr)
                return 1
            raise
        finally:
            progress.close()
    seconds = time.perf_counter() - tic
    if not args.quiet:
        print(
            f"wrote {args.out}: float32 array of shape ({num_rows}, {num_steps}), "
            f"{total:,} values in {seconds:.2f} s"
            + (f" ({seconds / total * 1e9:.2f} ns/value)" if total else "")
        )
        print("rows: the configurations in itertools.product(init, decay_steps, end) order")
        if num_rows <= 64:
            for row, config in enumerate(configs):
                print(f"  {row:3d}: {_label(config)}")
        else:
            print(
                f"  row = (i * {len(args.decay_steps)} + j) * {len(args.end)} + k "
                "for init[i], decay_steps[j], end[k]"
            )
    return 0


# --- plot -------------------------------------------------------------------


def _cmd_plot(parser, args):
    if args.points < 2:
        parser.error("argument --points: must be at least 2")
    configs = _grid(args)
    schedule = _schedule(parser, configs, column=True)
    if args.num_steps is None:  # the whole decay and a little of the tail
        args.num_steps = max(args.decay_steps) * 11 // 10 + 1
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            f"{PROG} plot: error: matplotlib is not installed; install it with "
            f"pip install 'mlx-cosine-decay[plot]'",
            file=sys.stderr,
        )
        return 2
    n, start, points = args.num_steps, args.start, args.points
    if n <= points:
        steps = mx.arange(start, start + n, dtype=mx.int64)
    else:  # evenly spaced integer steps, first and last included
        steps = start + (mx.arange(points, dtype=mx.int64) * (n - 1)) // (points - 1)
    values = schedule(steps)  # (K, points)
    mx.eval(steps, values)
    with _open_out(parser, args.out) as f:
        fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
        x = steps.tolist()
        for row, config in enumerate(configs):
            ax.plot(x, values[row].tolist(), label=_label(config))
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        ax.set_title("cosine decay")
        if args.log:
            ax.set_yscale("log")
        if len(configs) <= 20:
            ax.legend(fontsize="small")
        fig.savefig(f, format="png", dpi=args.dpi)
        plt.close(fig)
    if not args.quiet:
        print(f"wrote {args.out}: {len(configs)} curve(s) of {len(x)} points")
    return 0


# --- demo -------------------------------------------------------------------


def _median_seconds(fn, repeat):
    mx.eval(fn())  # warm-up
    times = []
    for _ in range(repeat):
        tic = time.perf_counter()
        mx.eval(fn())
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def _truth_errors(steps, init, decay_steps, end):
    """max |x - truth| and max ulp error of x against the float64 truth (from
    the float32 parameters), or None without numpy (not a dependency)."""
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

    def errors(x):
        err = np.abs(np.asarray(x).astype(np.float64) - truth)
        return float(err.max()), float((err / ulp).max())

    return errors


def _summary(name, x, reference, errors):
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


def _table(header, rows, formats):
    """Aligned columns: the first left-aligned, the others right-aligned."""
    cells = [header] + [[f.format(v) for f, v in zip(formats, r)] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in cells
    )


def _cmd_demo(parser, args):
    import mlx.optimizers as optim

    from . import __version__, cosine_decay, cpu_isa, num_threads

    n = args.num_steps
    decay_steps = args.decay_steps if args.decay_steps is not None else max(1, n)
    init, end = args.init, args.end
    try:
        schedule = cosine_decay(init, decay_steps, end)
    except ValueError as e:
        parser.error(f"argument --decay-steps: {e}")
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
        ("mlx.optimizers.cosine_decay", _median_seconds(lambda: reference(steps), args.repeat)),
        ("ours, schedule(steps)", _median_seconds(lambda: schedule(steps), args.repeat)),
        ("ours, schedule.values(n)", _median_seconds(lambda: schedule.values(n), args.repeat)),
    ]
    base = timings[0][1]
    rows = [
        [name, t * 1e3, t / max(1, n) * 1e9, base / t if t > 0 else float("inf")]
        for name, t in timings
    ]
    print(
        _table(
            [f"time (median of {args.repeat}, after a warm-up)", "ms", "ns/step", "speed-up"],
            rows,
            ["{}", "{:.2f}", "{:.2f}", "{:.1f}x"],
        )
    )
    return 0


# --- bench and --cmake-dir --------------------------------------------------


def _bench_script():
    """bench/bench_cpu.py of the source checkout this package runs from (an
    editable install), or of the current directory."""
    candidates = [
        Path(__file__).resolve().parents[2] / "bench" / "bench_cpu.py",
        Path.cwd() / "bench" / "bench_cpu.py",
    ]
    return next((p for p in candidates if p.is_file()), None)


def _cmd_bench(argv):
    path = _bench_script()
    if path is None:
        print(
            f"{PROG} bench: error: bench/bench_cpu.py not found; the benchmark ships "
            "with the source, not the wheel: run this from a checkout of "
            "mlx-cosine-decay (or an editable install of one)",
            file=sys.stderr,
        )
        return 2
    spec = importlib.util.spec_from_file_location("bench_cpu", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    if not hasattr(module, "main"):
        print(f"{PROG} bench: error: {path} has no main(argv)", file=sys.stderr)
        return 2
    result = module.main(argv)
    # main may return its measurements: only an int is an exit status.
    return result if isinstance(result, int) else 0


def _cmd_cmake_dir():
    try:
        from ._cmake import cmake_dir
    except ModuleNotFoundError as e:
        if e.name != f"{__package__}._cmake":
            raise
        print(
            f"{PROG}: error: --cmake-dir is not available in this build "
            "(mlx_cosine_decay._cmake is missing)",
            file=sys.stderr,
        )
        return 2
    print(cmake_dir())
    return 0


# --- main -------------------------------------------------------------------


def make_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The cosine-decay learning-rate schedule as one MLX primitive: "
        "a demo (the default), grids of schedules to .npy or .png, benchmarks.",
    )
    parser.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory of the CMake package (for find_package) and exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="{demo,eval,plot,bench}")

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
    demo.add_argument("--repeat", type=_count, default=5, help="timed runs (median)")
    demo.set_defaults(handler=_cmd_demo, parser=demo)

    ev = sub.add_parser(
        "eval",
        help="a grid of schedules to a .npy",
        description="Evaluates every configuration of the grid init x decay_steps x end "
        "(itertools.product order) at steps start .. start + num_steps - 1 and writes a "
        "float32 .npy of shape (configurations, num_steps). Outputs over the memory "
        "budget are written in chunks, with a progress bar (tqdm where installed).",
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
    pl.add_argument("--dpi", type=_count, default=100)
    pl.set_defaults(handler=_cmd_plot, parser=pl)

    sub.add_parser(
        "bench",
        help="the CPU benchmark table (bench/bench_cpu.py; arguments pass through)",
        add_help=False,
    )
    return parser


def _version():
    try:
        from . import __version__

        return __version__
    except ImportError:
        return "unknown"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        return _cmd_bench(argv[1:])
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.cmake_dir:
        return _cmd_cmake_dir()
    if args.command is None:
        args = parser.parse_args([*argv, "demo"])
    return args.handler(args.parser, args)


if __name__ == "__main__":
    raise SystemExit(main())
