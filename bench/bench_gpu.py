"""The schedule on an NVIDIA GPU, side by side in one run: ours (the CUDA
plugin) against MLX's reference `mlx.optimizers.cosine_decay` (eager and under
mx.compile), and the same formula under torch.compile and jax.jit, for 1e6 to
1e9 values. Two tasks: schedule(steps) (int32 steps in, float32 out: 8 bytes
per value) and values(n) (float32 out only: 4 bytes per value). Prints the
median time, the bandwidth (bytes moved / time) and its fraction of the peak:
the datasheet-free peak from the device's memory clock and bus width, and a
measured device-to-device copy.

    python bench/bench_gpu.py [--sizes 1e6,1e7,1e8,1e9] [--repeat 10] [--cpu]

--cpu runs the MLX columns on the CPU with small sizes (a dry run of the
script where there is no GPU); torch and jax are skipped where not installed."""

import argparse
import functools
import math
import statistics
import time

import mlx.core as mx
import mlx.optimizers as optim

from mlx_cosine_decay import cosine_decay

INIT, DECAY_STEPS, END = 1e-1, 10**6, 1e-5


def median_time(f, sync, repeat):
    f()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def mlx_impls(n, device):
    stream = mx.gpu if device == "gpu" else mx.cpu
    with mx.stream(stream):
        steps = mx.arange(n, dtype=mx.int32)
        mx.eval(steps)
    ours = cosine_decay(INIT, DECAY_STEPS, END)
    ref = optim.cosine_decay(INIT, DECAY_STEPS, END)
    ref_compiled = mx.compile(ref)

    def run(f):
        def go():
            with mx.stream(stream):
                mx.eval(f())

        return go

    return {
        "ours": (run(lambda: ours(steps)), run(lambda: ours.values(n))),
        "mlx eager": (run(lambda: ref(steps)), None),
        "mlx compile": (run(lambda: ref_compiled(steps)), None),
    }, lambda: mx.synchronize(stream)


def torch_impls(n):
    import torch

    steps = torch.arange(n, dtype=torch.int32, device="cuda")

    def formula(s):
        s = torch.clamp(s, max=DECAY_STEPS).to(torch.float32)
        return END + (INIT - END) * 0.5 * (1.0 + torch.cos(math.pi * s / DECAY_STEPS))

    compiled = torch.compile(formula)
    values = torch.compile(lambda: formula(torch.arange(n, dtype=torch.int32, device="cuda")))
    return {"torch.compile": (lambda: compiled(steps), values)}, torch.cuda.synchronize


def jax_impls(n):
    import jax
    import jax.numpy as jnp

    steps = jnp.arange(n, dtype=jnp.int32)

    def formula(s):
        s = jnp.minimum(s, DECAY_STEPS).astype(jnp.float32)
        return END + (INIT - END) * 0.5 * (1.0 + jnp.cos(jnp.pi * s / DECAY_STEPS))

    f = jax.jit(formula)
    g = jax.jit(lambda: formula(jnp.arange(n, dtype=jnp.int32)))
    return {
        "jax.jit": (lambda: f(steps).block_until_ready(), lambda: g().block_until_ready())
    }, lambda: None


def peaks():
    """(theoretical peak from clock and bus width, measured copy) in bytes/s,
    or None where unknown."""
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        theory = 2 * props["memoryClockRate"] * 1e3 * props["memoryBusWidth"] / 8
        a = cupy.empty(2**30, dtype=cupy.uint8)
        b = cupy.empty_like(a)
        t = median_time(
            lambda: b.__setitem__(slice(None), a), cupy.cuda.runtime.deviceSynchronize, 10
        )
        return theory, 2 * a.nbytes / t, props["name"].decode()
    except Exception:  # noqa: BLE001 - no cupy or no GPU
        return None, None, "unknown"


def percent(bandwidth, peak):
    """bandwidth as a percentage of peak, right-aligned in six columns."""
    return f"{100 * bandwidth / peak:6.1f}" if peak else f"{'-':>6}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1e6,1e7,1e8,1e9")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--cpu", action="store_true")
    args = p.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    device = "cpu" if args.cpu else "gpu"
    theory, copy, name = (None, None, "cpu") if args.cpu else peaks()
    print(
        f"device: {name}; peak {theory and theory / 1e9:.0f} GB/s (clock x bus), "
        f"copy {copy and copy / 1e9:.0f} GB/s (measured)"
        if theory
        else f"device: {name}"
    )
    print(f"{'n':>6} {'task':<15} {'impl':<14} {'ms':>9} {'GB/s':>8} {'%peak':>6} {'%copy':>6}")
    for n in sizes:
        impls, syncs = {}, {}
        sources = [functools.partial(mlx_impls, n, device)]
        if not args.cpu:
            sources += [functools.partial(torch_impls, n), functools.partial(jax_impls, n)]
        for source in sources:
            try:
                found, sync = source()
            except ImportError as e:
                print(f"       (skipped: {e})")
                continue
            for k, v in found.items():
                impls[k] = v
                syncs[k] = sync
        for task, index, nbytes in (("schedule(steps)", 0, 8 * n), ("values(n)", 1, 4 * n)):
            for impl, fs in impls.items():
                if fs[index] is None:
                    continue
                t = median_time(fs[index], syncs[impl], args.repeat)
                bw = nbytes / t
                print(
                    f"{n:>6.0e} {task:<15} {impl:<14} {1e3 * t:9.3f} {bw / 1e9:8.1f} "
                    f"{percent(bw, theory)} {percent(bw, copy)}"
                )
        del impls
        mx.clear_cache()


if __name__ == "__main__":
    main()
