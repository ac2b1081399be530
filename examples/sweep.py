"""A schedule sweep in one kernel launch, with the public Python API only.

    python examples/sweep.py [--num-steps 1000000]

A 3 x 3 x 3 grid of (init, decay_steps, end) broadcasts to 27 schedules;
`values(num_steps)` evaluates all of them over every training step as one
CosineDecay node (27 x num_steps float32 values, no step array), and MLX
reduces them to two counts per schedule: the steps before the learning rate
falls below a tenth of init, and the steps it spends at or above 1e-5.
"""

import argparse
import time

import mlx.core as mx

from mlx_cosine_decay import cosine_decay

INITS = [3e-4, 1e-3, 3e-3]
DECAY_FRACTIONS = [0.25, 0.5, 1.0]  # decay_steps as a fraction of the run
ENDS = [0.0, 1e-5, 1e-4]
LR_FLOOR = 1e-5


def sweep(num_steps):
    """Returns the configurations and, per configuration, the number of steps
    with a learning rate >= init / 10 and the number with one >= LR_FLOOR."""
    decay_steps = [max(1, int(f * num_steps)) for f in DECAY_FRACTIONS]
    init = mx.array(INITS).reshape(3, 1, 1)
    schedule = cosine_decay(init, mx.array(decay_steps).reshape(1, 3, 1), mx.array(ENDS))
    lr = schedule.values(num_steps)  # (3, 3, 3, num_steps)
    above_tenth = mx.sum(lr >= init[..., None] / 10, axis=-1).reshape(-1)
    above_floor = mx.sum(lr >= LR_FLOOR, axis=-1).reshape(-1)
    configs = [(i, d, e) for i in INITS for d in decay_steps for e in ENDS]
    return configs, above_tenth, above_floor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-steps", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    tic = time.perf_counter()
    configs, above_tenth, above_floor = sweep(args.num_steps)
    mx.eval(above_tenth, above_floor)
    seconds = time.perf_counter() - tic

    print(f"{len(configs)} schedules x {args.num_steps:,} steps in {seconds * 1e3:.1f} ms")
    print(f"{'init':>8} {'decay_steps':>12} {'end':>8} {'>= init/10':>11} {'>= 1e-5':>8}")
    for k, (init, d, end) in enumerate(configs):
        tenth, floor = (
            above_tenth[k].item() / args.num_steps,
            above_floor[k].item() / args.num_steps,
        )
        print(f"{init:8.0e} {d:12,} {end:8.0e} {tenth:11.1%} {floor:8.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
