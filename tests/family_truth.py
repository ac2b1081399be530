"""Float64 truths for the cosine family (warmup + exponent, warm restarts).

Every step-dependent quantity that the kernels compute exactly (s - W, the
clamp to D, the restart boundaries S_i, the distance to the nearer end of a
period) is computed here exactly too, with Python integers and fractions;
only the final trigonometric and power functions are float64 (about 1e-16
relative), far below the 0.002 ulp of float32 that the tests allow beyond
half an ulp. The cosine part is conftest's `truth`, not derived again.
"""

import math
from fractions import Fraction

import numpy as np
from conftest import truth


def _steps_as_fractions(step):
    """Each step as an exact Fraction (ints stay ints), NaN/inf as floats."""
    s = np.asarray(step)
    if s.dtype == np.bool_ or s.dtype.kind in "iu":
        return [int(v) for v in s.reshape(-1)]
    out = []
    for v in s.astype(np.float64).reshape(-1):
        out.append(float(v) if not math.isfinite(v) else Fraction(float(v)))
    return out


def warmup_cosine_truth(
    step, init, decay_steps, end=0.0, warmup_steps=0, warmup_init=0.0, exponent=1.0
):
    """cosine_decay(init, D, end, warmup_steps=W, warmup_init=, exponent=p) at
    `step` (any shape, exact integer or float steps), as float64:
      s <  W: warmup_init + (init - warmup_init) * s / W   (exact rational, rounded once)
      s >= W: end + (init - end) * f(min(s - W, D)) ** p, f the decay fraction.
    Scalar parameters (as float64 numbers, taken as they are)."""
    shape = np.shape(step)
    steps = _steps_as_fractions(step)
    w = int(warmup_steps)
    out = np.empty(len(steps), dtype=np.float64)
    for k, s in enumerate(steps):
        if isinstance(s, float):  # nan or +-inf
            if math.isnan(s):
                out[k] = math.nan
            elif s > 0:
                out[k] = end
            else:  # -inf: MLX's ramp gives -inf * slope + warmup_init
                slope = init - warmup_init
                out[k] = -math.inf * slope if (w > 0 and slope != 0) else math.nan
            continue
        if w > 0 and s < w:
            exact = (
                Fraction(warmup_init) + (Fraction(init) - Fraction(warmup_init)) * Fraction(s) / w
            )
            out[k] = float(exact)
            continue
        a = s - w  # exact
        a = int(a) if isinstance(a, int) or a.denominator == 1 else float(a)
        f = float(
            truth(
                np.array([a], dtype=np.int64 if isinstance(a, int) else np.float64),
                1.0,
                decay_steps,
                0.0,
            )[0]
        )
        out[k] = end + (init - end) * f**exponent
    return out.reshape(shape)


def warmup_cosine_slope(
    step, init, decay_steps, end=0.0, warmup_steps=0, warmup_init=0.0, exponent=1.0
):
    """d value / d step of the same schedule (float64, float steps)."""
    s = np.asarray(step, dtype=np.float64)
    w, d = float(warmup_steps), float(decay_steps)
    a = np.minimum(s - w, d)
    f = np.cos(np.pi * a / (2 * d)) ** 2
    decay = (
        -(init - end) * exponent * f ** (exponent - 1) * (np.pi / (2 * d)) * np.sin(np.pi * a / d)
    )
    decay = np.where(s - w < d, decay, 0.0)
    ramp = (init - warmup_init) / w if w > 0 else 0.0
    return np.where(s < w, ramp, decay)


class RestartBoundaries:
    """The boundaries S_0 = 0 < S_1 < ... of cosine_decay_restarts and the
    period lengths T_i = S_{i+1} - S_i.

    Integer t_mul: the exact integers S_{i+1} = S_i + F * t**i (computed
    independently of the kernels' closed form; a test checks that the two
    agree below 2**53). Other t_mul: the schedule is *defined* by the
    boundaries as the kernels compute them, the float64 closed form
    F * (t**i - 1) / (t - 1) with t**i correctly rounded (here: the exact
    rational power rounded once; the kernels' double-double power gives the
    same double) and the same IEEE operations in the same order, taken here
    as exact fractions; everything else (which period holds a step, the
    distances to its ends, the phase) is exact. For a short binary t_mul
    (1.5, 1.25, 0.5) those float64 boundaries are the exact ones too."""

    def __init__(self, first_decay_steps, t_mul):
        self.first = int(first_decay_steps)
        self.t_float = float(t_mul)
        self.exact = self.t_float.is_integer()
        t = Fraction(self.t_float)
        self.limit = self.first / (1 - t) if t < 1 else None
        self.starts = [Fraction(0)]
        self._length = Fraction(self.first)
        self._t = t

    def _closed_form(self, i):
        t = self.t_float
        return Fraction(self.first * (float(self._t**i) - 1.0) / (t - 1.0))

    def boundary(self, i):
        while len(self.starts) <= i:
            if self.exact:
                self.starts.append(self.starts[-1] + self._length)
                self._length *= self._t
            else:
                self.starts.append(self._closed_form(len(self.starts)))
        return self.starts[i]

    def period(self, s):
        """(i, S_i, S_{i+1} - S_i) with S_i <= s < S_{i+1} (s an exact
        Fraction >= 0), or None past the limit of shrinking periods."""
        if self.limit is not None and s >= self.limit:
            return None
        i = 0
        while self.boundary(i + 1) <= s:
            i += 1
        return i, self.boundary(i), self.boundary(i + 1) - self.boundary(i)


def restarts_truth(step, init, first_decay_steps, end=0.0, t_mul=2.0, m_mul=1.0):
    """cosine_decay_restarts at `step`, float64: in period i (S_i <= s <
    S_i + T_i), end + (init - end) * m_mul**i * cos^2(pi (s - S_i) / (2 T_i)),
    with the distance to the nearer end of the period exact; steps below 0
    take step 0's value; for t_mul < 1, steps at or past F / (1 - t_mul) are
    NaN."""
    shape = np.shape(step)
    bounds = RestartBoundaries(first_decay_steps, t_mul)
    m = Fraction(float(m_mul))
    out = np.empty(int(np.prod(shape)), dtype=np.float64)
    for k, s in enumerate(_steps_as_fractions(step)):
        if isinstance(s, float):
            out[k] = (
                math.nan
                if (math.isnan(s) or s > 0 or bounds.limit is not None)
                else _restart_value(bounds, 0, init, end, m)
            )
            continue
        out[k] = _restart_value(bounds, max(Fraction(s), Fraction(0)), init, end, m)
    return out.reshape(shape)


def _restart_value(bounds, s, init, end, m):
    found = bounds.period(Fraction(s))
    if found is None:
        return math.nan
    i, start, length = found
    a = s - start
    b = start + length - s
    near_end = b < a
    phase = (b if near_end else a) / length  # exact, in [0, 1/2]
    x = math.pi * float(phase) / 2
    f = math.sin(x) ** 2 if near_end else math.cos(x) ** 2
    return end + (init - end) * float(m**i) * f


def restarts_slope(step, init, first_decay_steps, end=0.0, t_mul=2.0, m_mul=1.0):
    """d value / d step of cosine_decay_restarts (float64)."""
    shape = np.shape(step)
    bounds = RestartBoundaries(first_decay_steps, t_mul)
    out = np.empty(int(np.prod(shape)), dtype=np.float64)
    for k, s in enumerate(_steps_as_fractions(step)):
        s = Fraction(s)
        if s < 0:
            out[k] = 0.0
            continue
        found = bounds.period(s)
        if found is None:
            out[k] = math.nan
            continue
        i, start, length = found
        phase = float((s - start) / length)
        out[k] = (
            -(init - end)
            * float(m_mul) ** i
            * math.pi
            / (2 * float(length))
            * math.sin(math.pi * phase)
        )
    return out.reshape(shape)


def restart_boundary_steps(first_decay_steps, t_mul, count):
    """Integer steps around the first `count` boundaries: floor(S_i) - 1,
    floor(S_i), ceil(S_i), ceil(S_i) + 1 (deduplicated, >= 0)."""
    bounds = RestartBoundaries(first_decay_steps, t_mul)
    steps = set()
    for i in range(count + 1):
        b = bounds.boundary(i)
        lo = b.numerator // b.denominator
        for v in (lo - 1, lo, lo + 1, lo + 2):
            if v >= 0:
                steps.add(v)
    return sorted(steps)
