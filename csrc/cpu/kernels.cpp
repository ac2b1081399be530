// Copyright © 2026 mlx-cosine-decay authors.
//
// The CPU kernels. This file is compiled twice per instruction set (CMake
// defines COSINE_DECAY_ISA, COSINE_DECAY_PART and the target flags); isa.cpp
// picks the instruction set at run time. Three layers: the kernels on raw
// pointers (`decay_row` for any steps, with or without a warmup,
// `generated_row` for consecutive ones; `restarts_row` and `slope_row` for the
// rest of the family), `run_range` walking the rows of an N-d job (each from
// its steps, or groups of rows that share a curve from its shape), `dispatch`
// switching on dtypes once per call.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "core/cosine_decay_math.h"
#include "core/cosine_family_math.h"
#include "cpu/job.h"
#include "mlx/dtype_utils.h"
#include "mlx/types/bf16.h"
#include "mlx/types/fp16.h"

#ifndef COSINE_DECAY_ISA
#error "COSINE_DECAY_ISA must name the instruction set this file is built for"
#endif
// Each instruction set's kernels are compiled in two parts, one file each, so
// that a build compiles more, smaller files side by side: part 0 has
// `dispatch` and the kernels of half the step types (`part_of`), part 1
// those of the others (`dispatch_part1`).
#if !defined(COSINE_DECAY_PART) || \
    (COSINE_DECAY_PART != 0 && COSINE_DECAY_PART != 1)
#error "COSINE_DECAY_PART must be 0 or 1: which half of the kernels to build"
#endif

namespace mlx_cosine_decay::cpu::COSINE_DECAY_ISA {

namespace math = cosine_decay_math;
using cosine_decay_core::Kind;
using cosine_decay_core::Output;
using mlx::core::bfloat16_t;
using mlx::core::float16_t;

// Where a row's steps come from: contiguous memory (strided steps are
// gathered into it, see steps_row) or the arithmetic sequence start,
// start + stride, ... (no step array at all).
template <typename In>
struct Loaded {
  const In* ptr;
  In operator[](int64_t i) const {
    return ptr[i];
  }
};

// The step "type" of jobs whose steps are generated.
struct GeneratedSteps {};

template <typename I, bool Unit>
struct Generated {
  I start;
  I stride;
  I operator[](int64_t i) const {
    return start + static_cast<I>(i) * (Unit ? I{1} : stride);
  }
};

// The steps of `decay_row` and `restarts_row` are computed in blocks of this
// many (a block's scratch arrays stay in the L1 cache).
constexpr int64_t block_size = 1024;

// Half-precision steps are widened to float before any arithmetic.
template <typename In>
inline auto widen(In x) {
  if constexpr (
      std::is_same_v<In, float16_t> || std::is_same_v<In, bfloat16_t>) {
    return static_cast<float>(x);
  } else {
    return x;
  }
}

// The job's result type fixes the compute type: float32 and float64 results
// are computed in double and rounded once (float32 correctly rounded but for
// 5e-5 ulp); float16/bfloat16 results in float32, whose few-ulp error is far
// below a half-precision ulp, and rounded once. float64 results need the
// longer polynomial (`Wide`, see sin2_polynomial).
template <typename Result>
using Compute = std::conditional_t<
    std::is_same_v<Result, float16_t> || std::is_same_v<Result, bfloat16_t>,
    float,
    double>;

template <typename Result>
constexpr bool wide = std::is_same_v<Result, double>;

// Array-valued init and end arrive in the compute precision of narrow
// results (float for float16/bfloat16), else in the result type: a number
// paired with array decay_steps is then the same float as in a scalar node.
template <typename Result>
using Param = std::conditional_t<
    std::is_same_v<Result, float16_t> || std::is_same_v<Result, bfloat16_t>,
    float,
    Result>;

// The value of a decaying step at its magnitude m in [0, D] (what
// `decay_row` computes per step): cosine_decay's, or its
// decay fraction to a power.
template <bool Wide, typename R, typename T>
struct PlainDecay {
  math::Params<R, T> p;
  T operator()(R m) const {
    return math::decay_at<Wide>(m, p);
  }
};

// `decay_row` runs it in passes over a block (`power`): the fraction d in
// double (exact: float's widens), d ** p in place, then the value; each
// loop's dependency chain is shorter, and the passes ran 1.4x faster than
// the value per step. The same operations as powered_decay_at, bit for bit:
// p log d, then exp; or for multiples of 1/2 (math::halves_of) the rounds of
// power_by_integer that change the result, and the root.
template <bool Wide, typename R, typename T>
struct PoweredDecay {
  math::Params<R, T> p;
  T exponent;
  int32_t halves = math::halves_of(exponent);
  T operator()(R m) const {
    return math::powered_decay_at<Wide>(m, p, exponent);
  }
  double fraction(R m) const {
    return math::decay_at<Wide>(m, math::fraction_params(p));
  }
  void power(double* __restrict d, int64_t m) const {
    double e = exponent;
    if (halves == 0) {
      for (int64_t i = 0; i < m; ++i) {
        d[i] = math::log_for_pow(d[i], e);
      }
      for (int64_t i = 0; i < m; ++i) {
        d[i] = math::pow_from_log(d[i], e);
      }
      return;
    }
    int32_t n = halves >> 1;
    bool half = (halves & 1) != 0;
    if (n == 0) {
      for (int64_t i = 0; i < m; ++i) {
        d[i] = COSINE_FAMILY_SQRT(d[i]);
      }
      return;
    }
    int32_t top = math::highest_bit(n);
    // A copy of d where the products or the root read it after a squaring
    // (n with two set bits or more, or n > 1 and a half).
    bool keep = (n & (n - 1)) != 0 || (half && n > 1);
    double base[block_size];
    if (keep) {
      std::copy_n(d, m, base);
    }
    for (int32_t bit = top - 1; bit >= 0; --bit) {
      if ((n >> bit) & 1) { // then keep
        for (int64_t i = 0; i < m; ++i) {
          double r = d[i] * d[i];
          d[i] = r * base[i];
        }
      } else {
        for (int64_t i = 0; i < m; ++i) {
          d[i] = d[i] * d[i];
        }
      }
    }
    if (half && keep) {
      for (int64_t i = 0; i < m; ++i) {
        d[i] = d[i] * COSINE_FAMILY_SQRT(base[i]);
      }
    } else if (half) { // n == 1: d^1.5
      for (int64_t i = 0; i < m; ++i) {
        d[i] = d[i] * COSINE_FAMILY_SQRT(d[i]);
      }
    }
  }
  T value(double d_to_p) const {
    return math::powered_value(static_cast<T>(d_to_p), p.init, p.end);
  }
};

// Exponent 2: power_by_integer's one product, d * d, in the per-step loop
// itself, so that one pass computes and stores each value. The passes of
// PoweredDecay, with the stores in a loop of their own, ran 1.3x slower than
// this at 1e7 steps: the fresh output's stores stall without work to overlap
// them. The other exponents keep the passes: three rounds of masked products
// in this loop (every n up to 8) ran no faster than them, their dependency
// chain being as long.
template <bool Wide, typename R, typename T>
struct SquaredDecay {
  math::Params<R, T> p;
  T operator()(R m) const {
    double d = math::decay_at<Wide>(m, math::fraction_params(p));
    return math::powered_value(static_cast<T>(d * d), p.init, p.end);
  }
};

template <typename At>
constexpr bool staged() {
  return requires(const At& at, double* d) { at.power(d, int64_t{0}); };
}

template <bool Wide, typename R, typename T>
PlainDecay<Wide, R, T> plain_decay(math::Params<R, T> p) {
  return {p};
}

// The linear warmup in front of a decay (`decay_row`); NoRamp: none
// (cosine_decay itself, or the exponent alone).
template <typename R, typename T>
struct Ramp {
  math::Warmup<T> values;
  R steps; // W >= 1
};

struct NoRamp {};

// The kernel: n outputs from n steps with one set of parameters, in blocks.
// Each block is computed in one branch-free pass that the compiler vectorizes
// and that also finds the block's lowest step; the steps that pass does not
// compute make the block be corrected, per step, from a copy of its steps
// (`out` may be the step buffer itself: donation, safe for the one pass since
// each element is read before it is written). Without a ramp, the pass takes
// the magnitude of the clamped step and the correction reduces steps below
// -D (rare: the period reduction). With a ramp of W steps, the pass computes
// the decay at the exact steps max(c, W) - W (c: the step clamped to W + D in
// its own type, `after_warmup`), so past the ramp the values are the decay's
// at s - W bit for bit, and the correction computes the ramp's steps.
template <
    typename R,
    typename T,
    typename Out,
    typename Src,
    typename At,
    typename Warmup = NoRamp>
void decay_row(
    Src src,
    Out* __restrict out,
    int64_t n,
    math::Params<R, T> p,
    At at,
    Warmup ramp = {}) {
  constexpr bool warm = !std::is_same_v<Warmup, NoRamp>;
  constexpr int64_t block = block_size;
  R steps[block];
  R w = 0;
  R top = p.d;
  if constexpr (warm) {
    w = ramp.steps;
    top = w + p.d;
  }
  // The step clamped (into `steps`) and the magnitude the pass computes at.
  auto magnitude_at = [&](int64_t i, R* steps) {
    R a, m_fast;
    if constexpr (warm) {
      auto aw = math::after_warmup<R>(widen(src[i]), w, top);
      a = aw.step;
      m_fast = aw.decay_step;
    } else {
      a = math::clamp_step<R>(widen(src[i]), p.d);
      m_fast = math::magnitude(std::max(a, static_cast<R>(-p.d)));
    }
    *steps = a;
    return m_fast;
  };
  for (int64_t i0 = 0; i0 < n; i0 += block) {
    int64_t m = std::min(block, n - i0);
    R lowest = top;
    if constexpr (staged<At>()) {
      double part[block];
      for (int64_t i = 0; i < m; ++i) {
        part[i] = at.fraction(magnitude_at(i0 + i, steps + i));
        lowest = std::min(lowest, steps[i]); // NaN steps are not the lowest
      }
      at.power(part, m);
      for (int64_t i = 0; i < m; ++i) {
        out[i0 + i] = static_cast<Out>(at.value(part[i]));
      }
    } else {
      for (int64_t i = 0; i < m; ++i) {
        R m_fast = magnitude_at(i0 + i, steps + i);
        lowest = std::min(lowest, steps[i]); // NaN steps are not the lowest
        out[i0 + i] = static_cast<Out>(at(m_fast));
      }
    }
    if constexpr (warm) {
      if (lowest < w) {
        for (int64_t i = 0; i < m; ++i) {
          if (steps[i] < w) {
            out[i0 + i] = static_cast<Out>(
                math::warmup_value(static_cast<T>(steps[i]), ramp.values));
          }
        }
      }
    } else if (!math::in_first_period(lowest, p)) {
      for (int64_t i = 0; i < m; ++i) {
        out[i0 + i] = static_cast<Out>(at(math::reduce_period(steps[i], p)));
      }
    }
  }
}

// n values at the distances q0, q0 + dq, q0 + 2 dq, ... (dq = +-1, every q
// exact in T) on one side of the curve: `decay_from` with its selects fixed
// for the whole run, so the loop is the polynomial and nothing else.
template <bool Wide, typename R, typename T, typename Out>
void decay_run(
    T q0,
    T dq,
    bool near_end,
    Out* __restrict out,
    int64_t n,
    math::Params<R, T> p) {
  // An int32 counter: it converts to T in SIMD (int64 does not on AVX2; a
  // T counter stepped by += is not vectorized without -ffast-math).
  constexpr int64_t block = int64_t{1} << 30;
  T half_q = static_cast<T>(p.half_q); // exact, as every q
  T third_q = static_cast<T>(p.third_q);
  for (int64_t j0 = 0; j0 < n; j0 += block) {
    T q = q0 + dq * static_cast<T>(j0);
    int32_t m = static_cast<int32_t>(std::min(block, n - j0));
    for (int32_t j = 0; j < m; ++j) {
      T qj = q + dq * static_cast<T>(j);
      out[j0 + j] = static_cast<Out>(math::decay_from<Wide>(
          qj, near_end, Wide && qj == half_q, Wide && qj == third_q, p));
    }
  }
}

// The steps first, first + 1, ..., first + n - 1 (values()): the row splits
// into at most six runs by which branch of the formula holds, each an
// arithmetic sequence of distances q, so no step is clamped, reduced or
// compared. The values are bit for bit those of `decay_row` (same q, same
// `decay_from`). Needs D <= 2^digits(T), so that every q is exact in T.
template <bool Wide, typename T, typename Out>
void generated_row(
    int64_t first,
    Out* out,
    int64_t n,
    math::Params<int64_t, T> p) {
  int64_t d = p.d;
  int64_t h = d / 2; // steps with 2|s| > D are nearer the end
  int64_t last = first + (n - 1);
  // Steps [lo, hi] of the row, with q = c + sign * s.
  auto run = [&](int64_t lo, int64_t hi, int64_t c, int sign, bool near_end) {
    lo = std::max(lo, first);
    hi = std::min(hi, last);
    if (lo <= hi) {
      decay_run<Wide>(
          T(c + sign * lo),
          T(sign),
          near_end,
          out + (lo - first),
          hi - lo + 1,
          p);
    }
  };
  if (first < -d) { // below one period: the general kernel reduces them
    int64_t m = std::min(last, -d - 1) - first + 1;
    decay_row(
        Generated<int64_t, true>{first, 1}, out, m, p, plain_decay<Wide>(p));
  }
  run(-d, -h - 1, d, 1, true);
  run(-h, -1, 0, -1, false);
  run(0, h, 0, 1, false);
  run(h + 1, d, d, -1, true);
  if (last > d) { // clamped to D: the value at D, which is end
    int64_t lo = std::max(first, d + 1);
    auto value = math::decay_from<Wide>(T(0), true, false, false, p);
    std::fill_n(out + (lo - first), last - lo + 1, static_cast<Out>(value));
  }
}

// One row's parameters. `shape` asks for the curve's shape instead of its
// values (math::shape_params), stored in the compute type.
struct Curve {
  double init;
  double end;
  int64_t d;
  bool shape;
  bool crosses_zero; // init and end of opposite signs (a shape: its rows')
  // The family member (null: cosine_decay itself; never with `shape`).
  const cosine_decay_core::FamilyParams<double>* family = nullptr;
};

inline bool crosses_zero(double init, double end) {
  return (init < 0 && end > 0) || (init > 0 && end < 0);
}

template <typename Result, typename R>
math::Params<R, Compute<Result>> params_of(const Curve& c) {
  using T = Compute<Result>;
  auto p = math::make_params<R, T>(T(c.init), T(c.end), c.d);
  return c.shape ? math::shape_params(p) : p;
}

// ---- The family: warmup + decay (exponent), warm restarts, step slopes ----

// Warm restarts in double, in blocks as `decay_row`: one branch-free pass
// computes every step of the block in the period of the step before it (the
// common case: consecutive steps) and keeps the least distance to that
// period's ends; unless it is positive, some step lies outside the period (or
// on its first step), and the block is computed again per step, each in its
// own period (math::restart_period, reused while the steps stay in it). A
// step's period is the same whichever way it is found (the boundaries are one
// function of the index, never decreasing), and so are its value's bits.
template <bool Wide, typename Out, typename Src>
void restarts_row(
    Src src,
    Out* __restrict out,
    int64_t n,
    math::Restarts<double> r) {
  constexpr int64_t block = block_size;
  // The block's steps, kept: `out` may be the step buffer (donated).
  double steps[block];
  math::Period<double> period = math::no_period<double>();
  for (int64_t i0 = 0; i0 < n; i0 += block) {
    int64_t m = std::min(block, n - i0);
    // The distance's bits as an integer (integer min vectorizes; a floating
    // one does not): negative where a step lies before the period's first
    // step or at or after the next one's (a negative argument of
    // nonnegative_min gives a negative result), 0 on its first step. A NaN
    // step's distance is NaN, and so is its value, either way.
    int64_t nearest = std::numeric_limits<int64_t>::max();
    for (int64_t i = 0; i < m; ++i) {
      double s = static_cast<double>(widen(src[i0 + i]));
      s = s <= 0 ? 0.0 : s; // step 0's value (and +0 for -0); NaN stays NaN
      steps[i] = s;
      double q = math::nonnegative_min(s - period.start, period.next - s);
      nearest = std::min(nearest, static_cast<int64_t>(math::bits_of(q)));
      out[i0 + i] = static_cast<Out>(math::restart_value<Wide>(s, period, r));
    }
    if (nearest <= 0) {
      for (int64_t i = 0; i < m; ++i) {
        double s = steps[i];
        if (!(period.start <= s && s < period.next)) {
          period = math::restart_period(s, r);
        }
        out[i0 + i] = static_cast<Out>(
            std::isnan(period.index) ? NAN
                                     : math::restart_value<Wide>(s, period, r));
      }
    }
  }
}

// d value / d step of the family (Output::StepSlope, for the transforms),
// per step in double.
template <typename Out, typename Src>
void slope_row(Src src, Out* out, int64_t n, const Curve& c) {
  const auto& f = *c.family;
  if (f.kind == Kind::Restarts) {
    auto r = math::make_restarts<double>(c.init, c.end, c.d, f.t_mul, f.m_mul);
    auto period = math::no_period<double>();
    for (int64_t i = 0; i < n; ++i) {
      double s = static_cast<double>(widen(src[i]));
      if (s < 0) { // the value is step 0's: flat
        out[i] = static_cast<Out>(0.0);
        continue;
      }
      if (!(period.start <= s && s < period.next)) {
        period = math::restart_period(s, r);
      }
      out[i] = static_cast<Out>(
          std::isnan(period.index) ? NAN : math::restart_slope(s, period, r));
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<Out>(math::warmup_decay_slope<double>(
        static_cast<double>(widen(src[i])),
        static_cast<double>(f.warmup_steps),
        static_cast<double>(c.d),
        c.init,
        c.end,
        f.warmup_init,
        f.exponent));
  }
}

// `Wide` kernels (math::decay_from) for float64 results and where the value
// crosses zero (init and end of opposite signs): the 10-term series in
// double, where the 6-term fit's error relative to |init - end| would be
// more than an ulp of the result near the crossing, and sin^2 exactly 1/2
// and 1/4 at q = D/2, D/3, where the value can be exactly 0. Elsewhere the
// fit and no such tests: the loop of the common case stays as short.
// Calls f(std::bool_constant<Wide>{}) with the series this row needs.
template <typename Result, typename F>
void with_series(const Curve& c, F f) {
  if constexpr (wide<Result>) {
    f(std::true_type{});
  } else if (c.crosses_zero) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// One row of a family member: the reduction type R as `row` chooses it,
// wide enough for W + 2D too.
template <typename In, typename Result, typename Out, typename Src>
void family_row(Src src, Out* out, int64_t n, const Curve& c) {
  const auto& f = *c.family;
  constexpr bool Wide = wide<Result>;
  if (f.output == Output::StepSlope) {
    return slope_row(src, out, n, c);
  }
  if (f.kind == Kind::Restarts) {
    return restarts_row<Wide>(
        src,
        out,
        n,
        math::make_restarts<double>(c.init, c.end, c.d, f.t_mul, f.m_mul));
  }
  using T = Compute<Result>;
  int64_t w = f.warmup_steps;
  auto ramp = math::make_warmup<T>(T(f.warmup_init), T(c.init), w);
  auto run = [&](auto r) {
    using R = decltype(r);
    auto p = params_of<Result, R>(c);
    auto with_ramp = [&](auto at) {
      if (w > 0) {
        decay_row(src, out, n, p, at, Ramp<R, T>{ramp, static_cast<R>(w)});
      } else {
        decay_row(src, out, n, p, at);
      }
    };
    if (f.exponent == 1.0) { // then W > 0 (else the kind is Cosine)
      // cosine_decay's series (with_series), so that past the ramp the
      // values are its own at s - W, also where init and end cross zero.
      with_series<Result>(c, [&](auto wide_series) {
        with_ramp(plain_decay<decltype(wide_series)::value>(p));
      });
    } else if (f.exponent == 2.0) {
      with_ramp(SquaredDecay<Wide, R, T>{p});
    } else {
      with_ramp(PoweredDecay<Wide, R, T>{p, T(f.exponent)});
    }
  };
  constexpr bool is_float = std::is_floating_point_v<In> ||
      std::is_same_v<In, float16_t> || std::is_same_v<In, bfloat16_t>;
  // W < 2^53 and D < 2^62, so W + D and 2D fit int64; narrower types where
  // W + 2D fits them (float: exactly, W + 2D <= 2^24).
  bool narrow = c.d <= (int64_t{1} << 23) && w <= (int64_t{1} << 24) - 2 * c.d;
  if constexpr (std::is_same_v<In, double>) {
    run(double{});
  } else if constexpr (is_float) {
    narrow ? run(float{}) : run(double{});
  } else if constexpr (sizeof(In) == 8) {
    run(int64_t{});
  } else {
    bool fits = c.d <= INT32_MAX / 2 && w <= INT32_MAX - 2 * c.d;
    fits ? run(int32_t{}) : run(int64_t{});
  }
}

// One row: chooses the reduction type R (exact for 2D and every clamped
// step) and runs the kernel. `Result` is the job's output type; `Out` is what
// is stored: Result, or Compute<Result> for a shape.
template <typename In, typename Result, typename Out, typename Src>
void row(Src src, Out* out, int64_t n, const Curve& c) {
  if (!math::valid_decay_steps(c.d)) { // array-valued decay_steps only
    std::fill_n(out, n, static_cast<Out>(NAN));
    return;
  }
  if (c.family && c.family->kind != Kind::Cosine) {
    return family_row<In, Result>(src, out, n, c);
  }
  auto run = [&](auto r) {
    with_series<Result>(c, [&](auto wide_series) {
      constexpr bool Wide = decltype(wide_series)::value;
      auto p = params_of<Result, decltype(r)>(c);
      decay_row(src, out, n, p, plain_decay<Wide>(p));
    });
  };
  constexpr bool is_float = std::is_floating_point_v<In> ||
      std::is_same_v<In, float16_t> || std::is_same_v<In, bfloat16_t>;
  if constexpr (is_float) {
    if (c.d > (int64_t{1} << 53)) {
      // D is not a double: each step reduced exactly in int64 (rare: a
      // scalar loop).
      auto p = params_of<Result, int64_t>(c);
      with_series<Result>(c, [&](auto wide_series) {
        constexpr bool Wide = decltype(wide_series)::value;
        for (int64_t i = 0; i < n; ++i) {
          double s = static_cast<double>(widen(src[i]));
          out[i] = static_cast<Out>(math::decay_at_float_step<Wide>(s, p));
        }
      });
    } else if constexpr (std::is_same_v<In, double>) {
      run(double{}); // every clamped step and 2D <= 2^54 are exact
    } else if (2 * c.d > (int64_t{1} << 24)) {
      run(double{});
    } else {
      run(float{}); // float holds every clamped float step and 2D <= 2^24
    }
  } else if constexpr (sizeof(In) == 8) {
    run(int64_t{});
  } else {
    (2 * c.d <= INT32_MAX) ? run(int32_t{}) : run(int64_t{});
  }
}

// The steps first, first + 1, ...: runs (`generated_row`) where every
// distance is exact in the compute type, else the general kernel.
template <typename Result, typename Out>
void consecutive_row(int64_t first, Out* out, int64_t n, const Curve& c) {
  if (c.family && c.family->kind != Kind::Cosine) {
    const auto& f = *c.family;
    if (f.kind == Kind::Warmup && f.output == Output::Value &&
        f.exponent == 1.0 && c.d >= 1) {
      // The ramp, then cosine_decay's own runs at the steps s - W: the
      // values of `decay_row` with a ramp, bit for bit.
      int64_t w = f.warmup_steps;
      int64_t ramp = first >= w ? 0 : (first <= w - n ? n : w - first);
      if (ramp > 0) {
        row<int64_t, Result>(Generated<int64_t, true>{first, 1}, out, ramp, c);
      }
      if (n > ramp) {
        Curve plain = c;
        plain.family = nullptr;
        consecutive_row<Result>(first + ramp - w, out + ramp, n - ramp, plain);
      }
      return;
    }
    return row<int64_t, Result>(Generated<int64_t, true>{first, 1}, out, n, c);
  }
  constexpr int digits = std::numeric_limits<Compute<Result>>::digits;
  if (c.d >= 1 && c.d <= (int64_t{1} << digits)) {
    auto p = params_of<Result, int64_t>(c);
    with_series<Result>(c, [&](auto wide_series) {
      constexpr bool Wide = decltype(wide_series)::value;
      generated_row<Wide>(first, out, n, p);
    });
  } else {
    row<int64_t, Result>(Generated<int64_t, true>{first, 1}, out, n, c);
  }
}

// The rows of a job from a given row on, walked with one counter per leading
// axis (no division per row): the offset of each operand at a row's start.
// Not MLX's ContiguousIterator: its constructors call collapse_contiguous_dims,
// which libmlx 0.32.4 does not export, and it walks one operand, not four.
class Rows {
 public:
  Rows(const Job& job, int64_t row)
      : strides_{&job.strides[Operand::Step], &job.strides[Operand::Init], &job.strides[Operand::End], &job.strides[Operand::DecaySteps]},
        shape_(job.shape),
        pos_(job.shape.size(), 0) {
    for (int ax = static_cast<int>(shape_.size()) - 2; ax >= 0; --ax) {
      pos_[ax] = row % shape_[ax];
      row /= shape_[ax];
      for (int k = 0; k < 4; ++k) {
        if (!strides_[k]->empty()) {
          offset_[k] += pos_[ax] * (*strides_[k])[ax];
        }
      }
    }
  }

  // The offset of operand k (an Operand) at column col.
  int64_t offset(int k, int64_t col) const {
    return strides_[k]->empty() ? 0 : offset_[k] + col * strides_[k]->back();
  }

  void next() {
    for (int ax = static_cast<int>(shape_.size()) - 2; ax >= 0; --ax) {
      for (int k = 0; k < 4; ++k) {
        if (!strides_[k]->empty()) {
          offset_[k] += (*strides_[k])[ax];
        }
      }
      if (++pos_[ax] < shape_[ax]) {
        return;
      }
      for (int k = 0; k < 4; ++k) {
        if (!strides_[k]->empty()) {
          offset_[k] -= pos_[ax] * (*strides_[k])[ax];
        }
      }
      pos_[ax] = 0;
    }
  }

 private:
  const std::vector<int64_t>* strides_[4];
  const std::vector<int64_t>& shape_;
  std::vector<int64_t> pos_;
  int64_t offset_[4] = {0, 0, 0, 0};
};

// The row's parameters at column col.
template <typename Out>
Curve curve_at(const Job& job, const Rows& rows, int64_t col) {
  auto* init = static_cast<const Param<Out>*>(job.data[Operand::Init]);
  auto* end = static_cast<const Param<Out>*>(job.data[Operand::End]);
  auto* d = static_cast<const int64_t*>(job.data[Operand::DecaySteps]);
  double i =
      init ? double(init[rows.offset(Operand::Init, col)]) : job.scalars.init;
  double e =
      end ? double(end[rows.offset(Operand::End, col)]) : job.scalars.end;
  return {
      i,
      e,
      d ? d[rows.offset(Operand::DecaySteps, col)] : job.scalars.decay_steps,
      false,
      crosses_zero(i, e),
      job.family.kind == Kind::Cosine ? nullptr : &job.family};
}

// n outputs of a row from column col on, with the curve c.
template <typename In, typename Result, typename Out>
void steps_row(
    const Job& job,
    const Rows& rows,
    int64_t col,
    int64_t n,
    Out* out,
    const Curve& c) {
  auto step_stride = job.strides[Operand::Step].back();
  if constexpr (std::is_same_v<In, GeneratedSteps>) {
    int64_t first = job.start + rows.offset(Operand::Step, col);
    int64_t last = first + (n - 1) * step_stride;
    // int32 steps where they fit: AVX2 converts only those in SIMD.
    bool fits = std::min(first, last) >= INT32_MIN &&
        std::max(first, last) <= INT32_MAX;
    if (step_stride == 1) { // values(): the common case
      consecutive_row<Result>(first, out, n, c);
    } else if (fits) {
      auto src =
          Generated<int32_t, false>{int32_t(first), int32_t(step_stride)};
      row<int32_t, Result>(src, out, n, c);
    } else {
      row<int64_t, Result>(
          Generated<int64_t, false>{first, step_stride}, out, n, c);
    }
  } else {
    auto* s = static_cast<const In*>(job.data[Operand::Step]) +
        rows.offset(Operand::Step, col);
    if (step_stride == 1) {
      row<In, Result>(Loaded<In>{s}, out, n, c);
      return;
    }
    // Strided steps (a transposed or broadcast step array) are gathered into
    // contiguous blocks, so that every kernel is built for contiguous steps
    // only: half the instantiations, and of the compile time. A value does
    // not depend on how its row is split.
    In gathered[block_size];
    for (int64_t j = 0; j < n; j += block_size) {
      int64_t m = std::min(block_size, n - j);
      for (int64_t i = 0; i < m; ++i) {
        gathered[i] = s[(j + i) * step_stride];
      }
      row<In, Result>(Loaded<In>{gathered}, out + j, m, c);
    }
  }
}

// How many consecutive rows share their steps and D, and so differ only in
// init and end: the rows along the innermost leading axes over which neither
// the steps nor decay_steps vary (a sweep: values() of a schedule with scalar
// decay_steps, steps (N,) against parameters (K, 1), the `end` axis of an
// (init, decay_steps, end) grid). 1 where no two rows share.
inline int64_t rows_sharing_curve(const Job& job) {
  int64_t group = 1;
  for (int ax = static_cast<int>(job.shape.size()) - 2; ax >= 0; --ax) {
    if (job.strides[Operand::Step][ax] != 0 ||
        (job.data[Operand::DecaySteps] &&
         job.strides[Operand::DecaySteps][ax] != 0)) {
      break;
    }
    group *= job.shape[ax];
  }
  return group;
}

// Output elements [begin, end) of rows that share their curve: its shape
// (math::shape_params) is computed once per tile of columns, and each value
// is then one fma (math::from_shape), bit for bit the value computed
// directly. The cost per value drops from the polynomial to a multiply-add.
// The shape is computed with each series its rows need (rows that cross zero
// take the 10-term series, as computed directly; see with_series), so the
// values stay bit for bit the direct ones. `shapes` is scratch space for
// 2 * `tile` values of the compute type.
template <typename In, typename Out, typename T>
void run_shared(
    const Job& job,
    int64_t begin,
    int64_t end,
    T* shapes,
    int64_t tile) {
  int64_t row_len = job.shape.back();
  int64_t first_row = begin / row_len;
  int64_t last_row = (end - 1) / row_len;
  auto* out = static_cast<Out*>(job.out);
  bool needs[2] = {false, false}; // [crosses_zero]
  {
    Rows rows(job, first_row);
    for (int64_t r = first_row; r <= last_row; ++r, rows.next()) {
      needs[curve_at<Out>(job, rows, 0).crosses_zero] = true;
    }
  }
  for (int64_t c0 = 0; c0 < row_len; c0 += tile) {
    int64_t n = std::min(tile, row_len - c0);
    Rows rows(job, first_row);
    for (int k = 0; k < 2; ++k) {
      if (needs[k]) {
        Curve c = curve_at<Out>(job, rows, 0);
        c.shape = true;
        c.crosses_zero = k;
        steps_row<In, Out>(job, rows, c0, n, shapes + k * tile, c);
      }
    }
    for (int64_t r = first_row; r <= last_row; ++r, rows.next()) {
      // This row's part of the tile, within [begin, end).
      int64_t lo = std::max(r * row_len + c0, begin);
      int64_t hi = std::min(r * row_len + c0 + n, end);
      if (lo >= hi) {
        continue;
      }
      Curve cr = curve_at<Out>(job, rows, 0);
      T init = T(cr.init);
      T end_value = T(cr.end);
      const T* shape = shapes + cr.crosses_zero * tile;
      const T* t = shape + (lo - r * row_len - c0);
      Out* o = out + lo;
      for (int64_t i = 0; i < hi - lo; ++i) {
        o[i] = static_cast<Out>(math::from_shape(t[i], init, end_value));
      }
    }
  }
}

// Output elements [begin, end), each row computed from its steps. Rows are
// walked with one counter per axis, so the strided path pays no division per
// element; the parameters are set up once per row, or per element where they
// vary along the row.
template <typename In, typename Out>
void run_direct(const Job& job, int64_t begin, int64_t end, bool per_element) {
  int64_t row_len = job.shape.back();
  int64_t row_index = begin / row_len;
  Rows rows(job, row_index);
  auto* out = static_cast<Out*>(job.out);
  int64_t col = begin - row_index * row_len;
  for (int64_t o = begin; o < end;) {
    int64_t n = std::min(row_len - col, end - o);
    if (per_element) {
      for (int64_t j = 0; j < n; ++j) {
        auto c = curve_at<Out>(job, rows, col + j);
        steps_row<In, Out>(job, rows, col + j, 1, out + o + j, c);
      }
    } else {
      steps_row<In, Out>(
          job, rows, col, n, out + o, curve_at<Out>(job, rows, col));
    }
    o += n;
    col = 0;
    rows.next();
  }
}

// Output elements [begin, end) of the job: groups of rows that share their
// curve, where it pays (from two rows of the group within the range, and
// enough values to amortize setting up the shape), else row by row.
template <typename In, typename Out>
void run_range(const Job& job, int64_t begin, int64_t end) {
  int64_t row_len = job.shape.back();
  bool per_element = false;
  for (int k : {Operand::Init, Operand::End, Operand::DecaySteps}) {
    per_element |= job.data[k] && job.strides[k].back() != 0;
  }
  // The family's rows are computed each from its steps (the shared shape
  // holds cosine_decay's curve only).
  int64_t group = per_element || job.family.kind != Kind::Cosine
      ? 1
      : rows_sharing_curve(job) * row_len;
  if (group < 2 * row_len || group < 4096) {
    return run_direct<In, Out>(job, begin, end, per_element);
  }
  // Whole rows where they fit (1 MiB of doubles): rows written front to back
  // ran at the write floor here, tiles of 4096 columns 1.4x slower.
  int64_t tile = std::min(row_len, int64_t{1} << 17);
  std::unique_ptr<Compute<Out>[]> shapes(new Compute<Out>[2 * tile]);
  for (int64_t g0 = begin / group * group; g0 < end; g0 += group) {
    int64_t lo = std::max(begin, g0);
    int64_t hi = std::min(end, g0 + group);
    if (hi - lo >= 2 * row_len) {
      run_shared<In, Out>(job, lo, hi, shapes.get(), tile);
    } else {
      run_direct<In, Out>(job, lo, hi, false);
    }
  }
}

// The one dtype switch, with MLX's dispatch helpers (dtype_utils.h).
template <typename In>
void dispatch_out(const Job& job, int64_t begin, int64_t end) {
  mlx::core::dispatch_float_types(
      job.out_type, "[cosine_decay] output", [&](auto out) {
        run_range<In, MLX_GET_TYPE(out)>(job, begin, end);
      });
}

// Which part of the build compiles the kernels of a step type: about half
// the compile time each (measured: the integer types of 2 bytes and more and
// the generated steps, against the floating and the 1-byte types).
template <typename In>
constexpr int part_of() {
  return std::is_integral_v<In> && sizeof(In) > 1 ? 0 : 1;
}

// Each part's step types, from MLX's dispatch helper; part 0's `dispatch`
// hands part 1's types to `dispatch_part1`.
void dispatch_part1(const Job& job, int64_t begin, int64_t end);

template <typename Other>
void dispatch_part(
    const Job& job,
    int64_t begin,
    int64_t end,
    Other other_part) {
  mlx::core::dispatch_real_types(
      job.step_type, "[cosine_decay] step", [&](auto step) {
        using In = MLX_GET_TYPE(step);
        if constexpr (part_of<In>() == COSINE_DECAY_PART) {
          dispatch_out<In>(job, begin, end);
        } else {
          other_part(job, begin, end);
        }
      });
}

#if COSINE_DECAY_PART == 0
void dispatch(const Job& job, int64_t begin, int64_t end) {
  if (!job.data[Operand::Step]) {
    return dispatch_out<GeneratedSteps>(job, begin, end);
  }
  dispatch_part(job, begin, end, dispatch_part1);
}
#else
void dispatch_part1(const Job& job, int64_t begin, int64_t end) {
  dispatch_part(job, begin, end, [](const Job&, int64_t, int64_t) {
    throw std::logic_error("[cosine_decay] a step type of part 0 in part 1");
  });
}
#endif

} // namespace mlx_cosine_decay::cpu::COSINE_DECAY_ISA
