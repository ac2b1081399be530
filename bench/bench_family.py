"""The cosine family, side by side with what MLX users build today.

(a) One warmup + cosine learning rate (what an optimizer evaluates every
    update; a 0-d uint64 step, as `Optimizer.step`): ours against MLX's
    `join_schedules([linear_schedule, cosine_decay], [warmup])` (what mlx-lm
    builds), eager and under mx.compile, beside a trivial MLX evaluation
    (what one trip through MLX's CPU stream costs). Targets: compiled <=
    1.0x, eager <= 0.5x.
(b) A compiled AdamW step of a small MLP (state = [model.state,
    optimizer.state]) with either schedule, two trainers each, in
    interleaved rounds; MLX's two trainers against each other give this
    run's noise. Target: no slower.
(c) 1e7 int32 steps: ns/element of each form against plain cosine_decay
    (ours all), as step arrays and as values(): warmup + cosine, with an
    exponent (an integer, a multiple of 1/2, and another: the three ways
    d ** p is computed), and warm restarts. Target: each within 10 %.

Times are medians over the rounds. The ratios of (b) and (c) are medians of
each round's own ratio (neighbours in time; see paired_ratio).

    python bench/bench_family.py [--repeat 15] [--size 1e7]
"""

import argparse
import importlib.util
import platform
import statistics
import time
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim

import mlx_cosine_decay as mcd

_spec = importlib.util.spec_from_file_location(
    "train_warmup_cosine", Path(__file__).parents[1] / "examples" / "train_warmup_cosine.py"
)
EXAMPLE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(EXAMPLE)

INIT, END = 3e-4, 3e-5
WARMUP, DECAY = 1_000, 100_000


def mlx_warmup_cosine():
    return optim.join_schedules(
        [optim.linear_schedule(0.0, INIT, WARMUP), optim.cosine_decay(INIT, DECAY, END)], [WARMUP]
    )


def ours_warmup_cosine():
    return mcd.cosine_decay(INIT, DECAY, END, warmup_steps=WARMUP)


def interleaved_times(fns, rounds, inner):
    """Seconds per call of each fn in each round, timing `inner` calls per
    round and alternating between the fns every round (so drift hits all
    alike)."""
    for fn in fns.values():
        for _ in range(inner):
            fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(inner):
                fn()
            times[k].append((time.perf_counter() - t) / inner)
    return times


def interleaved_medians(fns, rounds, inner):
    """Median seconds per call of each fn (see interleaved_times)."""
    times = interleaved_times(fns, rounds, inner)
    return {k: statistics.median(v) for k, v in times.items()}


def paired_ratio(times, a, b):
    """The median over rounds of b's time over a's in the same round: each
    ratio compares neighbours in time, so the machine's slower and faster
    spells cancel."""
    return statistics.median(y / x for x, y in zip(times[a], times[b], strict=True))


def bench_one_lr(rounds):
    step = mx.array(WARMUP + 12_345, dtype=mx.uint64)
    theirs, ours = mlx_warmup_cosine(), ours_warmup_cosine()
    theirs_c, ours_c = mx.compile(theirs), mx.compile(ours)
    one = mx.array(1.0)
    mx.eval(one)
    fns = {
        "a trivial MLX evaluation": lambda: mx.eval(one + 1),
        "MLX join_schedules, eager": lambda: mx.eval(theirs(step)),
        "ours, eager": lambda: mx.eval(ours(step)),
        "MLX join_schedules, mx.compile": lambda: mx.eval(theirs_c(step)),
        "ours, mx.compile": lambda: mx.eval(ours_c(step)),
    }
    t = interleaved_medians(fns, rounds, inner=200)
    print("\n(a) one warmup + cosine learning rate (0-d uint64 step)\n")
    print("| | us / call | ours / MLX | target |")
    print("|---|---:|---:|---:|")
    floor = t["a trivial MLX evaluation"]
    print(f"| a trivial MLX evaluation, `mx.eval(a + 1)` | {floor * 1e6:.1f} | | |")
    for mode, target in (("eager", "<= 0.5x"), ("mx.compile", "<= 1.0x")):
        a, b = t[f"MLX join_schedules, {mode}"], t[f"ours, {mode}"]
        print(f"| MLX join_schedules, {mode} | {a * 1e6:.1f} | | |")
        print(f"| ours, {mode} | {b * 1e6:.1f} | {b / a:.2f}x | {target} |")


def make_trainer(schedule):
    mx.random.seed(0)
    model = nn.Sequential(
        nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    )
    mx.eval(model.parameters())
    opt = optim.AdamW(learning_rate=schedule)
    # The example's compiled step: the benchmark times what users copy.
    train_step, state = EXAMPLE.compiled_train_step(model, opt, EXAMPLE.mse)

    x = mx.random.normal((64, 32))
    y = mx.random.normal((64, 1))

    def run():
        mx.eval(train_step(x, y), state)

    return run


def bench_training(rounds):
    # Two trainers of each: the ratio of MLX's two says how far apart two
    # identical runs land on this machine.
    fns = {
        "MLX join_schedules": make_trainer(mlx_warmup_cosine()),
        "ours": make_trainer(ours_warmup_cosine()),
        "MLX join_schedules, again": make_trainer(mlx_warmup_cosine()),
        "ours, again": make_trainer(ours_warmup_cosine()),
    }
    times = interleaved_times(fns, rounds, inner=50)
    t = {k: statistics.median(v) for k, v in times.items()}
    a = t["MLX join_schedules"] + t["MLX join_schedules, again"]
    b = t["ours"] + t["ours, again"]
    ratio = statistics.median(
        [
            paired_ratio(times, "MLX join_schedules", "ours"),
            paired_ratio(times, "MLX join_schedules, again", "ours, again"),
            paired_ratio(times, "MLX join_schedules", "ours, again"),
            paired_ratio(times, "MLX join_schedules, again", "ours"),
        ]
    )
    noise = paired_ratio(times, "MLX join_schedules", "MLX join_schedules, again")
    print("\n(b) compiled AdamW step, MLP 32-64-64-1, batch 64 (two trainers each)\n")
    print("| schedule | us / step | ours / MLX | target |")
    print("|---|---:|---:|---:|")
    print(f"| MLX join_schedules | {a / 2 * 1e6:.1f} | | |")
    print(f"| ours | {b / 2 * 1e6:.1f} | {ratio:.3f}x | <= 1.0x |")
    print(f"| MLX's second trainer / its first (this run's noise) | | {noise:.3f}x | |")


def bench_large(size, rounds):
    steps = mx.arange(0, size, dtype=mx.int32)  # ramp, decay and the tail
    d, w = size // 2, size // 100
    plain = mcd.cosine_decay(INIT, d, END)
    warm = mcd.cosine_decay(INIT, d, END, warmup_steps=w)

    def powered(p):
        return mcd.cosine_decay(INIT, d, END, warmup_steps=w, exponent=p)

    power, half_power, any_power = powered(2.0), powered(1.5), powered(1.7)
    restarts = mcd.cosine_decay_restarts(INIT, size // 20, END, t_mul=2.0, m_mul=0.8)
    mx.eval(steps)
    fns = {
        "cosine_decay(step)": lambda: mx.eval(plain(steps)),
        "warmup + cosine(step)": lambda: mx.eval(warm(steps)),
        "cosine_decay.values(n)": lambda: mx.eval(plain.values(size)),
        "warmup + cosine.values(n)": lambda: mx.eval(warm.values(size)),
        "warmup + cosine ** 2 (step)": lambda: mx.eval(power(steps)),
        "warmup + cosine ** 1.5 (step)": lambda: mx.eval(half_power(steps)),
        "warmup + cosine ** 1.7 (step)": lambda: mx.eval(any_power(steps)),
        "restarts t_mul=2 (step)": lambda: mx.eval(restarts(steps)),
    }
    times = interleaved_times(fns, rounds, inner=1)
    t = {k: statistics.median(v) for k, v in times.items()}
    where = f"threads: {mcd.num_threads()}, isa: {mcd.cpu_isa()}"
    print(f"\n(c) {size:.0e} int32 steps, ns / element ({where})\n")
    print("| | ns / element | vs plain cosine_decay | target |")
    print("|---|---:|---:|---:|")
    for k, v in t.items():
        ref = "cosine_decay.values(n)" if k.endswith(".values(n)") else "cosine_decay(step)"
        target = "" if k.startswith("cosine_decay") else "<= 1.10x"
        ratio = "" if k.startswith("cosine_decay") else f"{paired_ratio(times, ref, k):.3f}x"
        print(f"| {k} | {v / size * 1e9:.2f} | {ratio} | {target} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="rounds of interleaved timing")
    parser.add_argument("--size", type=float, default=1e7, help="steps for (c)")
    args = parser.parse_args()
    print(
        f"mlx {mx.__version__}, mlx_cosine_decay {mcd.__version__}, {platform.machine()}, "
        f"{platform.python_version()}; times: medians of {args.repeat} interleaved rounds; "
        "ratios: medians of the rounds' own ratios"
    )
    bench_one_lr(args.repeat)
    bench_training(args.repeat)
    bench_large(int(args.size), args.repeat)


if __name__ == "__main__":
    main()
