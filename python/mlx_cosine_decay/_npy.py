"""A streaming writer of float32 ``.npy`` files (NumPy is not needed to write one)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO

import mlx.core as mx

from ._schedule import CosineDecaySchedule, cosine_decay

Config = tuple[float, int, float]


def npy_header(shape: Sequence[int], descr: str) -> bytes:
    """The NumPy ``.npy`` header (format 1.0, or 2.0 for a very long header),
    padded so that the data starts at a multiple of 64 bytes."""
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


def parameter_rows(configs: Sequence[Config]) -> tuple[mx.array, mx.array, mx.array]:
    """``init``, ``decay_steps`` and ``end`` of `configs` as arrays of shape (K,)."""
    init, decay_steps, end = zip(*configs, strict=True)
    return (
        mx.array(init, dtype=mx.float32),
        mx.array(decay_steps, dtype=mx.int64),
        mx.array(end, dtype=mx.float32),
    )


def write_npy(
    f: BinaryIO,
    configs: Sequence[Config],
    num_steps: int,
    start: int = 0,
    max_values: int = 1 << 20,
    progress: Callable[[int], object] | None = None,
    make: Callable[..., CosineDecaySchedule] = cosine_decay,
) -> None:
    """Writes the schedules of `configs` ((init, decay_steps, end) triples) at
    steps start .. start + num_steps - 1 to the open file `f` as a float32
    .npy of shape (len(configs), num_steps), in pieces of at most `max_values`
    values that are contiguous in the file: blocks of whole rows where a row
    fits, else pieces of one row. Each piece is one `values(n, start)` call;
    the next piece is evaluated while the previous one is written, so at most
    two pieces are in memory. `progress(n)` is called after each piece of n
    values is written. `make(init, decay_steps, end)` makes the schedules
    (cosine_decay, or a member of its family with fixed options)."""
    descr = "<f4" if sys.byteorder == "little" else ">f4"
    f.write(npy_header((len(configs), num_steps), descr))
    if num_steps == 0:
        return
    rows_per_block = max(1, max_values // num_steps)
    steps_per_piece = num_steps if rows_per_block > 1 else min(num_steps, max_values)
    # Every schedule is made before the first evaluation: making one
    # evaluates its decay_steps, which would wait for the pieces in flight.
    blocks = [
        make(*parameter_rows(configs[r : r + rows_per_block]))
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
                    progress(pending.size)
            pending = values
    assert pending is not None
    f.write(memoryview(pending))
    if progress:
        progress(pending.size)
