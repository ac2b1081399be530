// Copyright © 2026 mlx-cosine-decay authors.
//
// The cosine-decay formula, defined once. This header compiles as C++ (the
// CPU kernels, the tests) and as Metal (it is embedded into the shader
// source), so it uses no library beyond fma/fmod and no references.
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

// Every function here is inlined: the CPU kernels vectorize only loops
// without calls.
#ifdef __METAL_VERSION__
#define COSINE_DECAY_INLINE inline
#define COSINE_DECAY_FMA metal::fma
#define COSINE_DECAY_FMOD metal::fmod
#else
#define COSINE_DECAY_INLINE inline __attribute__((always_inline))
#include <cmath>
#include <cstdint>
#include <type_traits>
#define COSINE_DECAY_FMA std::fma
#define COSINE_DECAY_FMOD std::fmod
#endif

namespace cosine_decay_math {

#ifdef __METAL_VERSION__
typedef long int64_t;
typedef ulong uint64_t;
typedef uint uint32_t;
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

// sin and cos on [-pi/4, pi/4]. Coefficients: Cephes Math Library, S. L.
// Moshier, sinf.c / cosf.c (float, ~1 ulp) and sin.c (double, ~1 ulp).
// Evaluated with explicit fma so every backend rounds the same way.
COSINE_DECAY_INLINE float sin_poly(float x) {
  float z = x * x;
  float p = COSINE_DECAY_FMA(-1.9515295891e-4f, z, 8.3321608736e-3f);
  p = COSINE_DECAY_FMA(p, z, -1.6666654611e-1f);
  return COSINE_DECAY_FMA(p * z, x, x);
}

COSINE_DECAY_INLINE float cos_poly(float x) {
  float z = x * x;
  float p = COSINE_DECAY_FMA(2.443315711809948e-5f, z, -1.388731625493765e-3f);
  p = COSINE_DECAY_FMA(p, z, 4.166664568298827e-2f);
  return COSINE_DECAY_FMA(p * z, z, COSINE_DECAY_FMA(-0.5f, z, 1.0f));
}

#ifndef __METAL_VERSION__
COSINE_DECAY_INLINE double sin_poly(double x) {
  double z = x * x;
  double p = COSINE_DECAY_FMA(1.58962301576546568060e-10, z, -2.50507477628578072866e-8);
  p = COSINE_DECAY_FMA(p, z, 2.75573136213857245213e-6);
  p = COSINE_DECAY_FMA(p, z, -1.98412698295895385996e-4);
  p = COSINE_DECAY_FMA(p, z, 8.33333333332211858878e-3);
  p = COSINE_DECAY_FMA(p, z, -1.66666666666666307295e-1);
  return COSINE_DECAY_FMA(p * z, x, x);
}

COSINE_DECAY_INLINE double cos_poly(double x) {
  double z = x * x;
  double p = COSINE_DECAY_FMA(-1.13585365213876817300e-11, z, 2.08757008419747316778e-9);
  p = COSINE_DECAY_FMA(p, z, -2.75573141792967388112e-7);
  p = COSINE_DECAY_FMA(p, z, 2.48015872888517045348e-5);
  p = COSINE_DECAY_FMA(p, z, -1.38888888888730564116e-3);
  p = COSINE_DECAY_FMA(p, z, 4.16666666666665929218e-2);
  return COSINE_DECAY_FMA(p * z, z, COSINE_DECAY_FMA(-0.5, z, 1.0));
}
#endif

// Everything the formula needs that depends only on (init, end, D).
//   R: the type the step is reduced in (int32_t, int64_t, float or double),
//      wide enough to hold 2 * D exactly.
//   T: the compute type: double on the CPU (correctly rounded float32
//      results), float in the Metal shader (within 4 ulp).
template <typename R, typename T>
struct Params {
  R d;
  R two_d;
  T scale_hi; // scale_hi + scale_lo = pi / (2 D) to about twice T's precision
  T scale_lo;
  T range; // init - end
  T end;
};

template <typename R, typename T>
COSINE_DECAY_INLINE Params<R, T> make_params(T init, T end, int64_t d) {
  // pi / (2D) = hi + lo: hi = round(pi / 2D), lo from the exact residual
  // pi - hi * 2D, with 2D split into hi and lo parts when it exceeds T.
  T d2_hi = static_cast<T>(2 * d);
  T d2_lo = static_cast<T>(2 * d - static_cast<int64_t>(d2_hi));
  T hi = pi_hi(T(0)) / d2_hi;
  T residual =
      COSINE_DECAY_FMA(-hi, d2_hi, pi_hi(T(0))) + pi_lo(T(0)) - hi * d2_lo;
  Params<R, T> p;
  p.d = static_cast<R>(d);
  p.two_d = static_cast<R>(2 * d);
  p.scale_hi = hi;
  p.scale_lo = residual / d2_hi;
  p.range = init - end;
  p.end = end;
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

// The value at a step whose magnitude m lies in [0, D]: take the distance to
// the nearer of 0 and D, which is exact in R, and pick cos^2 or sin^2.
template <typename R, typename T>
COSINE_DECAY_INLINE T decay_at(R m, Params<R, T> p) {
  bool near_end = m > p.d - m;
  T q = static_cast<T>(near_end ? p.d - m : m);
  T x = COSINE_DECAY_FMA(q, p.scale_hi, q * p.scale_lo);
  T v = near_end ? sin_poly(x) : cos_poly(x);
  return COSINE_DECAY_FMA(p.range, v * v, p.end);
}

} // namespace cosine_decay_math
