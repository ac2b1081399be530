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
#define COSINE_FAMILY_POW metal::precise::pow
#define COSINE_FAMILY_LOG metal::precise::log
#define COSINE_FAMILY_FLOOR metal::floor
#define COSINE_FAMILY_ISNAN metal::isnan
#define COSINE_FAMILY_NAN(T) T(NAN)
#define COSINE_FAMILY_SIN metal::precise::sin
#define COSINE_FAMILY_COS metal::precise::cos
#elif defined(__CUDACC_RTC__) // NVRTC: CUDA's math functions, no <cmath>
#define COSINE_FAMILY_POW ::pow
#define COSINE_FAMILY_LOG ::log
#define COSINE_FAMILY_FLOOR ::floor
#define COSINE_FAMILY_ISNAN(x) ((x) != (x))
#define COSINE_FAMILY_NAN(T) T(__int_as_float(0x7fc00000))
#define COSINE_FAMILY_SIN ::sin
#define COSINE_FAMILY_COS ::cos
#else
#define COSINE_FAMILY_POW std::pow
#define COSINE_FAMILY_LOG std::log
#define COSINE_FAMILY_FLOOR std::floor
#define COSINE_FAMILY_ISNAN std::isnan
#define COSINE_FAMILY_NAN(T) T(NAN)
#define COSINE_FAMILY_SIN std::sin
#define COSINE_FAMILY_COS std::cos
#endif

namespace cosine_decay_math {

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

// The decay fraction d in [0, 1] from the curve's shape t (`shape_params`,
// -sin^2 near step 0, +sin^2 near D): 1 - sin^2 near 0 (>= 1/2, rounded
// once), sin^2 itself near D (full relative accuracy, which d ** p keeps).
template <typename T>
COSINE_DECAY_INLINE T fraction_from_shape(T t) {
  return sign_bit(t) ? T(1) + t : t;
}

// end + (init - end) * d ** p. With p == 1 callers use decay_at directly
// (that path is cosine_decay's, bit for bit); this one is the general case.
template <typename T>
COSINE_DECAY_INLINE T powered(T d, T p, T init, T end) {
  return COSINE_DECAY_FMA(init - end, COSINE_FAMILY_POW(d, p), end);
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
  T dp = p == T(1) ? T(1) : COSINE_FAMILY_POW(c * c, p - T(1));
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
  r.log_t_mul = t_mul == T(1) ? T(0) : COSINE_FAMILY_LOG(t_mul);
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
// With an integer t and S_i, F t^i below 2^53 every operation is exact
// (pow is exact where its result is representable: glibc's error is below
// 0.52 ulp), so the boundaries are the true integers; so they are for t a
// short binary fraction (1.5, 1.25, 0.5, ...) while t^i needs few bits.
template <typename T>
COSINE_DECAY_INLINE T period_start(T i, Restarts<T> r) {
  if (r.t_mul == T(1)) {
    return r.first * i;
  }
  return r.first * (COSINE_FAMILY_POW(r.t_mul, i) - T(1)) / (r.t_mul - T(1));
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
};

// No period: an empty range (start > next), so callers that reuse the last
// period for the next step never take a step to lie in it.
template <typename T>
COSINE_DECAY_INLINE Period<T> no_period() {
  Period<T> p;
  p.index = COSINE_FAMILY_NAN(T);
  p.start = T(1);
  p.next = T(0);
  p.scale = T(0);
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
    i = x > T(0) ? COSINE_FAMILY_FLOOR(COSINE_FAMILY_LOG(x) / r.log_t_mul)
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
  p.scale = i == T(0) ? T(1) : COSINE_FAMILY_POW(r.m_mul, i);
  return p;
}

// The value at step s (s >= 0, not NaN) in period p: the decay of period i
// with init_i = end + (init - end) m^i over its length T_i = S_{i+1} - S_i,
// evaluated by `decay_from` at the exact distance to the nearer end of the
// period: s - S_i and S_{i+1} - s are exact when the boundaries are integers
// below 2^53 and s is an integer or a float below 2^53 (Sterbenz: each is
// taken where it is the smaller one, at most half the period, and then s is
// at least half the subtracted boundary), else rounded once.
template <bool Wide, typename T>
COSINE_DECAY_INLINE T restart_value(T s, Period<T> p, Restarts<T> r) {
  T length = p.next - p.start;
  T from_start = s - p.start;
  T to_next = p.next - s;
  bool near_end = to_next < from_start;
  T q = near_end ? to_next : from_start;
  T range = r.range * p.scale;
  // The period's Params: only the scale pi / (2 T_i) and the end points are
  // read by decay_from (the CPU path takes pi / 2T rounded once).
  Params<T, T> params;
  params.d = length;
  params.two_d = T(2) * length;
  params.scale_hi = pi_hi(T(0)) / params.two_d;
  params.scale_lo =
      (COSINE_DECAY_FMA(-params.scale_hi, params.two_d, pi_hi(T(0))) +
       pi_lo(T(0))) /
      params.two_d;
  params.range = range;
  params.end = r.end;
  params.init = r.end + range;
  // Exact sin^2 of 1/2 and 1/4 where the period's distances are exact.
  return decay_from<Wide>(
      q,
      near_end,
      Wide && T(2) * q == length,
      Wide && T(3) * q == length,
      params);
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
