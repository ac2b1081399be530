"""CPU benchmark: the cosine-decay schedule over int32 step arrays, side by side.

Rows: mlx.optimizers.cosine_decay (eager and under mx.compile), a NumPy
float32 closed form, mlx_cosine_decay, and the floor: a two-thread
int32 -> float32 cast into a freshly allocated output (NumPy's copyto releases
the GIL). torch and jax+optax rows are added where they are installed.
decay_steps = 1e6, so the steps cover the whole curve. Prints markdown tables
of ns/element and ratios to the reference, plus a table for 0-d steps (what
an optimizer evaluates every update) and the peak memory of one evaluation.

    python bench/bench_cpu.py [--sizes 1e3,1e5,1e7,1e8] [--repeat 5]
"""

import argparse
import math
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np

import mlx_cosine_decay

INIT, DECAY_STEPS = 0.1, 1_000_000


def median_time(fn, repeat, min_seconds=0.2):
    """Median seconds of fn() after one warm-up, over at least `repeat` runs
    and `min_seconds` in total."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return statistics.median(times)


_POOL = ThreadPoolExecutor(2)  # started once: thread start-up is not the floor


def two_thread_cast(src):
    """The floor: int32 -> float32 into a fresh buffer, two threads."""
    out = np.empty(src.shape, np.float32)
    half = src.size // 2
    list(
        _POOL.map(
            lambda sl: np.copyto(out[sl], src[sl], casting="unsafe"),
            [slice(0, half), slice(half, None)],
        )
    )
    return out


def candidates(steps_mx, steps_np):
    ref = optim.cosine_decay(INIT, DECAY_STEPS)
    ref_compiled = mx.compile(ref)
    ours = mlx_cosine_decay.cosine_decay(INIT, DECAY_STEPS)
    scale = np.float32(math.pi / DECAY_STEPS)

    def numpy_closed_form():
        s = np.minimum(steps_np, DECAY_STEPS).astype(np.float32)
        return INIT * (np.float32(0.5) * (1 + np.cos(scale * s)))

    rows = {
        "mlx.optimizers.cosine_decay": lambda: mx.eval(ref(steps_mx)),
        "  under mx.compile": lambda: mx.eval(ref_compiled(steps_mx)),
        "NumPy float32 closed form": numpy_closed_form,
        "mlx_cosine_decay": lambda: mx.eval(ours(steps_mx)),
        "floor: 2-thread int32->float32 cast": lambda: two_thread_cast(steps_np),
    }
    try:
        import torch

        steps_t = torch.from_numpy(steps_np)
        rows["torch (CPU)"] = lambda: (
            INIT
            * 0.5
            * (1 + torch.cos((math.pi / DECAY_STEPS) * torch.clamp(steps_t, max=DECAY_STEPS)))
        )
    except ImportError:
        pass
    try:
        import jax
        import optax

        sched = jax.jit(optax.cosine_decay_schedule(INIT, DECAY_STEPS))
        steps_j = jax.numpy.asarray(steps_np)
        rows["optax (jax.jit)"] = lambda: sched(steps_j).block_until_ready()
    except ImportError:
        pass
    return rows


def bench_sizes(sizes, repeat):
    print("| N | " + " | ".join(["implementation", "ns/element", "x reference", "x floor"]) + " |")
    print("|---|---|---:|---:|---:|")
    results = {}
    for n in sizes:
        steps_np = (np.arange(n, dtype=np.int64) * 7919 % (2 * DECAY_STEPS)).astype(np.int32)
        steps_mx = mx.array(steps_np)
        mx.eval(steps_mx)
        rows = candidates(steps_mx, steps_np)
        times = {name: median_time(fn, repeat) / n * 1e9 for name, fn in rows.items()}
        ref = times["mlx.optimizers.cosine_decay"]
        floor = times["floor: 2-thread int32->float32 cast"]
        for name, t in times.items():
            print(f"| {n:.0e} | {name} | {t:.3f} | {t / ref:.3f} | {t / floor:.2f} |")
        results[n] = times
        del steps_mx, steps_np, rows
    return results


def bench_scalar(calls=1000, repeat=5):
    """`calls` 0-d uint64 steps, built and evaluated in one mx.eval."""
    ref = optim.cosine_decay(INIT, DECAY_STEPS)
    ours = mlx_cosine_decay.cosine_decay(INIT, DECAY_STEPS)
    steps = [mx.array(i * 997, dtype=mx.uint64) for i in range(calls)]
    mx.eval(steps)
    out = {}
    for name, f in (("mlx.optimizers.cosine_decay", ref), ("mlx_cosine_decay", ours)):
        out[name] = median_time(lambda f=f: mx.eval([f(s) for s in steps]), repeat) / calls * 1e6
    print(f"\n0-d uint64 step, {calls} calls per mx.eval:\n")
    print("| implementation | us/call | x reference |\n|---|---:|---:|")
    for name, t in out.items():
        print(f"| {name} | {t:.2f} | {t / out['mlx.optimizers.cosine_decay']:.3f} |")
    return out


def peak_memory(n=10_000_000):
    steps = mx.arange(n, dtype=mx.int32)
    mx.eval(steps)
    schedule = mlx_cosine_decay.cosine_decay(INIT, DECAY_STEPS)
    ref = optim.cosine_decay(INIT, DECAY_STEPS)
    print(f"\nPeak memory above the {n * 4 / 1e6:.0f} MB input, N = {n:.0e}:\n")
    print("| implementation | MB | x output |\n|---|---:|---:|")
    for name, f in (("mlx.optimizers.cosine_decay", ref), ("mlx_cosine_decay", schedule)):
        mx.synchronize()
        mx.clear_cache()
        mx.reset_peak_memory()
        base = mx.get_active_memory()
        y = f(steps)
        mx.eval(y)
        extra = mx.get_peak_memory() - base
        print(f"| {name} | {extra / 1e6:.1f} | {extra / y.nbytes:.2f} |")
        del y


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}; "
        f"mlx {mx.__version__}, mlx_cosine_decay {mlx_cosine_decay.__version__} "
        f"(kernel {mlx_cosine_decay.cpu_isa()}, {mlx_cosine_decay.num_threads()} threads), "
        f"numpy {np.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e3,1e5,1e7,1e8")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"Machine: {machine()}\n")
    results = bench_sizes(sizes, args.repeat)
    bench_scalar()
    peak_memory()
    return results


if __name__ == "__main__":
    main()
