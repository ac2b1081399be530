"""Train a small MLP with linear warmup + cosine decay from mlx_cosine_decay.

The schedule is one CosineDecay node inside the compiled training step: the
optimizer evaluates it at its own step counter on every update. Runs in a few
seconds on a CPU.

    python examples/train_warmup_cosine.py [--steps 600] [--warmup 60]
"""

import argparse
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim

import mlx_cosine_decay as mcd


def make_data(n, rng_key):
    """y = sin(3 x0) + x1 * x2 plus a little noise: easy to fit, not linear."""
    x = mx.random.uniform(-1, 1, (n, 3), key=rng_key)
    y = mx.sin(3 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    return x, y + 0.01 * mx.random.normal(y.shape, key=mx.random.split(rng_key)[0])


def mse(model, x, y):
    return nn.losses.mse_loss(model(x), y)


def compiled_train_step(model, optimizer, loss_fn):
    """MLX's compiled training step: the model's and the optimizer's state
    (the step counter the schedule reads, too) are the compiled function's
    implicit inputs and outputs. Returns (train_step(x, y) -> loss, state)."""
    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def train_step(x, y):
        loss, grads = nn.value_and_grad(model, loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    return train_step, state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args(argv)

    mx.random.seed(0)
    x, y = make_data(2048, mx.random.key(1))
    model = nn.Sequential(
        nn.Linear(3, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 1)
    )
    mx.eval(model.parameters())

    # Warmup from 0 to lr over `warmup` steps, then cosine down to lr / 10
    # over the rest: one node, exact, and the same values as MLX's
    # join_schedules([linear_schedule(0, lr, warmup), cosine_decay(...)], [warmup]).
    schedule = mcd.cosine_decay(
        args.lr, args.steps - args.warmup, args.lr / 10, warmup_steps=args.warmup
    )
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=1e-4)
    train_step, state = compiled_train_step(model, optimizer, mse)

    batch = 128
    first = None
    for step in range(args.steps):
        i = (step * batch) % x.shape[0]
        loss = train_step(x[i : i + batch], y[i : i + batch])
        mx.eval(loss, state)
        first = loss.item() if first is None else first
        if step % 100 == 0 or step == args.steps - 1:
            lr = optimizer.learning_rate.item()
            print(f"step {step:4d}  lr {lr:.3e}  loss {loss.item():.4f}")
    final = mse(model, x, y).item()
    print(f"full-data loss: {final:.4f} (first batch: {first:.4f})")
    return first, final


if __name__ == "__main__":
    main()
