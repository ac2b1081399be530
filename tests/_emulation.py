"""What the host emulations of the GPU kernels share (tests/test_emulation.py):
the steps that reach every branch, the step layouts, raw buffers, the case
directories their emulators read (tests/emulation.h), and each backend's
emulator, launches and comparison with the CPU."""

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import numpy as np
from conftest import (
    CSRC,
    CUDA_EMULATION,
    GPU_OUT_DTYPES,
    GPU_PAIRS,
    GPU_STEP_DTYPES,
    METAL_EMULATION,
    dtype_name,
)

FLOATS = {"float16", "bfloat16", "float32"}

# decay_steps covering every reduction type: int32 (2D <= INT32_MAX) and
# int64 for integer steps; float (2D <= 2^24) and wider for floating steps.
# D > 2^53 is not a double: floating steps are reduced exactly in int64.
DECAY_STEPS = [1, 7, 1000, 2**23, 2**23 + 1, 10**6, 2**30 - 1, 2**30, 3 * 10**9, 10**12]
HUGE_DECAY_STEPS = [2**53 + 1, 3 * 2**60 + 7, 2**62 - 1]

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


def family_meta(
    kind=0, output=0, warmup_steps=0, warmup_init=0.0, exponent=1.0, t_mul=1.0, m_mul=1.0
):
    """The `family` line of a case: core::FamilyParams (kind: 0 cosine, 1
    warmup, 2 restarts; output: 0 value, 1 step slope)."""
    return (kind, output, warmup_steps, warmup_init, exponent, t_mul, m_mul)


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


def bits_of(a):
    """An mx.array of float32, float16 or bfloat16 as its bits, flat."""
    if a.dtype == mx.bfloat16:
        a = a.view(mx.uint16)
    return np.array(a).reshape(-1).view(np.uint32 if a.dtype == mx.float32 else np.uint16)


def values_of(bits, out):
    if out == "bfloat16":
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return bits.view(getattr(np, out)).astype(np.float64)


def unit(x, out):
    """One unit in the last place of `out` at |x| (float64)."""
    if out == "bfloat16":
        x32 = np.abs(np.asarray(x, np.float32))
        return np.spacing(x32).astype(np.float64) * 2**16
    return np.spacing(np.abs(np.asarray(x)).astype(getattr(np, out))).astype(np.float64)


@dataclass
class Backend:
    """A GPU backend as the emulation tests see it: its emulator, the launches
    its host makes, and how its results compare with the CPU's. CUDA computes
    as the CPU does: its results equal the CPU's bit for bit. Metal computes
    in float (no double): within the float path's error bound."""

    name: str
    directory: Path  # emulate.cpp and the compatibility header
    pairs: list  # (step, out) dtype names tested
    exact: bool

    def build(self, cxx, tmp):
        if self.name == "metal":  # Metal's half is _Float16
            probe = tmp / "probe.cpp"
            probe.write_text("int main() { _Float16 h = 1.5f; return (float)h == 1.5f ? 0 : 1; }\n")
            r = subprocess.run([cxx, "-std=c++17", str(probe), "-o", str(tmp / "probe")])
            if r.returncode != 0:
                return None
        exe = tmp / "emulate"
        cmd = [cxx, "-std=c++17", "-O1", "-ffp-contract=off", "-Wall", "-Wextra"]
        cmd += [f"-I{CSRC}", f"-I{self.directory}", f"-I{Path(mx.__file__).parent / 'include'}"]
        r = subprocess.run(
            cmd + [str(self.directory / "emulate.cpp"), "-o", str(exe)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr[:4000]
        return exe

    def launches(self, variant, size, every=True):
        """(label, meta) of the launches to emulate for `size` elements: the
        host's own (CUDA: 256 threads, 4 elements each for the contiguous
        kernel; Metal: 4 per thread, one thread per group) and ones that leave
        spare threads (CUDA: blocks of 32 threads; Metal: a 1-d grid with
        spare threads and a 2-d one), with 32- and 64-bit indices (only the first if not
        `every`)."""
        if self.name == "cuda":
            shapes = [(256, 4), (32, 4)] if variant == "contiguous" else [(32, 1)]
            for idx in (32, 64):
                for threads, n in shapes:
                    blocks = max(1, -(-size // (threads * n)))
                    meta = {"idx": idx, "grid": (blocks, 1), "threads": threads}
                    yield f"idx={idx} {threads}x{n}", {**meta, "work_per_thread": n}
                    if not every:
                        return
            return
        n = 4 if variant == "contiguous" else 1
        threads = -(-size // n)
        for idx, grid in [(32, (threads + 3, 1)), (64, (3, -(-threads // 3) + 1))]:
            yield f"idx={idx} grid={grid}", {"idx": idx, "grid": grid, "work_per_thread": n}
            if not every:
                return

    def reference_dtype(self, out):
        """The result dtype of the CPU reference: the output's own (CUDA, bit
        for bit), or float32 rounded once to the output (Metal)."""
        return mx_dtype(out) if self.exact else mx.float32

    def check(self, got, want, out, what, end=0.0, loose=False):
        """got (bits from the emulator) against the CPU's `want`: bit for bit
        (CUDA; NaNs by position: a GPU need not keep a NaN step's payload).
        Metal: float32 results within 4 ulp of the value (and of its distance
        from `end`, the scale of the cancellation in end + (init - end) *
        decay) plus 1 ulp of `end`, or 2e-6 of that scale where pow runs in
        float (`loose`); float16/bfloat16 results, rounded once from either,
        within one unit (or that bound, where larger)."""
        want_bits = bits_of(want.astype(mx_dtype(out)))
        assert got.shape == want_bits.shape, what
        nan = is_nan(want_bits, out)
        assert np.array_equal(is_nan(got, out), nan), what
        if self.exact:
            bad = np.flatnonzero(got[~nan] != want_bits[~nan])
            assert bad.size == 0, f"{what}: {bad.size} differ, first at {bad[:5]}"
            return
        g, w = values_of(got, out)[~nan], values_of(want_bits, out)[~nan]
        e = np.broadcast_to(np.asarray(end, np.float64), want.shape).reshape(-1)[~nan]
        scale = np.maximum(np.abs(w), np.abs(w - e))
        if loose:
            tol = 2e-6 * scale
        else:
            tol = 4 * unit(scale, "float32") + unit(e, "float32")
        if out != "float32":
            # One unit, and the float path's error where that is the larger
            # (values near 0 that come from cancellation).
            tol = np.maximum(unit(w, out), tol)
        bad = np.flatnonzero(np.abs(g - w) > tol)
        assert bad.size == 0, (
            f"{what}: {bad.size} differ, first at {bad[:5]}: {g[bad[:3]]} vs {w[bad[:3]]}"
        )


_GPU_NAMES = [dtype_name(d) for d in GPU_OUT_DTYPES]
BACKENDS = [
    Backend(
        "metal",
        METAL_EMULATION,
        [(s, o) for s in [dtype_name(d) for d in GPU_STEP_DTYPES] for o in _GPU_NAMES],
        exact=False,
    ),
    Backend("cuda", CUDA_EMULATION, [(dtype_name(s), dtype_name(o)) for s, o in GPU_PAIRS], True),
]


class Cases:
    """Launches written to directories, run by one emulator call."""

    def __init__(self, backend, tmp):
        self.backend = backend
        self.tmp = tmp
        self.dirs = []

    def add(self, variant, step, out, size, scalars, buffers=None, every=True, **meta):
        """Every launch of the backend for this kernel (see Backend.launches);
        meta: the other keys of tests/emulation.h `Case` (generated,
        array_params, donate, family, shape, strides as [[per axis] per
        operand], offsets). Returns the labels of the launches added."""
        strides = meta.pop("strides", None)
        if strides is not None:
            meta["strides"] = [s for st in strides for s in st]
        for key in ("generated", "array_params", "donate"):
            if key in meta:
                meta[key] = int(meta[key])
        labels = []
        for label, launch in self.backend.launches(variant, size, every):
            d = self.tmp / f"case{len(self.dirs)}"
            d.mkdir()
            case = {"variant": variant, "step": step, "out": out, "size": size}
            write_case(d, {**case, "scalars": scalars, **launch, **meta}, buffers)
            self.dirs.append((d, out))
            labels.append(label)
        return labels

    def run(self, emulator):
        r = subprocess.run(
            [str(emulator)] + [str(d) for d, _ in self.dirs], capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        return [np.fromfile(d / "out.bin", dtype=bits_dtype(out)) for d, out in self.dirs]
