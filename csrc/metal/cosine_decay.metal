// Copyright © 2026 mlx-cosine-decay authors.
//
// The Metal kernels of CosineDecay: templates only. The host (eval_gpu.cpp
// beside this file) appends one `[[host_name("...")]]` instantiation per
// library it builds, and the host-emulation test (tests/metal_emulation/)
// compiles this same file as C++. The formula comes from
// core/cosine_decay_math.h and the host/kernel contract (the scalar
// parameters, the stride packing, work per thread) from core/kernel_params.h,
// nothing else.
//
// The reduction type R is chosen as the CPU kernels choose it
// (csrc/cpu/kernels.cpp `row`), except that Metal has no double: see
// Evaluator<float>. Outputs are computed in float and rounded once; float64
// is rejected by the host, as MLX rejects it on the GPU.

#ifdef __METAL_VERSION__
#include <metal_stdlib>
#endif

#include "core/kernel_params.h"
// core/cosine_family_math.h brings core/cosine_decay_math.h.
#include "core/cosine_family_math.h"

namespace cosine_decay_metal {

namespace math = cosine_decay_math;
namespace core = cosine_decay_core;
typedef core::KernelScalars<float> Scalars;

// bfloat16 by its bits. Metal's own `bfloat` needs Metal 3.1; converting by
// hand is exact, portable, and lets the host emulation run this code as is.
struct bfloat16_bits {
  uint16_t bits;
};

// Steps and array parameters are widened before any arithmetic: half and
// bfloat16 to float, everything else stays as it is.
template <typename T>
struct Widen {
  typedef T type;
  static T get(T x) {
    return x;
  }
};

template <>
struct Widen<half> {
  typedef float type;
  static float get(half x) {
    return static_cast<float>(x);
  }
};

template <>
struct Widen<bfloat16_bits> {
  typedef float type;
  static float get(bfloat16_bits x) {
    return as_type<float>(static_cast<uint32_t>(x.bits) << 16);
  }
};

// The one rounding from the float result to the output type.
template <typename Out>
struct Narrow {
  static Out get(float v) {
    return static_cast<Out>(v);
  }
};

template <>
struct Narrow<bfloat16_bits> {
  static bfloat16_bits get(float v) {
    // Round to nearest even, NaN to 0x7FC0: the same as MLX's bfloat16_t.
    uint32_t u = as_type<uint32_t>(v);
    bfloat16_bits b;
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
      b.bits = 0x7FC0;
    } else {
      b.bits = static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }
    return b;
  }
};

// The schedule at one widened step, reduced in R.
template <typename R, typename S>
inline float value_at(S s, math::Params<R, float> p) {
  R a = math::clamp_step<R>(s, p.d);
  R m = math::in_first_period(a, p) ? math::magnitude(a)
                                    : math::reduce_period(a, p);
  // `true`: sin^2 exactly 1/2 and 1/4 at q = D/2, D/3 (exact zeros where
  // init and end make them); in float the series is the same either way.
  return math::decay_at<true>(m, p);
}

// The schedule for one set of parameters, with the reduction type chosen as
// the CPU does. Integer steps (S has at most 32 bits): int32 while
// 2D <= INT32_MAX, else int64; 64-bit steps: int64.
template <typename S>
struct Evaluator {
  math::Params<int32_t, float> narrow_params;
  math::Params<int64_t, float> wide_params;
  bool narrow;

  Evaluator(float init, float end, int64_t d)
      : narrow_params(math::make_params<int32_t, float>(init, end, d)),
        wide_params(math::make_params<int64_t, float>(init, end, d)),
        narrow(sizeof(S) < 8 && d <= 1073741823) {} // 2D <= INT32_MAX

  float operator()(S s) const {
    return narrow ? value_at(s, narrow_params) : value_at(s, wide_params);
  }
};

// Floating steps: float holds 2D and every clamped step exactly while
// 2D <= 2^24. Beyond that the CPU reduces in double, which Metal lacks; but
// every float step there is either an integer (reduced exactly in int64) or
// has |step| < 2^23 < D (no reduction, and D - |step| is exact or not
// needed), so the result still equals the CPU's. Only integers below -2^62
// stay in float, reduced modulo a rounded 2D.
template <>
struct Evaluator<float> {
  math::Params<float, float> float_params;
  math::Params<int64_t, float> int_params;
  bool narrow;

  Evaluator(float init, float end, int64_t d)
      : float_params(math::make_params<float, float>(init, end, d)),
        int_params(math::make_params<int64_t, float>(init, end, d)),
        narrow(d <= 8388608) {} // 2D <= 2^24

  float operator()(float s) const {
    if (narrow) {
      return value_at(s, float_params);
    }
    const float limit = 4611686018427387904.0f; // 2^62 >= D
    if (s >= limit) {
      return value_at(static_cast<int64_t>(limit), int_params);
    }
    if (s > -limit && static_cast<float>(static_cast<int64_t>(s)) == s) {
      return value_at(static_cast<int64_t>(s), int_params);
    }
    return value_at(s, float_params);
  }
};

// The family's Restarts kind at a step s, in float: the period arithmetic of
// core/cosine_family_math.h (its log and pow are metal::precise's), so the
// boundaries are the true ones while they are exact in float (integer or
// short binary t_mul, boundaries below 2^24); elsewhere a step within
// float's rounding of a boundary may take the neighbouring period's value.
// Output::StepSlope: the derivative, as the CPU computes it, in float.
inline float restarts_value_at(
    float s,
    float init,
    float end,
    int64_t d,
    core::FamilyParams<float> f) {
  math::Restarts<float> r =
      math::make_restarts<float>(init, end, d, f.t_mul, f.m_mul);
  if (f.output == core::Output::Value) {
    return math::restarts_at<false>(s, r);
  }
  if (s < 0.0f) { // the value is step 0's: flat
    return 0.0f;
  }
  math::Period<float> period = math::restart_period(s, r);
  return COSINE_FAMILY_ISNAN(period.index) ? period.index
                                           : math::restart_slope(s, period, r);
}

// The family's Warmup kind at one widened step, reduced in R: the ramp below W,
// the decay at the exact step s - W above (`after_warmup`), to the power
// `exponent`; without a warmup, cosine_decay's reduction of negative steps.
// Output::StepSlope: the derivative, as the CPU computes it, in float.
template <typename R, typename S>
inline float
warmup_value_at(S s, math::Params<R, float> p, core::FamilyParams<float> f) {
  if (f.output == core::Output::StepSlope) {
    return math::warmup_decay_slope<float>(
        static_cast<float>(s),
        static_cast<float>(f.warmup_steps),
        static_cast<float>(p.d),
        p.init,
        p.end,
        f.warmup_init,
        f.exponent);
  }
  R m;
  if (f.warmup_steps == 0) {
    R a = math::clamp_step<R>(s, p.d);
    m = math::in_first_period(a, p) ? math::magnitude(a)
                                    : math::reduce_period(a, p);
  } else {
    R w = static_cast<R>(f.warmup_steps);
    math::AfterWarmup<R> a =
        math::after_warmup<R>(s, w, static_cast<R>(w + p.d));
    if (a.warming) {
      return math::warmup_value(
          static_cast<float>(a.step),
          math::make_warmup<float>(f.warmup_init, p.init, f.warmup_steps));
    }
    m = a.decay_step;
  }
  if (f.exponent == 1.0f) {
    return math::decay_at<false>(m, p);
  }
  float d = math::decay_at<false>(m, math::fraction_params(p));
  return math::powered(d, f.exponent, p.init, p.end);
}

// The family at one widened step: warm restarts in float; warmup + decay with
// integer steps reduced in int64 (W + 2D fits it), float steps in float while W
// + 2D <= 2^24, else integral ones in int64 (as Evaluator<float>) and the rest
// in float.
template <typename S>
struct FamilyEvaluator {
  static float
  at(S s, float init, float end, int64_t d, core::FamilyParams<float> f) {
    if (f.kind == core::Kind::Restarts) {
      return restarts_value_at(static_cast<float>(s), init, end, d, f);
    }
    return warmup_value_at(
        s, math::make_params<int64_t, float>(init, end, d), f);
  }
};

template <>
struct FamilyEvaluator<float> {
  static float
  at(float s, float init, float end, int64_t d, core::FamilyParams<float> f) {
    if (f.kind == core::Kind::Restarts) {
      return restarts_value_at(s, init, end, d, f);
    }
    bool narrow = d <= 8388608 && f.warmup_steps <= 16777216 - 2 * d;
    const float limit = 4611686018427387904.0f; // 2^62
    if (!narrow && s > -limit && s < limit &&
        static_cast<float>(static_cast<int64_t>(s)) == s) {
      return warmup_value_at(
          static_cast<int64_t>(s),
          math::make_params<int64_t, float>(init, end, d),
          f);
    }
    return warmup_value_at(s, math::make_params<float, float>(init, end, d), f);
  }
};

// The schedule at one widened step: cosine_decay itself, or the family.
template <typename S>
inline float schedule_at(
    S s,
    float init,
    float end,
    int64_t d,
    core::FamilyParams<float> f) {
  if (f.kind == core::Kind::Cosine) {
    return Evaluator<S>(init, end, d)(s);
  }
  return FamilyEvaluator<S>::at(s, init, end, d, f);
}

// Contiguous steps (or any layout the output shares): N elements per thread,
// scalar parameters. The grid is 1-d, or 2-d above 2^32 threads.
template <typename In, typename Out, typename IdxT, int N>
[[kernel]] void cosine_decay_contiguous(
    device const In* step [[buffer(0)]],
    device Out* out [[buffer(1)]],
    constant const Scalars& sc [[buffer(2)]],
    constant const IdxT& size [[buffer(3)]],
    uint2 index [[thread_position_in_grid]],
    uint2 grid_dim [[threads_per_grid]]) {
  IdxT begin = static_cast<IdxT>(N) *
      (static_cast<IdxT>(index.x) +
       static_cast<IdxT>(grid_dim.x) * static_cast<IdxT>(index.y));
  if (begin >= size) {
    return;
  }
  typedef typename Widen<In>::type S;
  if (sc.family.kind != core::Kind::Cosine) {
    for (int j = 0; j < N; ++j) {
      IdxT i = begin + static_cast<IdxT>(j);
      if (N == 1 || i < size) {
        out[i] = Narrow<Out>::get(
            FamilyEvaluator<S>::at(
                Widen<In>::get(step[i]),
                sc.params.init,
                sc.params.end,
                sc.params.decay_steps,
                sc.family));
      }
    }
    return;
  }
  Evaluator<S> value(sc.params.init, sc.params.end, sc.params.decay_steps);
  for (int j = 0; j < N; ++j) {
    IdxT i = begin + static_cast<IdxT>(j);
    if (N == 1 || i < size) {
      out[i] = Narrow<Out>::get(value(Widen<In>::get(step[i])));
    }
  }
}

// Any layout: one element per thread of a row-contiguous output over `shape`
// (ndim axes). `strides` holds ndim strides for each core::Operand, packed as
// core::stride_index says, in elements (0 where broadcast, negative where
// reversed, so memory offsets are signed 64-bit; IdxT is the element index).
// Generated: the step is sc.start + the step offset (the host passes step
// strides 0, ..., 0, 1 and In = int64_t). ArrayParams: init and end (float: the
// op's param_dtype for every Metal result) and
// decay_steps (int64) come from memory, else from `sc`. Buffers a variant
// does not read are bound to placeholders by the host.
template <
    typename In,
    typename Out,
    typename IdxT,
    bool Generated,
    bool ArrayParams>
[[kernel]] void cosine_decay_strided(
    device const In* step [[buffer(0)]],
    device Out* out [[buffer(1)]],
    constant const Scalars& sc [[buffer(2)]],
    constant const IdxT& size [[buffer(3)]],
    device const float* init [[buffer(4)]],
    device const float* end [[buffer(5)]],
    device const int64_t* decay_steps [[buffer(6)]],
    constant const int* shape [[buffer(7)]],
    constant const int64_t* strides [[buffer(8)]],
    constant const int& ndim [[buffer(9)]],
    uint2 index [[thread_position_in_grid]],
    uint2 grid_dim [[threads_per_grid]]) {
  IdxT i = static_cast<IdxT>(index.x) +
      static_cast<IdxT>(grid_dim.x) * static_cast<IdxT>(index.y);
  if (i >= size) {
    return;
  }
  core::OperandOffsets loc = core::operand_offsets(i, shape, strides, ndim);
  typedef typename Widen<In>::type S;
  S s = Generated ? static_cast<S>(sc.start + loc.at[core::Operand::Step])
                  : Widen<In>::get(step[loc.at[core::Operand::Step]]);
  float init_value = sc.params.init;
  float end_value = sc.params.end;
  int64_t d = sc.params.decay_steps;
  if (ArrayParams) {
    init_value = init[loc.at[core::Operand::Init]];
    end_value = end[loc.at[core::Operand::End]];
    d = decay_steps[loc.at[core::Operand::DecaySteps]];
  }
  float v = !math::valid_decay_steps(d) // array-valued decay_steps only
      ? metal::numeric_limits<float>::quiet_NaN()
      : schedule_at<S>(s, init_value, end_value, d, sc.family);
  out[i] = Narrow<Out>::get(v);
}

} // namespace cosine_decay_metal
