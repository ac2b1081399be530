"""What the host emulations of the GPU kernels share (test_metal_emulation.py,
test_cuda_emulation.py): the steps that reach every branch, the step layouts,
raw buffers and the case directories their emulators read."""

import math

import mlx.core as mx
import numpy as np

FLOATS = {"float16", "bfloat16", "float32"}

# decay_steps covering every reduction type: int32 (2D <= INT32_MAX) and
# int64 for integer steps; float (2D <= 2^24) and wider for floating steps.
DECAY_STEPS = [1, 7, 1000, 2**23, 2**23 + 1, 10**6, 2**30 - 1, 2**30, 3 * 10**9, 10**12]

# (shape, element strides, offset of the first element, buffer length)
LAYOUTS = {
    "transposed": ((3, 4, 5), (1, 3, 12), 0, 60),
    "reversed_sliced": ((4, 6), (-15, 2), 45, 60),
    "broadcast": ((3, 7), (0, 1), 0, 7),
    "broadcast_rows": ((7, 3), (1, 0), 0, 7),
    "scalar": ((), (), 0, 1),
}


def mx_dtype(name):
    return mx.bool_ if name == "bool" else getattr(mx, name)


def bits_dtype(name):
    return {"float32": np.uint32, "float16": np.uint16, "bfloat16": np.uint16}[name]


def is_nan(bits, out):
    b = bits.astype(np.uint32)
    if out == "float32":
        return (b & 0x7FFFFFFF) > 0x7F800000
    return (b & 0x7FFF) > (0x7C00 if out == "float16" else 0x7F80)


def step_values(dtype, d, below_minus_2_62=True):
    """Steps that reach every branch: both ends of the decay and its middle,
    past the end, negative steps in and beyond the first period, the dtype's
    limits, and for floats fractions, huge values, infinities and NaN (float
    steps below -2^62 only if `below_minus_2_62`)."""
    if dtype == "bool":
        return [False, True]
    edges = [
        0,
        1,
        2,
        d // 2 - 1,
        d // 2,
        d // 2 + 1,
        d - 1,
        d,
        d + 1,
        2 * d - 1,
        2 * d,
        3 * d + 1,
        -1,
        -d + 1,
        -d,
        -d - 1,
        -2 * d,
        -3 * d - 2,
    ]
    edges += list(range(-20, 21))
    if dtype in FLOATS:
        edges += [
            0.5,
            -0.5,
            0.1,
            d - 0.5,
            d + 0.25,
            d / 2 + 0.5,
            -d - 0.5,
            1e-30,
            -0.0,
            2.5e18,
            1e30,
            math.inf,
            -math.inf,
            math.nan,
            8388607.5,
            5e6 + 0.75,
            -5e6 - 0.25,
        ]
        return edges + ([-1e30, -2.5e18] if below_minus_2_62 else [])
    info = np.iinfo(getattr(np, dtype))
    edges += [info.min, info.min + 1, info.max - 1, info.max]
    return [v for v in edges if info.min <= v <= info.max]


def step_buffer(dtype, values):
    """(raw bits for an emulator, a function from such bits to an mx.array)."""
    if dtype == "bfloat16":
        bits = np.array(mx.array(np.array(values, np.float32)).astype(mx.bfloat16).view(mx.uint16))
        return bits, lambda a: mx.array(a).view(mx.bfloat16)
    if dtype == "bool":
        raw = np.array(values, np.bool_)
    elif dtype in FLOATS:
        with np.errstate(over="ignore"):
            raw = np.array(values, np.float64).astype(getattr(np, dtype))
    else:
        raw = np.array(values, getattr(np, dtype))
    return raw, mx.array


def strided_steps(step, values, layout):
    """The steps `values` laid out as LAYOUTS[layout] says: (the buffer, the
    steps as a contiguous mx.array, shape, strides, offset)."""
    shape, strides, offset, length = LAYOUTS[layout]
    raw, to_mx = step_buffer(step, values)
    base = np.resize(raw, length)
    view = np.lib.stride_tricks.as_strided(
        base[offset:], shape, [s * base.itemsize for s in strides]
    )
    return base, to_mx(np.ascontiguousarray(view)), shape, list(strides), offset


def write_case(directory, meta, buffers=None):
    """A case for an emulator: meta.txt (one `key values...` line per entry of
    `meta`) and the raw buffers step, init, end and decay_steps (empty where
    not given)."""
    lines = [
        f"{key} " + (" ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
        for key, v in meta.items()
    ]
    (directory / "meta.txt").write_text("\n".join(lines) + "\n")
    for name in ("step", "init", "end", "decay_steps"):
        raw = (buffers or {}).get(name)
        (directory / f"{name}.bin").write_bytes(b"" if raw is None else raw.tobytes())
