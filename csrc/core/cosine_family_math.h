// Copyright © 2026 mlx-cosine-decay authors.
//
// The cosine family on top of the exact decay of cosine_decay_math.h: a
// linear warmup, an exponent on the decay fraction, and warm restarts. Like
// that header this one compiles as C++, Metal and CUDA C++ (no library beyond
// the math functions named below, fixed-width types, no references to the
// standard library in the device paths). The cosine itself is never derived
// again here: every value goes through `decay_at` / `decay_from`.
//
// Warmup + decay (W = warmup_steps, D = decay_steps, p = exponent):
//   s <  W: warmup_init + (init - warmup_init) * s / W
//   s >= W: end + (init - end) * d ** p,
//           d = 0.5 * (1 + cos(pi * min(s - W, D) / D)) = cos^2(...)
// s - W and its clamp to D are exact in the reduction type (integers, or the
// step's own floating type, see `after_warmup`), so with p == 1 and W == 0
// the value is bit for bit cosine_decay's, and with W > 0 it is cosine_decay's
// value at s - W. The ramp is computed in the compute type (double on the
// CPU) and rounded once.
//
// Warm restarts (Keras' CosineDecayRestarts with alpha = end / init, written
// in absolute terms): period i has length T_i = F * t^i (F =
// first_decay_steps, t = t_mul > 0) and starts at S_i = F * (t^i - 1)/(t - 1)
// (F * i for t == 1); in it
//   value = end + (init - end) * m^i * cos^2(pi * (s - S_i) / (2 T_i))
// (m = m_mul). Restarts never end; for t < 1 the periods shrink towards
// S_inf = F / (1 - t), and steps at or beyond it are NaN (as in Keras).
// Steps below 0 take the value at 0. What is exact: see `restart_period`.

#pragma once

// Quoted from the csrc include root, the path the Metal embedding inlines.
#include "core/cosine_decay_math.h"

#ifdef __METAL_VERSION__
#define COSINE_FAMILY_FLOOR metal::floor
#define COSINE_FAMILY_ISNAN metal::isnan
#define COSINE_FAMILY_NAN(T) T(NAN)
#define COSINE_FAMILY_SIN metal::precise::sin
#define COSINE_FAMILY_COS metal::precise::cos
#define COSINE_FAMILY_SQRT metal::precise::sqrt
#elif defined(__CUDACC_RTC__) // NVRTC: CUDA's math functions, no <cmath>
#define COSINE_FAMILY_FLOOR ::floor
#define COSINE_FAMILY_ISNAN(x) ((x) != (x))
#define COSINE_FAMILY_NAN(T) T(__int_as_float(0x7fc00000))
#define COSINE_FAMILY_SIN ::sin
#define COSINE_FAMILY_COS ::cos
#define COSINE_FAMILY_SQRT ::sqrt
#else
#define COSINE_FAMILY_FLOOR std::floor
#define COSINE_FAMILY_ISNAN std::isnan
#define COSINE_FAMILY_NAN(T) T(NAN)
#define COSINE_FAMILY_SIN std::sin
#define COSINE_FAMILY_COS std::cos
#define COSINE_FAMILY_SQRT std::sqrt
#endif

namespace cosine_decay_math {

// ------------------------------------------------ log, exp and pow, portable

// The family's powers and logarithms (d ** p, t_mul^i, m_mul^i and the
// period estimate) from IEEE basic operations and explicit fma only, never
// a math library: libm's pow and log differ between glibc, CUDA and Apple,
// so results computed with them could not be the same bits on every backend.
// Every operation below is exactly rounded, so the CPU (built with
// -ffp-contract=off) and CUDA (--fmad=false) compute the same bits by
// construction. In double: Metal has none, and keeps its float
// metal::precise functions (`family_pow` below).
#ifndef __METAL_VERSION__

// The bits of a double and back (vectorized by the CPU compilers).
#ifdef __CUDACC_RTC__
COSINE_DECAY_INLINE uint64_t bits_of(double x) {
  return static_cast<uint64_t>(__double_as_longlong(x));
}
COSINE_DECAY_INLINE double double_of_bits(uint64_t b) {
  return __longlong_as_double(static_cast<long long>(b));
}
#else
template <typename To, typename From>
COSINE_DECAY_INLINE To copy_bits(From x) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}
COSINE_DECAY_INLINE uint64_t bits_of(double x) {
  return copy_bits<uint64_t>(x);
}
COSINE_DECAY_INLINE double double_of_bits(uint64_t b) {
  return copy_bits<double>(b);
}
#endif

// log(x) for every double x (0: -inf, +inf: +inf, x < 0 and NaN: NaN), within
// 1 ulp: fdlibm's e_log.c (Sun Microsystems, 1993), branch-free. x = 2^k z
// with z in [sqrt(1/2), sqrt(2)), f = z - 1 (exact), s = f / (2 + f), and
// log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), R a polynomial of fdlibm
// (|error| < 2^-58.45). k is read from the exponent bits with integer adds
// and shifts (no int64 -> double conversion, which AVX2 lacks).
COSINE_DECAY_INLINE double portable_log(double x) {
  const double ln2_hi = 6.93147180369123816490e-01; // 0x3fe62e42fee00000
  const double ln2_lo = 1.90821492927058770002e-10; // 0x3dea39ef35793c76
  const double lg[7] = {
      6.666666666666735130e-01, // 0x3fe5555555555593
      3.999999999940941908e-01, // 0x3fd999999997fa04
      2.857142874366239149e-01, // 0x3fd2492494229359
      2.222219843214978396e-01, // 0x3fcc71c51d8e78af
      1.818357216161805012e-01, // 0x3fc7466496cb03de
      1.531383769920937332e-01, // 0x3fc39a09d078c69f
      1.479819860511658591e-01}; // 0x3fc2f112df3e5244
  const uint64_t sqrt_half = 0x3fe6a09e667f3bcdULL; // the bits of sqrt(1/2)
  bool subnormal = x < 2.2250738585072014e-308; // scaled by 2^54
  double xs = subnormal ? x * 18014398509481984.0 : x;
  uint64_t ix = bits_of(xs);
  // ix - bits(sqrt(1/2)) has k in its exponent field (two's complement in
  // 12 bits); 1024 added keeps it positive for the logical shift.
  uint64_t t = ix - sqrt_half;
  uint64_t k_biased = (t + (uint64_t{1024} << 52)) >> 52; // k + 1024
  double k = double_of_bits(k_biased | 0x4330000000000000ULL) -
      (4503599627370496.0 + 1024.0); // 2^52 + k + 1024 - (2^52 + 1024)
  k = subnormal ? k - 54.0 : k;
  double z = double_of_bits(ix - (t & 0xfff0000000000000ULL)); // x / 2^k
  double f = z - 1.0;
  double s = f / (2.0 + f);
  double w = s * s;
  double r = lg[6];
  COSINE_DECAY_UNROLL
  for (int j = 5; j >= 0; --j) {
    r = COSINE_DECAY_FMA(r, w, lg[j]);
  }
  r = r * w;
  double hfsq = 0.5 * f * f;
  double y = k * ln2_hi - ((hfsq - (s * (hfsq + r) + k * ln2_lo)) - f);
  y = x == 0.0 ? -double_of_bits(0x7ff0000000000000ULL) : y; // -inf
  y = x < 0.0 ? double_of_bits(0x7ff8000000000000ULL) : y; // NaN
  return x > 1.7976931348623157e308 || x != x ? x : y; // +inf, NaN
}

// exp(y) for every double y (underflow to subnormals and 0, overflow to
// +inf), within 1 ulp: fdlibm's e_exp.c, branch-free. y = k ln 2 + r with
// |r| <= ln(2)/2 (k * ln2_hi exact: ln2_hi has 32 bits), exp(r) from fdlibm's
// rational form, then scaled by 2^k as two normal factors 2^k1 2^k2 (so a
// subnormal result is rounded once, by the last product).
COSINE_DECAY_INLINE double portable_exp(double y) {
  const double ln2_hi = 6.93147180369123816490e-01;
  const double ln2_lo = 1.90821492927058770002e-10;
  const double inv_ln2 = 1.44269504088896338700e+00;
  const double shifter = 6755399441055744.0; // 1.5 * 2^52: rounds to integer
  const double p[5] = {
      1.66666666666666019037e-01, // 0x3fc555555555553e
      -2.77777777770155933842e-03, // 0xbf66c16c16bebd93
      6.61375632143793436117e-05, // 0x3f11566aaf25de2c
      -1.65339022054652515390e-06, // 0xbebbbd41c5d26bf1
      4.13813679705723846039e-08}; // 0x3e66376972bea4d0
  // exp(-746) and below round to 0, exp(710) and above to +inf; the clamp
  // keeps k in [-1076, 1024] (NaN passes through).
  double yc = y < -746.0 ? -746.0 : y;
  yc = yc > 710.0 ? 710.0 : yc;
  double kd = yc * inv_ln2 + shifter;
  double k = kd - shifter; // round(y / ln 2), exact
  double hi = yc - k * ln2_hi;
  double lo = k * ln2_lo;
  double r = hi - lo;
  double t = r * r;
  double c = p[4];
  COSINE_DECAY_UNROLL
  for (int j = 3; j >= 0; --j) {
    c = COSINE_DECAY_FMA(c, t, p[j]);
  }
  c = r - t * c;
  double e = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  // k + 2048 from kd's low bits (bits(kd) - bits(shifter) is k), halved by
  // a logical shift: k1 = h - 1024 and k2 = k - k1 both lie in [-538, 512].
  uint64_t k_plus = bits_of(kd) - bits_of(shifter) + 2048;
  uint64_t h = k_plus >> 1;
  double scale1 = double_of_bits((h - 1) << 52); // 2^(h - 1024)
  double scale2 = double_of_bits((k_plus - h - 1) << 52); // 2^(k - k1)
  return e * scale1 * scale2;
}

// portable_pow in its two halves, for kernels that run them as separate
// passes over a block (on the CPU the shorter dependency chains run faster):
// pow_from_log(log_for_pow(x, y), y) is portable_pow(x, y), bit for bit.
COSINE_DECAY_INLINE double log_for_pow(double x, double y) {
  return y * portable_log(x);
}

COSINE_DECAY_INLINE double pow_from_log(double y_log_x, double y) {
  double r = portable_exp(y_log_x);
  return y == 0.0 ? 1.0 : r;
}

// x^y for x >= 0 (the family's d ** p, d in [0, 1], p > 0): exp(y log x),
// with pow(x, 0) = 1. The error is below (3 |y log x| + 2) ulp (the log's ulp
// and the rounding of the product, each scaled by exp, plus exp's own):
// below 2^-41 relative wherever x^y is a normal double, far below what
// float32 results need (2.4e-10 beyond their half ulp); float64 results of
// the family carry d^p times (init - end), whose error stays below 1 ulp of
// init - end (|y| x^y <= 1/e).
COSINE_DECAY_INLINE double portable_pow(double x, double y) {
  return pow_from_log(log_for_pow(x, y), y);
}

// x^n for an integer n >= 0 (t_mul^i, m_mul^i): binary powering in
// double-double (about 2^-100 relative per product), so the result is x^n
// correctly rounded but where x^n lies within about n 2^-100 of a midpoint
// between doubles (for a short binary x, never: products stay exact while
// they fit 106 bits). Overflow gives +inf, underflow 0 (results below
// 2^-969, where the low part loses bits, are not always correctly rounded).
// n at or beyond 2^63, infinite or NaN: the limit (x > 1: +inf, 1: 1, else 0;
// NaN n: NaN).
COSINE_DECAY_INLINE double portable_pown(double x, double n) {
  if (!(n < 9223372036854775808.0)) {
    double inf = double_of_bits(0x7ff0000000000000ULL);
    return n != n ? n : (x > 1.0 ? inf : (x == 1.0 ? 1.0 : 0.0));
  }
  uint64_t e = static_cast<uint64_t>(n);
  double rh = 1.0, rl = 0.0; // the result so far
  double bh = x, bl = 0.0; // x^(2^j)
  while (e != 0) {
    if (e & 1) {
      double p = rh * bh;
      double q = COSINE_DECAY_FMA(rh, bh, -p); // p's rounding error, exact
      q = COSINE_DECAY_FMA(rh, bl, q);
      q = COSINE_DECAY_FMA(rl, bh, q);
      rh = p + q;
      rl = p - p == 0.0 ? q - (rh - p) : 0.0; // 0 once p overflows
      rh = p - p == 0.0 ? rh : p;
    }
    e >>= 1;
    if (e != 0) {
      double p = bh * bh;
      double q = COSINE_DECAY_FMA(bh, bh, -p);
      q = COSINE_DECAY_FMA(2.0 * bh, bl, q);
      bh = p + q;
      bl = p - p == 0.0 ? q - (bh - p) : 0.0;
      bh = p - p == 0.0 ? bh : p;
    }
  }
  return rh;
}

#endif // !__METAL_VERSION__

// The family's power and logarithm in its compute type T: the portable
// functions above in double (float computes in double and rounds once),
// Metal's precise float functions in the shader.
#ifdef __METAL_VERSION__
COSINE_DECAY_INLINE float family_pow(float x, float y) {
  return metal::precise::pow(x, y);
}
COSINE_DECAY_INLINE float family_pown(float x, float n) {
  return metal::precise::pow(x, n);
}
COSINE_DECAY_INLINE float family_log(float x) {
  return metal::precise::log(x);
}
#else
COSINE_DECAY_INLINE double family_pow(double x, double y) {
  return portable_pow(x, y);
}
COSINE_DECAY_INLINE float family_pow(float x, float y) {
  return static_cast<float>(portable_pow(x, y));
}
COSINE_DECAY_INLINE double family_pown(double x, double n) {
  return portable_pown(x, n);
}
COSINE_DECAY_INLINE float family_pown(float x, float n) {
  return static_cast<float>(portable_pown(x, n));
}
COSINE_DECAY_INLINE double family_log(double x) {
  return portable_log(x);
}
COSINE_DECAY_INLINE float family_log(float x) {
  return static_cast<float>(portable_log(x));
}
#endif

// ---------------------------------------------------------------- warmup

// The ramp from `first` (warmup_init, at step 0) to `first + delta` (init, at
// step W). delta = init - warmup_init is exact in double for float32 (and
// narrower) parameters.
template <typename T>
struct Warmup {
  T steps; // W >= 1, exact in T
  T first;
  T delta;
};

template <typename T>
COSINE_DECAY_INLINE Warmup<T> make_warmup(T warmup_init, T init, int64_t w) {
  Warmup<T> r;
  r.steps = static_cast<T>(w);
  r.first = warmup_init;
  r.delta = init - warmup_init;
  return r;
}

// warmup_init + (init - warmup_init) * (s / W): for a rising ramp (init >=
// warmup_init >= 0, 0 <= s <= W) both terms are non-negative, so the result
// carries the two roundings of s / W and the product, about 2^-52 relative:
// float32 results are correctly rounded but for that margin. A falling ramp
// cancels towards init; its error stays below 2^-52 of |warmup_init|.
// Infinite steps give what MLX's linear_schedule gives (+-inf, or NaN).
template <typename T>
COSINE_DECAY_INLINE T warmup_value(T s, Warmup<T> w) {
  return COSINE_DECAY_FMA(w.delta, s / w.steps, w.first);
}

// The step of the decay that follows a warmup of W steps, and whether the
// step is still in the warmup: with c = min(s, W + D) (compared in the
// step's own type, `clamp_step`), c < W is the warmup and c - W in [0, D] is
// the decay's clamped step. R must hold W + D exactly (the host picks it, as
// for cosine_decay: int32 when W + 2D fits, int64; float when W + 2D <=
// 2^24, double). Exact: c and W are in R, and c - W lies in [0, D] (for
// floating R, c - W is exact when c >= W and c <= W + D, both in R: the
// difference is a multiple of ulp(c) or 1, below 2 * max(c - W, ...)). NaN
// steps are not in the warmup and stay NaN.
template <typename R>
struct AfterWarmup {
  R step; // the clamped step in R: s where s < W
  R decay_step; // c - W where the warmup is over, 0 in the warmup
  bool warming;
};

template <typename R, typename In>
COSINE_DECAY_INLINE AfterWarmup<R> after_warmup(In s, R w, R w_plus_d) {
  AfterWarmup<R> r;
  r.step = clamp_step<R>(s, w_plus_d);
  r.warming = r.step < w;
  r.decay_step = (r.warming ? w : r.step) - w;
  return r;
}

// ---------------------------------------------------------------- exponent

// The parameters whose decay is the fraction d = cos^2(pi m / 2D) in [0, 1]
// itself (init 1, end 0): decay_at gives 1 - sin^2 near step 0 (rounded
// once, >= 1/2) and sin^2 near D (full relative accuracy, which d ** p
// keeps).
template <typename R, typename T>
COSINE_DECAY_INLINE Params<R, T> fraction_params(Params<R, T> p) {
  p.init = T(1);
  p.end = T(0);
  p.range = T(1);
  return p;
}

// The common exponents, multiples of 1/2 up to 8 (2, 3, 0.5, 1.5, ...),
// are computed by multiplication, without a logarithm: halves_of(p) is 2p
// for them, else 0.
template <typename T>
COSINE_DECAY_INLINE int32_t halves_of(T p) {
  T twice = T(2) * p;
  bool listed =
      twice >= T(1) && twice <= T(16) && twice == COSINE_FAMILY_FLOOR(twice);
  return listed ? static_cast<int32_t>(twice) : 0;
}

// d^n for 0 <= n <= 8 by binary powering from the top bit of n: each lower
// bit squares, and multiplies by d where it is set. IEEE multiplies only, so
// every backend computes the same bits (the CPU kernels run the same
// products: `PoweredDecay::power`, `SquaredDecay`). Relative error
// below (n - 1) ulp of the compute type (a squaring doubles the error of what
// it squares, a product by d adds one rounding), the size of d^n's own
// sensitivity to the rounding of d (n ulp).
COSINE_DECAY_INLINE int32_t highest_bit(int32_t n) { // n >= 1
  int32_t top = 0;
  while ((n >> (top + 1)) != 0) {
    ++top;
  }
  return top;
}

template <typename T>
COSINE_DECAY_INLINE T power_by_integer(T d, int32_t n) {
  if (n == 0) {
    return T(1);
  }
  int32_t top = highest_bit(n);
  T r = d;
  for (int32_t bit = top - 1; bit >= 0; --bit) {
    r = r * r;
    if (((n >> bit) & 1) != 0) {
      r = r * d;
    }
  }
  return r;
}

// d^(h/2) for h = halves_of(p) >= 1: d^n (n = h/2 rounded down), times
// sqrt(d) (correctly rounded on every backend) where h is odd. Relative
// error below (n + 1) ulp; for p <= 8 far below what float32 results need.
template <typename T>
COSINE_DECAY_INLINE T power_by_halves(T d, int32_t halves) {
  T r = power_by_integer(d, halves >> 1);
  return (halves & 1) != 0 ? r * COSINE_FAMILY_SQRT(d) : r;
}

// In the family's compute type, as family_pow: double on the CPU and CUDA
// (float computes in double and rounds once), float on Metal.
#ifdef __METAL_VERSION__
COSINE_DECAY_INLINE float family_power_by_halves(float d, int32_t halves) {
  return power_by_halves(d, halves);
}
#else
COSINE_DECAY_INLINE double family_power_by_halves(double d, int32_t halves) {
  return power_by_halves(d, halves);
}
COSINE_DECAY_INLINE float family_power_by_halves(float d, int32_t halves) {
  return static_cast<float>(power_by_halves<double>(d, halves));
}
#endif

// d ** p for d in [0, 1] and p > 0.
template <typename T>
COSINE_DECAY_INLINE T fraction_power(T d, T p) {
  int32_t halves = halves_of(p);
  return halves != 0 ? family_power_by_halves(d, halves) : family_pow(d, p);
}

// end + (init - end) * d ** p. With p == 1 callers use decay_at directly
// (that path is cosine_decay's, bit for bit); this one is the general case.
template <typename T>
COSINE_DECAY_INLINE T powered_value(T d_to_p, T init, T end) {
  return COSINE_DECAY_FMA(init - end, d_to_p, end);
}

template <typename T>
COSINE_DECAY_INLINE T powered(T d, T p, T init, T end) {
  return powered_value(fraction_power(d, p), init, end);
}

// The decay with exponent p at a magnitude m in [0, D] (as decay_at takes
// it): d from the curve's shape, then `powered`. Rows of one curve share
// the fraction's parameters; the compilers hoist fraction_params out of
// loops.
template <bool Wide, typename R, typename T>
COSINE_DECAY_INLINE T powered_decay_at(R m, Params<R, T> p, T exponent) {
  T d = decay_at<Wide>(m, fraction_params(p));
  return powered(d, exponent, p.init, p.end);
}

// d value / d step of warmup + decay at a real step s, for the transforms
// (T's precision is plenty there): the ramp's slope below W (W >= 1), then
// with a = min(s - W, D): -(init - end) p d^(p - 1) (pi / 2D) sin(pi a / D),
// d = cos^2(pi a / 2D) (a >= D: 0; without a warmup, steps below 0 follow
// the even, 2D-periodic extension, whose slope is the same formula).
template <typename T>
COSINE_DECAY_INLINE T
warmup_decay_slope(T s, T w, T d, T init, T end, T warmup_init, T p) {
  if (w > T(0) && s < w) {
    return (init - warmup_init) / w;
  }
  T a = s - w;
  if (!(a < d)) {
    return a >= d ? T(0) : a; // NaN stays NaN
  }
  T x = pi_hi(T(0)) * (a / d);
  T c = COSINE_FAMILY_COS(T(0.5) * x);
  T dp = p == T(1) ? T(1) : family_pow(c * c, p - T(1));
  return -(init - end) * p * dp * (pi_hi(T(0)) / (T(2) * d)) *
      COSINE_FAMILY_SIN(x);
}

// ---------------------------------------------------------------- restarts

// The restart schedule's parameters. All period arithmetic is in T (double on
// the CPU; the Metal build would use float and say so).
template <typename T>
struct Restarts {
  T first; // F >= 1
  T t_mul; // > 0
  T log_t_mul; // log(t_mul), 0 for t_mul == 1
  T m_mul; // >= 0
  T init;
  T end;
  T range; // init - end
};

template <typename T>
COSINE_DECAY_INLINE Restarts<T>
make_restarts(T init, T end, int64_t first, T t_mul, T m_mul) {
  Restarts<T> r;
  r.first = static_cast<T>(first);
  r.t_mul = t_mul;
  r.log_t_mul = t_mul == T(1) ? T(0) : family_log(t_mul);
  r.m_mul = m_mul;
  r.init = init;
  r.end = end;
  r.range = init - end;
  return r;
}

// S_i, the first step of period i, by one fixed formula: F * i for t == 1,
// else F * (t^i - 1) / (t - 1). Every boundary the kernels compare against is
// this function's value, so the periods partition the steps exactly (each
// step lies in one period and its phase is in [0, 1)) whatever the rounding.
// t^i is correctly rounded (`portable_pown`), so with an integer t and S_i,
// F t^i below 2^53 every operation is exact and the boundaries are the true
// integers; so they are for t a short binary fraction (1.5, 1.25, 0.5, ...)
// while t^i needs few bits. Rounding is monotone, so S_i never decreases
// with i: the period that holds a step is one and the same whichever way it
// is found (from an estimate, or by reusing the previous step's).
template <typename T>
COSINE_DECAY_INLINE T period_start(T i, Restarts<T> r) {
  if (r.t_mul == T(1)) {
    return r.first * i;
  }
  return r.first * (family_pown(r.t_mul, i) - T(1)) / (r.t_mul - T(1));
}

// The period that holds step s >= 0: its index i, its first step S_i and the
// next boundary S_{i+1}, with S_i <= s < S_{i+1}. i is estimated from the
// inverse of the boundary formula, then corrected against the boundaries
// themselves (at most a few steps either way: the estimate is off only by
// rounding). index is NaN where no period holds s: s NaN, or for t < 1 at or
// beyond S_inf = F / (1 - t).
template <typename T>
struct Period {
  T index;
  T start;
  T next;
  T scale; // m^i: the period's peak above end, relative to init - end
  // The period's decay, set up once per period: D = T_i = S_{i+1} - S_i,
  // init_i = end + (init - end) m^i, end.
  Params<T, T> curve;
};

// The decay of one period: only the scale pi / (2 T_i) and the end points
// are read by decay_from (the double path takes pi / 2T rounded once).
template <typename T>
COSINE_DECAY_INLINE Params<T, T>
period_curve(T length, T scale, Restarts<T> r) {
  Params<T, T> params;
  params.d = length;
  params.two_d = T(2) * length;
  params.half_q = T(-1); // unused: restart_value compares with T_i itself
  params.third_q = T(-1);
  params.scale_hi = pi_hi(T(0)) / params.two_d;
  params.scale_lo =
      (COSINE_DECAY_FMA(-params.scale_hi, params.two_d, pi_hi(T(0))) +
       pi_lo(T(0))) /
      params.two_d;
  params.range = r.range * scale;
  params.end = r.end;
  params.init = r.end + params.range;
  return params;
}

// No period: an empty range (start > next), so callers that reuse the last
// period for the next step never take a step to lie in it.
template <typename T>
COSINE_DECAY_INLINE Period<T> no_period() {
  Period<T> p;
  p.index = COSINE_FAMILY_NAN(T);
  p.start = T(1);
  p.next = T(0);
  p.scale = T(0);
  p.curve = period_curve(T(1), T(0), Restarts<T>{});
  return p;
}

template <typename T>
COSINE_DECAY_INLINE Period<T> restart_period(T s, Restarts<T> r) {
  Period<T> p = no_period<T>();
  T i;
  if (r.t_mul == T(1)) {
    i = COSINE_FAMILY_FLOOR(s / r.first);
  } else {
    // s = F (t^i - 1) / (t - 1)  <=>  i = log(1 + s (t - 1) / F) / log t
    T x = T(1) + s * (r.t_mul - T(1)) / r.first;
    i = x > T(0) ? COSINE_FAMILY_FLOOR(family_log(x) / r.log_t_mul)
                 : COSINE_FAMILY_NAN(T);
  }
  if (COSINE_FAMILY_ISNAN(i) || i < T(0)) {
    return p;
  }
  p.start = period_start(i, r);
  for (int k = 0; k < 4 && p.start > s && i > T(0); ++k) {
    i -= T(1);
    p.start = period_start(i, r);
  }
  p.next = period_start(i + T(1), r);
  for (int k = 0; k < 4 && p.next <= s; ++k) {
    i += T(1);
    p.start = p.next;
    p.next = period_start(i + T(1), r);
  }
  if (!(p.start <= s && s < p.next)) { // only where the periods vanish
    return no_period<T>();
  }
  p.index = i;
  p.scale = i == T(0) ? T(1) : family_pown(r.m_mul, i);
  p.curve = period_curve(p.next - p.start, p.scale, r);
  return p;
}

// min(a, b) for a, b >= +0, as the restarts' distance to the nearer
// end of a period. On the CPU the minimum of their bits as integers (the
// same order for non-negative doubles): a floating min or select there is
// sunk past the polynomial by GCC, which then evaluates it for both.
template <typename T>
COSINE_DECAY_INLINE T nonnegative_min(T a, T b) {
#if defined(__METAL_VERSION__) || defined(__CUDACC_RTC__)
  return COSINE_DECAY_MIN(a, b);
#else
  using I = std::conditional_t<sizeof(T) == 8, int64_t, int32_t>;
  I bits_a, bits_b;
  std::memcpy(&bits_a, &a, sizeof(T));
  std::memcpy(&bits_b, &b, sizeof(T));
  I m = std::min(bits_a, bits_b);
  T r;
  std::memcpy(&r, &m, sizeof(T));
  return r;
#endif
}

// The value at step s (s >= 0, not NaN) in period p: the decay of period i
// with init_i = end + (init - end) m^i over its length T_i = S_{i+1} - S_i,
// evaluated by `decay_from` at the exact distance to the nearer end of the
// period: s - S_i and S_{i+1} - s are exact when the boundaries are integers
// below 2^53 and s is an integer or a float below 2^53 (Sterbenz: each is
// taken where it is the smaller one, at most half the period, and then s is
// at least half the subtracted boundary), else rounded once.
template <bool Wide, typename T>
COSINE_DECAY_INLINE T restart_value(T s, Period<T> p, Restarts<T>) {
  T from_start = s - p.start;
  T to_next = p.next - s;
  bool near_end = to_next < from_start;
  T q = nonnegative_min(from_start, to_next);
  // Exact sin^2 of 1/2 and 1/4 where the period's distances are exact.
  return decay_from<Wide>(
      q,
      near_end,
      Wide && T(2) * q == p.curve.d,
      Wide && T(3) * q == p.curve.d,
      p.curve);
}

// d value / d step in period p: -(init - end) m^i (pi / T_i) sqrt(c (1 - c))
// with c = cos^2(pi (s - S_i) / (2 T_i)), from the same exact distances.
template <typename T>
COSINE_DECAY_INLINE T restart_slope(T s, Period<T> p, Restarts<T> r) {
  T length = p.next - p.start;
  T from_start = s - p.start;
  T to_next = p.next - s;
  T x = pi_hi(T(0)) * (from_start / length); // sin(2x) = sin(pi phase)
  T y = pi_hi(T(0)) * (to_next / length); // = sin(pi (1 - phase))
#ifdef __METAL_VERSION__
  T sine = metal::precise::sin(from_start < to_next ? x : y);
#else
  T sine = std::sin(from_start < to_next ? x : y);
#endif
  return -r.range * p.scale * (pi_hi(T(0)) / (T(2) * length)) * sine;
}

// The restart value at any step: negative steps take step 0's value, NaN
// stays NaN, steps no period holds are NaN.
template <bool Wide, typename T>
COSINE_DECAY_INLINE T restarts_at(T s, Restarts<T> r) {
  s = s < T(0) ? T(0) : s;
  Period<T> p = restart_period(s, r);
  if (COSINE_FAMILY_ISNAN(p.index)) {
    return COSINE_FAMILY_NAN(T);
  }
  return restart_value<Wide>(s, p, r);
}

} // namespace cosine_decay_math
