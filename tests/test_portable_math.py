"""The family's portable log, exp and powers (core/cosine_family_math.h:
portable_log, portable_exp, portable_pow, portable_pown, and fraction_power,
the decay's d ** p), compiled from the
core header as the kernels use it and measured against exact truths: Python's
Decimal ln and exp at 40 digits (correctly rounded at that precision) and
exact rational powers (Fraction), over the ranges the family needs and their
edges (0, 1, subnormal inputs and results, underflow and overflow).

The bounds asserted are the ones the header states."""

import math
import random
import subprocess
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from conftest import CSRC

getcontext().prec = 40

# Reads doubles from argv[2] (a raw file), applies the function named by
# argv[1] (pow, pown and fraction_power: pairs x, y), writes the results to
# argv[3].
PROBE = r"""
#include "core/cosine_family_math.h"
#include <cstdio>
#include <cstring>
#include <vector>
namespace m = cosine_decay_math;
int main(int argc, char** argv) {
  std::FILE* in = std::fopen(argv[2], "rb");
  std::vector<double> x;
  double v;
  while (std::fread(&v, sizeof v, 1, in) == 1) x.push_back(v);
  std::fclose(in);
  std::vector<double> out;
  bool pairs = std::strcmp(argv[1], "log") && std::strcmp(argv[1], "exp");
  for (size_t i = 0; i < x.size(); i += pairs ? 2 : 1) {
    if (!std::strcmp(argv[1], "log")) out.push_back(m::portable_log(x[i]));
    if (!std::strcmp(argv[1], "exp")) out.push_back(m::portable_exp(x[i]));
    if (!std::strcmp(argv[1], "pow")) out.push_back(m::portable_pow(x[i], x[i + 1]));
    if (!std::strcmp(argv[1], "pown")) out.push_back(m::portable_pown(x[i], x[i + 1]));
    if (!std::strcmp(argv[1], "fraction_power")) {
      out.push_back(m::fraction_power(x[i], x[i + 1]));
    }
  }
  std::FILE* o = std::fopen(argv[3], "wb");
  std::fwrite(out.data(), sizeof(double), out.size(), o);
  std::fclose(o);
}
"""


@pytest.fixture(scope="module")
def probe(cxx, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portable_math")
    (tmp / "probe.cpp").write_text(PROBE)
    exe = tmp / "probe"
    cmd = [cxx, "-std=c++17", "-O2", "-ffp-contract=off", f"-I{CSRC}", str(tmp / "probe.cpp")]
    r = subprocess.run([*cmd, "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[:4000]

    def run(function, values):
        np.asarray(values, dtype=np.float64).tofile(tmp / "in.bin")
        subprocess.run([str(exe), function, tmp / "in.bin", tmp / "out.bin"], check=True)
        return np.fromfile(tmp / "out.bin", dtype=np.float64)

    return run


def ulps(got, exact):
    """|got - exact| in units of the double spacing at `exact` (a Decimal)."""
    return float(abs(Decimal(got) - exact) / Decimal(math.ulp(float(exact))))


def log_arguments():
    rng = random.Random(1)
    xs = [5e-324, 1e-310, 2.2250738585072014e-308, 2.225073858507201e-308, 1e-300, 0.5, 2.0]
    xs += [1 - k * 2**-53 for k in range(1, 40)] + [1 + k * 2**-52 for k in range(1, 40)]
    xs += [math.sqrt(0.5), math.nextafter(math.sqrt(0.5), 0), math.sqrt(2), 1e300, 1.7e308]
    xs += [2.0 ** rng.uniform(-1074, 0) for _ in range(3000)]  # d in (0, 1]
    xs += [rng.uniform(0.5, 1.0) for _ in range(3000)]
    xs += [2.0 ** rng.uniform(0, 1023) for _ in range(1000)]  # 1 + s (t - 1) / F, t_mul
    return xs


def test_log_within_one_ulp_and_exact_at_its_edges(probe):
    xs = log_arguments()
    got = probe("log", xs)
    worst = max(ulps(g, Decimal(x).ln()) for g, x in zip(got, xs, strict=True))
    assert worst < 1.0, worst
    edges = probe("log", [0.0, 1.0, math.inf, -1.0, math.nan])
    assert edges[0] == -math.inf and edges[1] == 0.0 and edges[2] == math.inf
    assert np.isnan(edges[3]) and np.isnan(edges[4])


def test_exp_within_one_ulp_down_to_subnormal_results(probe):
    rng = random.Random(2)
    ys = [rng.uniform(-746, 0) for _ in range(4000)] + [rng.uniform(-1, 0) for _ in range(2000)]
    ys += [rng.uniform(0, 709.78) for _ in range(500)] + [-1e-300, -(2**-60), -708.4, -745.1]
    got = probe("exp", ys)
    worst = max(ulps(g, Decimal(y).exp()) for g, y in zip(got, ys, strict=True))
    assert worst < 1.0, worst
    edges = probe("exp", [0.0, -746.0, -math.inf, 710.0, math.inf, math.nan])
    assert list(edges[:5]) == [1.0, 0.0, 0.0, math.inf, math.inf] and np.isnan(edges[5])


@pytest.mark.parametrize("p", [2.0, 0.5, 1.7, 3.0, 10.0, 0.01, 1e-9, 100.0])
def test_pow_of_a_fraction_within_its_stated_bound(probe, p):
    """d ** p for d in [0, 1]: within (3 |p ln d| + 2) ulp of the truth (a
    normal double's ulp, relative 2^-52; plus one subnormal spacing where the
    result is subnormal); float32 results need 2.4e-10 relative. Exact at
    d = 0 and d = 1 and for p = 0."""
    rng = random.Random(int(p * 1000))
    ds = [2.0 ** rng.uniform(-60, 0) for _ in range(1500)] + [rng.random() for _ in range(1500)]
    ds += [1 - k * 2**-53 for k in range(1, 20)] + [1e-300, 5e-324]
    got = probe("pow", [v for d in ds for v in (d, p)])
    for g, d in zip(got, ds, strict=True):
        exact = (Decimal(d).ln() * Decimal(p)).exp()
        bound = Decimal(3 * abs(p * math.log(d)) + 2) * exact * Decimal(2.0**-52)
        assert abs(Decimal(g) - exact) <= bound + Decimal(5e-324), (d, g)
    edges = probe("pow", [0.0, p, 1.0, p, 0.0, 0.0, 0.3, 0.0])
    assert list(edges) == [0.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "x", [2.0, 3.0, 1.5, 1.25, 1.1, 1.01, 1.0001, 0.5, 0.75, 0.9, 0.8, 0.7, 0.999, 1.0, 0.0]
)
def test_pown_is_the_correctly_rounded_power(probe, x):
    """x ** n rounded once from the exact rational power, for every n up to
    2000 (or until it overflows), down to 2^-969 where the double-double low
    part still holds its bits; overflow gives +inf."""
    exact, cases, want = Fraction(1), [], []
    for n in range(2001):
        try:
            w = float(exact)
        except OverflowError:
            w = math.inf
        if w != 0 and w < 2.0**-969:
            break
        cases += [x, float(n)]
        want.append(w)
        if w == math.inf:
            break
        exact *= Fraction(x)
    got = probe("pown", cases)
    assert list(got) == want


def fractions_for_powers(seed):
    rng = random.Random(seed)
    ds = [2.0 ** rng.uniform(-60, 0) for _ in range(1500)] + [rng.random() for _ in range(1500)]
    return ds + [1 - k * 2**-53 for k in range(1, 20)] + [0.5, 0.25, 1e-300, 5e-324, 0.0, 1.0]


@pytest.mark.parametrize("p", [0.5, 1.5, 2.0, 3.0, 4.5, 7.0, 7.5, 8.0])
def test_fraction_power_of_the_common_exponents_is_products(probe, p):
    """Multiples of 1/2 up to 8: sqrt and binary powering, within the
    header's (n + 1) ulp (n = p rounded down; plus one subnormal spacing where
    the result is subnormal), and exact where the truth is a double."""
    ds = fractions_for_powers(int(p * 10))
    got = probe("fraction_power", [v for d in ds for v in (d, p)])
    n = int(p)
    for g, d in zip(got, ds, strict=True):
        exact = (Decimal(d) ** n if n else Decimal(1)) * (Decimal(d).sqrt() if p != n else 1)
        bound = Decimal(n + 1) * exact * Decimal(2.0**-52)
        assert abs(Decimal(g) - exact) <= bound + Decimal(5e-324), (d, g)
        if exact == Decimal(float(exact)):
            assert Decimal(g) == exact, (d, g)


@pytest.mark.parametrize("p", [1.7, 0.01, 8.5, 9.0, 16.0, 0.25, 2.0000001])
def test_fraction_power_of_other_exponents_is_portable_pow(probe, p):
    ds = fractions_for_powers(int(p * 100))
    pairs = [v for d in ds for v in (d, p)]
    assert probe("fraction_power", pairs).tobytes() == probe("pow", pairs).tobytes()
