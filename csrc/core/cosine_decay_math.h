// Copyright © 2026 mlx-cosine-decay authors.
//
// The cosine-decay formula, defined once. This header compiles as C++ (the
// CPU kernels, the tests), as Metal (it is embedded into the shader source)
// and as CUDA C++ under NVRTC, so it uses no library beyond fma/fmod and no
// references.
//
//   value(step) = end + (init - end) * 0.5 * (1 + cos(pi * min(step, D) / D))
//
// Numerics. 0.5 * (1 + cos(2x)) = cos^2(x) and cos^2 is even and has period
// pi, so with a = |min(step, D)| reduced into [0, D]:
//   value = end + (init - end) * cos^2(pi * a / (2D))        for a <= D / 2
//         = end + (init - end) * sin^2(pi * (D - a) / (2D))  for a >  D / 2
// Both angles lie in [0, pi/4] and come from an exact distance (a or D - a),
// so near the end of the decay the result keeps full relative accuracy; the
// textbook form rounds pi * a / D and then cancels 1 + cos(~pi) to zero.

#pragma once

// Every function here is inlined and every loop unrolled: the CPU kernels
// vectorize only loops without calls or inner loops.
#ifdef __METAL_VERSION__
#define COSINE_DECAY_INLINE inline
#define COSINE_DECAY_UNROLL _Pragma("unroll")
#define COSINE_DECAY_FMA metal::fma
#define COSINE_DECAY_FMOD metal::fmod
#define COSINE_DECAY_MIN metal::min
#elif defined(__CUDACC_RTC__) // CUDA C++ under NVRTC: no standard headers
#define COSINE_DECAY_INLINE __device__ __forceinline__
#define COSINE_DECAY_UNROLL _Pragma("unroll")
#define COSINE_DECAY_FMA ::fma
#define COSINE_DECAY_FMOD ::fmod
#define COSINE_DECAY_MIN ::min
#define COSINE_DECAY_FREXP ::frexp
#define COSINE_DECAY_LDEXP ::ldexp
#define COSINE_DECAY_FLOOR ::floor
#define COSINE_DECAY_QUIET_NAN __longlong_as_double(0x7FF8000000000000LL)
#else
#define COSINE_DECAY_INLINE inline __attribute__((always_inline))
#define COSINE_DECAY_UNROLL _Pragma("GCC unroll 16")
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#define COSINE_DECAY_FMA std::fma
#define COSINE_DECAY_FMOD std::fmod
#define COSINE_DECAY_MIN std::min
#define COSINE_DECAY_FREXP std::frexp
#define COSINE_DECAY_LDEXP std::ldexp
#define COSINE_DECAY_FLOOR std::floor
#define COSINE_DECAY_QUIET_NAN NAN
#endif

namespace cosine_decay_math {

#ifdef __METAL_VERSION__
typedef long int64_t;
typedef ulong uint64_t;
typedef uint uint32_t;
typedef int int32_t;
#elif defined(__CUDACC_RTC__)
typedef long long int64_t;
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef int int32_t;
#else
using std::int32_t;
using std::int64_t;
using std::uint32_t;
using std::uint64_t;
#endif

// pi as an unevaluated sum hi + lo in the compute type T (overloaded on a
// dummy argument: Metal has no static constexpr members in constant space).
COSINE_DECAY_INLINE float pi_hi(float) {
  return 3.14159274101257324219f;
}
COSINE_DECAY_INLINE float pi_lo(float) {
  return -8.74227800037248305e-08f;
}
#ifndef __METAL_VERSION__
COSINE_DECAY_INLINE double pi_hi(double) {
  return 3.14159265358979311600e+00;
}
COSINE_DECAY_INLINE double pi_lo(double) {
  return 1.22464679914735320717e-16;
}
#endif

// a mod b with the sign of a (C's % and fmod; both exact).
COSINE_DECAY_INLINE int32_t period_mod(int32_t a, int32_t b) {
  return a % b;
}
COSINE_DECAY_INLINE int64_t period_mod(int64_t a, int64_t b) {
  return a % b;
}
COSINE_DECAY_INLINE float period_mod(float a, float b) {
  return COSINE_DECAY_FMOD(a, b);
}
#ifndef __METAL_VERSION__
COSINE_DECAY_INLINE double period_mod(double a, double b) {
  return COSINE_DECAY_FMOD(a, b);
}
#endif

// sin^2(x) for |x| <= pi/4, as z * P(z) with z = x^2 and P a polynomial for
// sin^2(x) / x^2 = (1 - cos 2x) / (2 x^2), evaluated by Horner's rule with
// explicit fma so every backend rounds the same way. One polynomial serves
// both halves of the curve (cos^2 = 1 - sin^2, taken as init - range * sin^2,
// which never cancels there). `Wide` is true for float64 results, and for
// rows whose init and end have opposite signs: there the value crosses zero
// and the fitted polynomial's 3e-12 relative error in sin^2, times
// |init - end|, would exceed an ulp of a float32 result near the crossing
// (`decay_from` also takes the exact values of sin^2 there). The
// polynomials, with their error relative to P on z <= (pi/4)^2 (as stored:
// with the coefficients rounded to the type):
//   float, narrow: the Taylor series, 6 terms: coefficient k is
//     (-1)^k 2^(2k+1) / (2k+2)!. Error 1.4e-8 (0.2 float32 ulp; the series
//     alternates with terms falling faster than 10x, so truncating it costs
//     less than the first omitted term, 6.5e-9; rounding the coefficients
//     to float the rest). The Metal shader and float16/bfloat16 results.
//   double, narrow: 6 terms fitted for least maximum relative error with
//     c0 = 1 (Lawson's algorithm: least squares on 4000 Chebyshev points,
//     reweighted by the error until it equioscillates). Error 3.0e-12 (5e-5
//     float32 ulp): float32 results are correctly rounded but for that margin.
//     The Taylor series needs 7 terms for 6.5e-11: one fma more in the per-step
//     loop.
//   double, wide: the Taylor series, 10 terms. Error 9.5e-18 (float64
//     results).
// tests/test_polynomials.py measures each against a 40-digit truth.
// In float, `Wide` changes nothing: 6 terms are already below its rounding.
template <bool Wide>
COSINE_DECAY_INLINE float sin2_polynomial(float z) {
  const float c[6] = {
      1.0f,
      -3.33333343e-1f, // -1/3
      4.44444455e-2f, // 2/45
      -3.17460322e-3f, // -1/315
      1.41093481e-4f, // 2/14175
      -4.27555986e-6f}; // -2/467775
  float p = c[5];
  COSINE_DECAY_UNROLL
  for (int k = 4; k >= 0; --k) {
    p = COSINE_DECAY_FMA(p, z, c[k]);
  }
  return p * z;
}

#ifndef __METAL_VERSION__
template <bool Wide>
COSINE_DECAY_INLINE double sin2_polynomial(double z) {
  constexpr int terms = Wide ? 10 : 6;
  constexpr double taylor[10] = {
      1.0,
      -1.0 / 3,
      2.0 / 45,
      -1.0 / 315,
      2.0 / 14175,
      -2.0 / 467775,
      4.0 / 42567525,
      -1.0 / 638512875,
      2.0 / 97692469875,
      -2.0 / 9280784638125};
  constexpr double fitted[6] = {
      1.0,
      -0.33333333311840918,
      0.044444439607025633,
      -0.0031745675968609605,
      0.00014097871326481238,
      -4.1065462568134604e-06};
  const double* c = Wide ? taylor : fitted;
  double p = c[terms - 1];
  COSINE_DECAY_UNROLL
  for (int k = terms - 2; k >= 0; --k) {
    p = COSINE_DECAY_FMA(p, z, c[k]);
  }
  return p * z;
}
#endif

// The accepted decay_steps: 1 <= D <= 2^62 - 1. All integer arithmetic
// below is then free of overflow: 2D <= 2^63 - 2 fits int64; a clamped step
// a <= D reduced mod 2D has |r| < 2D; a distance q <= D / 2 gives
// 3q <= 1.5 (2^62 - 1) < 2^63; T(D) <= 2^62 converts back to int64 exactly.
// Kernels give NaN where array-valued decay_steps fall outside this range
// (the ops cannot read lazy arrays; Schedule checks them eagerly).
COSINE_DECAY_INLINE bool valid_decay_steps(int64_t d) {
  return d >= 1 && d <= 4611686018427387903; // 2^62 - 1
}

// Everything the formula needs that depends only on (init, end, D).
//   R: the type the step is reduced in (int32_t, int64_t, float or double),
//      wide enough to hold 2 * D exactly.
//   T: the compute type: double on the CPU (correctly rounded float32
//      results), float in the Metal shader (within 4 ulp).
template <typename R, typename T>
struct Params {
  R d;
  R two_d;
  // The distances q where sin^2(pi q / 2D) is rational (Niven's theorem:
  // on [0, pi/4] only at 0, pi/6 and pi/4): 2q = D gives 1/2 and 3q = D
  // gives 1/4, taken exactly so that the value is exactly 0 where init and
  // end make it so. -1 where no distance in R can reach them (integer R and
  // D odd, or D not a multiple of 3).
  R half_q;
  R third_q;
  T scale_hi; // scale_hi + scale_lo = pi / (2 D) to about twice T's precision
  T scale_lo;
  T init;
  T end;
  T range; // init - end
};

// For 1 <= d <= COSINE_DECAY_MAX_DECAY_STEPS (see above).
template <typename R, typename T>
COSINE_DECAY_INLINE Params<R, T> make_params(T init, T end, int64_t d) {
  // pi / (2D) = hi + lo: hi = round(pi / 2D), lo from the exact residual
  // pi - hi * 2D, with D split into d_hi = T(D) and the rest d_lo (exact in
  // int64: d_hi <= 2^62) where D exceeds T.
  T d_hi = static_cast<T>(d);
  T d_lo = static_cast<T>(d - static_cast<int64_t>(d_hi));
  T d2_hi = 2 * d_hi; // exact: scaling by 2
  T d2_lo = 2 * d_lo;
  T hi = pi_hi(T(0)) / d2_hi;
  T residual =
      COSINE_DECAY_FMA(-hi, d2_hi, pi_hi(T(0))) + pi_lo(T(0)) - hi * d2_lo;
  Params<R, T> p;
  p.d = static_cast<R>(d);
  p.two_d = static_cast<R>(2 * d);
  // Floating R serves D <= 2^(digits - 1): D / 2 and D / 3 are exact.
  bool float_r = static_cast<R>(1) / 2 != 0;
  p.half_q = float_r || d % 2 == 0 ? static_cast<R>(d) / 2 : static_cast<R>(-1);
  p.third_q = d % 3 == 0 ? static_cast<R>(d / 3) : static_cast<R>(-1);
  p.scale_hi = hi;
  p.scale_lo = residual / d2_hi;
  p.init = init;
  p.end = end;
  p.range = init - end;
  return p;
}

// The step clamped to D: min(step, D) with the comparison done in the step's
// own type, so no conversion can overflow. R holds every clamped value.
template <typename R, typename In>
COSINE_DECAY_INLINE R clamp_step(In s, R d) {
  if (static_cast<In>(0) < static_cast<In>(-1)) { // unsigned In (and bool)
    In max = static_cast<In>(-1); // D itself where it fits In, else In's max
    In d_in = static_cast<uint64_t>(d) >= static_cast<uint64_t>(max)
        ? max
        : static_cast<In>(d);
    return s > d_in ? d : static_cast<R>(s);
  }
  return static_cast<R>(s) > d ? d : static_cast<R>(s);
}

// A clamped step a <= D mapped to the magnitude m in [0, D] with the same
// value: cos^2(pi a / 2D) is even and 2D-periodic. For a >= -D this is |a|;
// kernels test for that and skip the modulo (`magnitude` below).
template <typename R, typename T>
COSINE_DECAY_INLINE R reduce_period(R a, Params<R, T> p) {
  R r = period_mod(a, p.two_d); // |r| < 2D: negating cannot overflow
  r = r < 0 ? -r : r;
  return r > p.d ? p.two_d - r : r;
}

template <typename R>
COSINE_DECAY_INLINE R magnitude(R a) { // for -D <= a <= D
  return a < 0 ? -a : a;
}

// Does the fast path (`magnitude`) hold for this clamped step?
template <typename R, typename T>
COSINE_DECAY_INLINE bool in_first_period(R a, Params<R, T> p) {
  return a >= -p.d;
}

// x = q * pi / 2D: in float with the two-part scale; in double the rounded
// scale alone is 1e-16 relative, plenty for the float32 results it serves.
template <typename R>
COSINE_DECAY_INLINE float angle(float q, Params<R, float> p) {
  return COSINE_DECAY_FMA(q, p.scale_hi, q * p.scale_lo);
}
#ifndef __METAL_VERSION__
template <typename R>
COSINE_DECAY_INLINE double angle(double q, Params<R, double> p) {
  return q * p.scale_hi;
}
#endif

// The value at the exact distance q <= D / 2 from the nearer end of the
// decay: the angle x = pi q / 2D lies in [0, pi/4], and the value is
// init - range * sin^2(x) near step 0, end + range * sin^2(x) near D.
// `half` and `third`: q = D/2 or D/3, where sin^2 is exactly 1/2 or 1/4;
// taken exactly when `Wide` (float64 results and zero-crossing rows: only
// there can the value be exactly 0; elsewhere the polynomial's value is as
// good, and the loop keeps its cost). `Wide` also selects the 10-term
// series in double (see sin2_polynomial).
template <bool Wide, typename R, typename T>
COSINE_DECAY_INLINE T
decay_from(T q, bool near_end, bool half, bool third, Params<R, T> p) {
  T x = angle(q, p);
  T s2 = sin2_polynomial<Wide>(x * x);
  if (Wide) {
    s2 = half ? T(0.5) : s2;
    s2 = third ? T(0.25) : s2;
  }
  return COSINE_DECAY_FMA(
      near_end ? p.range : -p.range, s2, near_end ? p.end : p.init);
}

// The value at a step whose magnitude m lies in [0, D]: the distance to the
// nearer of 0 and D is exact in R.
template <bool Wide, typename R, typename T>
COSINE_DECAY_INLINE T decay_at(R m, Params<R, T> p) {
  // q as a min, not a select: a select here gets sunk past the polynomial by
  // GCC, which then evaluates it twice.
  R rest = p.d - m;
  bool near_end = rest < m;
  R q = COSINE_DECAY_MIN(m, rest);
  return decay_from<Wide>(
      static_cast<T>(q),
      near_end,
      Wide && q == p.half_q,
      Wide && q == p.third_q,
      p);
}

#ifndef __METAL_VERSION__ // double: the CPU and CUDA (frexp, ldexp and floor
                          // are exact in both, so both reduce alike)
// |s| mod m for an integer-valued float |s| >= 2^63 and 0 < m < 2^63,
// exactly: |s| = M 2^k with M < 2^digits; 2^k mod m by doubling, then
// M (2^k mod m) mod m by double-and-add (every sum stays below 2^64).
template <typename F>
COSINE_DECAY_INLINE uint64_t huge_mod(F s, uint64_t m) {
  constexpr int digits = sizeof(F) == 8 ? 53 : 24;
  int e = 0;
  F f = COSINE_DECAY_FREXP(s < 0 ? -s : s, &e); // |s| = f 2^e, 1/2 <= f < 1
  uint64_t mant = static_cast<uint64_t>(COSINE_DECAY_LDEXP(f, digits));
  uint64_t pow2 = 1 % m;
  for (int k = e - digits; k > 0; --k) {
    pow2 = pow2 * 2 % m;
  }
  uint64_t r = 0;
  for (int b = digits - 1; b >= 0; --b) {
    r = r * 2 % m;
    if ((mant >> b) & 1) {
      r += pow2;
      r = r >= m ? r - m : r;
    }
  }
  return r;
}

// The value at a floating step s when D > 2^53, where D and 2D are not
// doubles: reduced exactly in int64. A step with |s| >= 2^52 is an integer;
// a non-integer step has |s| < 2^52 < D / 2, so its distance q = |s| needs
// no reduction (and is exact). Infinite steps: +inf clamps to D, -inf is NaN.
template <bool Wide, typename T>
COSINE_DECAY_INLINE T decay_at_float_step(double s, Params<int64_t, T> p) {
  const double two_63 = 9223372036854775808.0;
  double mag = s < 0 ? -s : s;
  if (s != s || s < -1.7976931348623157e308) { // NaN, -inf
    return static_cast<T>(COSINE_DECAY_QUIET_NAN);
  }
  if (mag < 4503599627370496.0 && mag != COSINE_DECAY_FLOOR(mag)) { // < 2^52
    return decay_from<Wide>(static_cast<T>(mag), false, false, false, p);
  }
  int64_t m;
  if (s >= two_63) {
    m = p.d;
  } else if (s > -two_63) {
    int64_t a = static_cast<int64_t>(s);
    a = a > p.d ? p.d : a;
    m = in_first_period(a, p) ? magnitude(a) : reduce_period(a, p);
  } else {
    uint64_t two_d = static_cast<uint64_t>(p.two_d);
    int64_t r = static_cast<int64_t>(huge_mod(s, two_d)); // in [0, 2D)
    m = r > p.d ? p.two_d - r : r;
  }
  return decay_at<Wide>(m, p);
}
#endif

// The curve's shape t: its values for init = -0, end = +0 and a range of 1,
// that is -sin^2 near step 0 and +sin^2 near D (the sign of a zero keeps the
// side). Rows that differ only in init and end share it: `from_shape` gives
// each of their values with one fma, rounded exactly as `decay_from`.
template <typename R, typename T>
COSINE_DECAY_INLINE Params<R, T> shape_params(Params<R, T> p) {
  p.init = -T(0);
  p.end = T(0);
  p.range = T(1);
  return p;
}

// The sign bit of t (set for -0). On the CPU an integer test, which
// compilers vectorize; std::signbit they do not.
template <typename T>
COSINE_DECAY_INLINE bool sign_bit(T t) {
#ifdef __METAL_VERSION__
  return metal::signbit(t);
#elif defined(__CUDACC_RTC__)
  return ::signbit(t);
#else
  using I = std::conditional_t<sizeof(T) == 8, int64_t, int32_t>;
  I bits;
  std::memcpy(&bits, &t, sizeof(T));
  return bits < 0;
#endif
}

template <typename T>
COSINE_DECAY_INLINE T from_shape(T t, T init, T end) {
  return COSINE_DECAY_FMA(init - end, t, sign_bit(t) ? init : end);
}

} // namespace cosine_decay_math
