"""The polynomials for sin^2(x) / x^2 in the math header: each keeps
the error bound that the header states, measured against a 40-digit truth.

This checks the polynomials as stored (the coefficients after rounding to
float or double), evaluated exactly: the kernels' rounding is checked by the
ulp tests of test_kernel.py."""

import re
from decimal import Decimal, getcontext
from math import factorial

import numpy as np
import pytest
from conftest import MATH_HEADER

PI = Decimal("3.141592653589793238462643383279502884197")
getcontext().prec = 40


def coefficients(name, dtype):
    """The initializer of array `name` in the header, rounded to dtype."""
    body = re.search(rf"\b{name}\[\d+\] = \{{(.*?)\}};", MATH_HEADER.read_text(), re.S).group(1)
    body = re.sub(r"//[^\n]*", "", body)
    terms = [re.sub(r"(?<=\d)f$", "", t.strip()) for t in body.split(",") if t.strip()]
    # Entries are literals or quotients of literals ("2.0 / 45"), which C
    # rounds once to the array's type, as float() and np.float32 do here.
    return [Decimal(float(dtype(eval(t, {"__builtins__": {}})))) for t in terms]


TAYLOR = [Decimal((-1) ** k * 2 ** (2 * k + 1)) / factorial(2 * k + 2) for k in range(30)]


def horner(coef, z):
    p = Decimal(0)
    for c in reversed(coef):
        p = p * z + c
    return p


def max_relative_error(coef, points=4001):
    top = (PI / 4) ** 2
    worst = Decimal(0)
    for i in range(points):
        z = top * i / (points - 1)
        # The truth: sin^2(sqrt z) / z by 30 terms of its Taylor series.
        f = horner(TAYLOR, z)
        worst = max(worst, abs(horner(coef, z) - f) / f)
    return float(worst)


@pytest.mark.parametrize(
    "name,dtype,terms,bound",
    [
        ("c", np.float32, 6, 1.4e-8),  # float: the Metal shader, half results
        ("fitted", float, 6, 3.1e-12),  # double, float32 results
        ("taylor", float, 10, 1.0e-17),  # double, float64 results
    ],
)
def test_polynomial_within_its_stated_error_bound(name, dtype, terms, bound):
    coef = coefficients(name, dtype)
    assert len(coef) == terms
    assert coef[0] == 1  # exact at x -> 0: sin^2 x / x^2 -> 1
    assert max_relative_error(coef) <= bound
