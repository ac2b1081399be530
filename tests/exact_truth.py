"""The exact truth of the schedule, independent of floating point.

    value(s) = end + (init - end) * cos^2(pi * min(s, D) / (2 D))

The step is reduced with rational arithmetic (`fractions.Fraction` holds
every integer and every binary floating-point step exactly): min(s, D), the
remainder mod 2D (cos^2 is even and 2D-periodic), the fold into [0, D] and the
distance q to the nearer end are all exact. The cosine is evaluated with
`decimal` at `DIGITS` significant digits. By Niven's theorem the only rational
values of cos^2(pi r) with r rational in [0, 1/4] are 1 (q = 0), 3/4 (3q = D)
and 1/2 (2q = D); those are returned exactly, so an exact zero of the schedule
(which needs a rational cos^2) is exactly zero here. Every other value is
irrational, so the Decimal result is within 10**-DIGITS relative of cos^2
and, after `end + range * f`, within |range| * 10**-DIGITS of the truth.

Values are Fractions where rational (exact), else Decimals; NaN is
float('nan'). `error` measures a computed value against them in ulps of the
result dtype.
"""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

DIGITS = 50

_FORMATS = {  # (significand bits with the implicit one, minimum normal exponent)
    "float16": (11, -14),
    "bfloat16": (8, -126),
    "float32": (24, -126),
    "float64": (53, -1022),
}


def _pi():
    """pi to DIGITS + 10 digits (the recipe from the decimal documentation)."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 15
        three = Decimal(3)
        lasts, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
        return +s


_PI = _pi()
_TINY = Decimal(10) ** -(DIGITS + 10)


def _sin_cos(y):
    """sin(y) and cos(y) for 0 <= y <= pi/4 (a Decimal), by their series."""
    y2 = y * y
    tiny = _TINY
    sin_sum, term, k = y, y, 1
    while True:
        term = -term * y2 / ((2 * k) * (2 * k + 1))
        if abs(term) < abs(sin_sum) * tiny:
            break
        sin_sum += term
        k += 1
    cos_sum, term, k = Decimal(1), Decimal(1), 1
    while True:
        term = -term * y2 / ((2 * k - 1) * (2 * k))
        if abs(term) < tiny:
            break
        cos_sum += term
        k += 1
    return sin_sum, cos_sum


def _as_fraction(x):
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        return Fraction(int(x))
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    return Fraction(float(x))  # exact for every binary float


def fraction_of_cos2(step, decay_steps):
    """cos^2(pi * min(step, D) / (2D)): a Fraction where it is rational (then
    exact), else a Decimal to DIGITS digits; None for NaN and -inf steps."""
    d = int(decay_steps)
    assert d >= 1
    if isinstance(step, (float, np.floating)):
        s = float(step)
        if math.isnan(s) or s == -math.inf:
            return None
        if s == math.inf:
            return Fraction(0)  # clamped to D: cos^2(pi / 2) = 0
    a = min(_as_fraction(step), Fraction(d))
    m = a % (2 * d)  # Python's mod: in [0, 2D) for a positive modulus
    if m > d:
        m = 2 * d - m
    near_end = m > d - m
    q = d - m if near_end else m  # in [0, D/2]
    if q == 0:
        return Fraction(0) if near_end else Fraction(1)
    if 2 * q == d:
        return Fraction(1, 2)
    if 3 * q == d:
        return Fraction(1, 4) if near_end else Fraction(3, 4)
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        y = _PI * Decimal(q.numerator) / (Decimal(q.denominator) * Decimal(2 * d))
        s, c = _sin_cos(y)
        return s * s if near_end else c * c


def value(step, init, decay_steps, end):
    """The schedule value for one step, with init and end taken as the exact
    values of the given numbers: a Fraction where it is rational (exact; zero
    only here), else a Decimal within |init - end| * 10**-DIGITS of the truth;
    float('nan') for NaN."""
    f = fraction_of_cos2(step, decay_steps)
    if f is None:
        return math.nan
    if isinstance(f, Fraction):
        init, end = _as_fraction(init), _as_fraction(end)
        return end + (init - end) * f
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        init, end = _as_decimal(init), _as_decimal(end)
        return end + (init - end) * f


def _as_decimal(x):
    if isinstance(x, Fraction):
        return Decimal(x.numerator) / Decimal(x.denominator)
    if isinstance(x, (bool, np.bool_, int, np.integer)):
        return Decimal(int(x))
    return Decimal(float(x))  # exact for every binary float


def values(steps, init, decay_steps, end):
    """`value` elementwise over NumPy arrays that broadcast (object array)."""
    arrays = np.broadcast_arrays(
        np.asarray(steps, dtype=object),
        np.asarray(init, dtype=object),
        np.asarray(decay_steps, dtype=object),
        np.asarray(end, dtype=object),
    )
    out = np.empty(arrays[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = value(*(a[idx] for a in arrays))
    return out


def is_nan(x):
    return isinstance(x, float) and math.isnan(x)


def ulp(x, dtype_name):
    """The spacing of the format at the value x (Fraction or Decimal), with
    subnormals: 2**(max(floor(log2 |x|), emin) - p + 1), as a Decimal."""
    p, emin = _FORMATS[dtype_name]
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        x = abs(_as_decimal(x))
        if x == 0:
            e = emin
        else:
            xf = float(x)  # floor(log2 x) from its binary exponent, then fixed up
            e = math.frexp(xf)[1] - 1 if xf > 0 else emin - p
            two = Decimal(2)
            while two**e > x:
                e -= 1
            while two ** (e + 1) <= x:
                e += 1
            e = max(e, emin)
        return Decimal(2) ** (e - p + 1)


def error(got, exact, dtype_name):
    """|got - exact| in ulps of the format at exact (0 when both are NaN,
    inf when exactly one is)."""
    got = float(got)
    if is_nan(exact):
        return 0.0 if math.isnan(got) else math.inf
    if math.isnan(got) or math.isinf(got):
        return math.inf
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        return float(abs(Decimal(got) - _as_decimal(exact)) / ulp(exact, dtype_name))


# The accuracy the kernels guarantee, per result dtype: the result is the
# exact value rounded once, but for an absolute error of EPSILON * |init - end|
# from computing it (where init and end have opposite signs the value can
# cancel to far below |init - end|; elsewhere the term is a tiny fraction of
# an ulp): |got - exact| <= 0.502 ulp(exact) + EPSILON * |init - end|.
#   float32: computed in double (the angle, the sin^2 series and the final
#     fma each cost at most an ulp of double relative to |init - end| / 2).
#   float64: the same computation, rounded once to double: a few ulps of it.
#   float16/bfloat16: computed in float and rounded once.
EPSILON = {"float32": 2.0**-52, "float64": 2.0**-51, "float16": 2.0**-22, "bfloat16": 2.0**-22}


def within_bound(got, exact, dtype_name, init, end):
    """Does got meet the guarantee above? NaN must match NaN."""
    got = float(got)
    if is_nan(exact):
        return math.isnan(got)
    if math.isnan(got) or math.isinf(got):
        return False
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        err = abs(Decimal(got) - _as_decimal(exact))
        rng = abs(_as_decimal(init) - _as_decimal(end))
        allowed = Decimal("0.502") * ulp(exact, dtype_name) + Decimal(EPSILON[dtype_name]) * rng
        return err <= allowed
