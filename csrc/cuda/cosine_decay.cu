// Copyright © 2026 mlx-cosine-decay authors.
//
// The CUDA kernels of CosineDecay: templates only. The host (csrc/cuda/)
// compiles this file with NVRTC at first use, one instantiation per module,
// named by a name expression (kernel_source.cpp); the host-emulation test
// (tests/cuda_emulation/) compiles the same file as C++ and runs it at every
// thread position. The formula comes from core/cosine_decay_math.h and the
// host/kernel contract (the scalar parameters, the stride packing, the
// layout, work per thread) from core/kernel_params.h, nothing else.
//
// Results equal the CPU's bit for bit: the compute type, the reduction type
// and every conversion are chosen as in csrc/cpu/kernels.cpp (`Compute`,
// `row`) and MLX's CPU float16/bfloat16 types, and NVRTC compiles with
// --fmad=false so no multiply-add is contracted that the CPU does not
// contract. float64 results stay on the CPU, as in MLX.

#include "core/kernel_params.h"
// The family's header brings the decay's (core/cosine_decay_math.h). The
// kernels compute every value of the family; the op sends the step slopes of
// its transforms to the CPU (csrc/cosine_decay.cpp, resolve_stream).
#include "core/cosine_family_math.h"

#ifndef COSINE_DECAY_GLOBAL
#define COSINE_DECAY_GLOBAL __global__
#endif

namespace cosine_decay_cuda {

namespace math = cosine_decay_math;
using math::int32_t;
using math::int64_t;
using math::uint32_t;
using math::uint64_t;

namespace core = cosine_decay_core;
// Parameters in double: the CPU's own (init and end are rounded to the
// result's parameter type by the op, so double holds them exactly).
typedef core::KernelScalars<double> Scalars;
typedef core::StridedLayout Layout;
using core::Operand;

// float16 and bfloat16 by their bits, converted as MLX's CPU types do
// (mlx/types/fp16.h, bf16.h), so that NaNs match too.
struct float16_bits {
  unsigned short bits;
};
struct bfloat16_bits {
  unsigned short bits;
};

// The bits of a value as another type of the same size (std::bit_cast, which
// NVRTC lacks; memcpy is built into NVRTC and from <cstring> here).
template <typename To, typename From>
COSINE_DECAY_INLINE To bit_cast(From from) {
  To to;
  memcpy(&to, &from, sizeof(to));
  return to;
}

COSINE_DECAY_INLINE float float_of_bits(uint32_t u) {
  return bit_cast<float>(u);
}

COSINE_DECAY_INLINE uint32_t bits_of_float(float f) {
  return bit_cast<uint32_t>(f);
}

template <bool B>
struct BoolConstant {
  static constexpr bool value = B;
};
typedef BoolConstant<true> TrueType;
typedef BoolConstant<false> FalseType;

// The compute type: double for float32 results (rounded once, as the CPU),
// float for float16/bfloat16 results (see csrc/cpu/kernels.cpp `Compute`).
template <typename Out>
struct Compute {
  typedef float type;
};
template <>
struct Compute<float> {
  typedef double type;
};

// Steps and array parameters are widened before any arithmetic: float16 and
// bfloat16 to float, everything else stays as it is.
template <typename T>
struct Widen {
  typedef T type;
  static COSINE_DECAY_INLINE T get(T x) {
    return x;
  }
};

template <>
struct Widen<float16_bits> {
  typedef float type;
  // Maratyszcza's FP16 conversion, as MLX's _MLX_Float16::operator float.
  static COSINE_DECAY_INLINE float get(float16_bits x) {
    uint32_t base = static_cast<uint32_t>(x.bits) << 16;
    uint32_t sign = base & 0x80000000u;
    uint32_t two_base = base + base;
    float f;
    if (two_base < (1u << 27)) {
      f = float_of_bits((126u << 23) | (two_base >> 17)) - 0.5f;
    } else {
      float unscaled = float_of_bits((0xE0u << 23) + (two_base >> 4));
      f = float_of_bits(0x7800000u) * unscaled;
    }
    return float_of_bits(bits_of_float(f) | sign);
  }
};

template <>
struct Widen<bfloat16_bits> {
  typedef float type;
  static COSINE_DECAY_INLINE float get(bfloat16_bits x) {
    return float_of_bits(static_cast<uint32_t>(x.bits) << 16);
  }
};

COSINE_DECAY_INLINE bool is_nan(float v) {
  return (bits_of_float(v) & 0x7FFFFFFFu) > 0x7F800000u;
}

// The one rounding from the compute type to the output type.
template <typename Out>
struct Narrow {
  template <typename T>
  static COSINE_DECAY_INLINE Out get(T v) {
    return static_cast<Out>(v);
  }
};

template <>
struct Narrow<float16_bits> {
  // As MLX's _MLX_Float16(float): rounds to nearest even by adding a magic
  // number; NaN becomes sign | 0x7D00.
  static COSINE_DECAY_INLINE float16_bits get(float v) {
    uint32_t u = bits_of_float(v);
    uint32_t sign = (u & 0x80000000u) >> 16;
    float16_bits h;
    if (is_nan(v)) {
      h.bits = static_cast<unsigned short>(sign | 0x7D00u);
      return h;
    }
    uint32_t exponent = u & 0x7F800000u;
    exponent = exponent < 0x38800000u ? 0x38800000u : exponent;
    exponent += 15u << 23;
    float magnitude = float_of_bits(u & 0x7FFFFFFFu);
    float magic = float_of_bits(exponent) +
        (magnitude * float_of_bits(0x77800000u)) * float_of_bits(0x08800000u);
    uint32_t m = bits_of_float(magic);
    h.bits = static_cast<unsigned short>(
        sign | (((m >> 13) & 0x7C00u) + (m & 0x0FFFu)));
    return h;
  }
};

template <>
struct Narrow<bfloat16_bits> {
  // As MLX's _MLX_BFloat16(float): round to nearest even, NaN to 0x7FC0.
  static COSINE_DECAY_INLINE bfloat16_bits get(float v) {
    bfloat16_bits b;
    uint32_t u = bits_of_float(v);
    b.bits = is_nan(v)
        ? static_cast<unsigned short>(0x7FC0u)
        : static_cast<unsigned short>((u + ((u >> 16) & 1u) + 0x7FFFu) >> 16);
    return b;
  }
};

// A clamped step a mapped to its magnitude in [0, D] (as the CPU's
// `decay_row`: steps below -D take the period reduction).
template <typename R, typename T>
COSINE_DECAY_INLINE R magnitude_of(R a, const math::Params<R, T>& p) {
  return math::in_first_period(a, p) ? math::magnitude(a)
                                     : math::reduce_period(a, p);
}

COSINE_DECAY_INLINE float quiet_nan() {
  return float_of_bits(0x7FC00000u); // C's NAN, which the CPU stores
}

template <typename S>
struct IsFloat {
  static constexpr bool value = false;
};
template <>
struct IsFloat<float> {
  static constexpr bool value = true;
};

// The reduction type R the CPU chooses for widened steps of type S
// (csrc/cpu/kernels.cpp `row` and `family_row`): floating steps in float
// while W + 2D <= 2^24, else double; 64-bit integers in int64; narrower
// integers (and bool) in int32 while W + 2D <= INT32_MAX, else int64 (W = 0
// for cosine_decay itself). `Narrow` where narrow(d, w) holds.
template <typename S>
struct Reduction {
  typedef int32_t Narrow;
  typedef int64_t Wide;
  static COSINE_DECAY_INLINE bool narrow(int64_t d, int64_t w) {
    return sizeof(S) < 8 && d <= 2147483647 / 2 && w <= 2147483647 - 2 * d;
  }
};

template <>
struct Reduction<float> {
  typedef float Narrow;
  typedef double Wide;
  static COSINE_DECAY_INLINE bool narrow(int64_t d, int64_t w) {
    return d <= (int64_t{1} << 23) && w <= (int64_t{1} << 24) - 2 * d;
  }
};

// The schedules a kernel evaluates, each set up once per thread (the
// parameters' divisions) and then called per step. Each computes as the
// CPU's kernels do for the same node, so results are its own bit for bit.

// cosine_decay in reduction type R.
template <bool Wide, typename R, typename T>
struct Decay {
  math::Params<R, T> p;
  template <typename S>
  COSINE_DECAY_INLINE T operator()(S s) const {
    return math::decay_at<Wide>(
        magnitude_of(math::clamp_step<R>(s, p.d), p), p);
  }
};

// cosine_decay at floating steps where D > 2^53 (not a double): each step
// reduced exactly in int64, as the CPU's `row` does
// (math::decay_at_float_step).
template <bool Wide, typename T>
struct HugeDecay {
  math::Params<int64_t, T> p;
  COSINE_DECAY_INLINE T operator()(float s) const {
    return math::decay_at_float_step<Wide>(static_cast<double>(s), p);
  }
};

// The family's Warmup kind: a linear warmup of W steps, then the decay at
// the exact step s - W. Powered: to the power `exponent` (the CPU's
// `powered_row`: the fraction d from the curve's shape, then end + (init -
// end) d ** p with the core's portable pow; with W = 0, cosine_decay's clamp
// and period reduction of the step). Else exponent 1 and W >= 1 (the CPU's
// `warmup_row`: past the ramp, cosine_decay's own value at s - W).
template <bool Wide, bool Powered, typename R, typename T>
struct WarmupDecay {
  math::Params<R, T> p;
  math::Warmup<T> ramp;
  R w;
  R w_plus_d;
  T exponent;
  template <typename S>
  COSINE_DECAY_INLINE T operator()(S s) const {
    R m;
    if (Powered && w == R(0)) {
      m = magnitude_of(math::clamp_step<R>(s, p.d), p);
    } else {
      math::AfterWarmup<R> a = math::after_warmup<R>(s, w, w_plus_d);
      if (a.warming) {
        return math::warmup_value(static_cast<T>(a.step), ramp);
      }
      m = a.decay_step;
    }
    return Powered ? math::powered_decay_at<Wide>(m, p, exponent)
                   : math::decay_at<Wide>(m, p);
  }
};

// Warm restarts (the CPU's `restarts_row`): in double for every result
// type, the step as a double, below 0 taken as 0; NaN where no period holds
// the step. The period is found per step (the CPU reuses the previous
// step's where it holds the step: the same period, the boundaries being
// monotone in the index).
struct RestartSchedule {
  math::Restarts<double> r;
  template <typename S>
  COSINE_DECAY_INLINE double operator()(S s) const {
    double x = static_cast<double>(s);
    x = x < 0.0 ? 0.0 : x; // NaN stays NaN
    math::Period<double> period = math::restart_period(x, r);
    return COSINE_FAMILY_ISNAN(period.index)
        ? static_cast<double>(quiet_nan())
        : math::restart_value<false>(x, period, r);
  }
};

// The Warmup kind's parameters.
template <typename T>
struct WarmupArgs {
  T init;
  T end;
  int64_t d;
  int64_t w;
  math::Warmup<T> ramp;
  T exponent;
};

// Calls run with the Warmup kind's schedule in reduction type R, W + D
// formed as the CPU's `warmup_row` and `powered_row` form it: in R (rounded
// there where R is double and D > 2^53).
template <bool Wide, bool Powered, typename R, typename T, typename Run>
COSINE_DECAY_INLINE void run_warmup_in(const WarmupArgs<T>& a, const Run& run) {
  WarmupDecay<Wide, Powered, R, T> schedule;
  schedule.p = math::make_params<R, T>(a.init, a.end, a.d);
  schedule.ramp = a.ramp;
  schedule.w = static_cast<R>(a.w);
  schedule.w_plus_d = schedule.w + schedule.p.d;
  schedule.exponent = a.exponent;
  run(schedule);
}

// The same in the reduction type the CPU chooses for steps of type S.
template <bool Wide, bool Powered, typename S, typename T, typename Run>
COSINE_DECAY_INLINE void run_warmup(const WarmupArgs<T>& a, const Run& run) {
  if (Reduction<S>::narrow(a.d, a.w)) {
    run_warmup_in<Wide, Powered, typename Reduction<S>::Narrow>(a, run);
  } else {
    run_warmup_in<Wide, Powered, typename Reduction<S>::Wide>(a, run);
  }
}

// with_schedule's cosine_decay and warmup (exponent 1) with the series
// `Wide`. Functions and functors here, no lambdas: NVRTC 12 takes a lambda
// in device code for a host function.
template <bool Wide, typename S, typename T, typename Run>
COSINE_DECAY_INLINE void with_series(
    T init,
    T end,
    int64_t d,
    bool warmup,
    int64_t w,
    math::Warmup<T> ramp,
    const Run& run) {
  typedef typename Reduction<S>::Narrow NarrowR;
  typedef typename Reduction<S>::Wide WideR;
  bool narrow = Reduction<S>::narrow(d, w);
  if constexpr (IsFloat<S>::value) { // only floating steps need it
    if (!warmup && d > (int64_t{1} << 53)) {
      return run(
          HugeDecay<Wide, T>{math::make_params<int64_t, T>(init, end, d)});
    }
  }
  if (warmup) {
    run_warmup<Wide, false, S>(WarmupArgs<T>{init, end, d, w, ramp, T(1)}, run);
  } else if (narrow) {
    run(Decay<Wide, NarrowR, T>{math::make_params<NarrowR, T>(init, end, d)});
  } else {
    run(Decay<Wide, WideR, T>{math::make_params<WideR, T>(init, end, d)});
  }
}

// Calls run(schedule) with the schedule of one set of parameters for widened
// steps of type S, chosen as the CPU's kernels choose it
// (csrc/cpu/kernels.cpp `row` and `family_row`). The series (`Wide`,
// math::decay_from): cosine_decay's choice (`with_series`), the wide series
// with the exact zeros at D/2 and D/3 where init and end have opposite
// signs, also past a warmup; the narrow one for the exponent (the CPU's
// `powered_row`). The host sends only values here (cuda::runs_on_cuda:
// the family's step slopes run on the CPU).
template <typename S, typename T, typename Run>
COSINE_DECAY_INLINE void with_schedule(
    T init,
    T end,
    int64_t d,
    const core::FamilyParams<double>& family,
    const Run& run) {
  if (family.kind == core::Kind::Restarts) {
    run(RestartSchedule{
        math::make_restarts<double>(init, end, d, family.t_mul, family.m_mul)});
    return;
  }
  bool warmup = family.kind == core::Kind::Warmup;
  int64_t w = warmup ? family.warmup_steps : 0;
  math::Warmup<T> ramp = math::make_warmup<T>(T(family.warmup_init), init, w);
  if (warmup && !(family.exponent == 1.0 && w > 0)) {
    T exponent = T(family.exponent);
    return run_warmup<false, true, S>(
        WarmupArgs<T>{init, end, d, w, ramp, exponent}, run);
  }
  bool crosses_zero =
      (init < T(0) && end > T(0)) || (init > T(0) && end < T(0));
  if (crosses_zero) {
    with_series<true, S>(init, end, d, warmup, w, ramp, run);
  } else {
    with_series<false, S>(init, end, d, warmup, w, ramp, run);
  }
}

// The thread's first element and the distance between its elements: each
// block covers N * blockDim.x consecutive elements, and the threads of a
// block read consecutive ones (coalesced).
template <typename IdxT, int N>
COSINE_DECAY_INLINE IdxT block_begin() {
  return static_cast<IdxT>(blockIdx.x) * static_cast<IdxT>(blockDim.x) *
      static_cast<IdxT>(N) +
      static_cast<IdxT>(threadIdx.x);
}

// The contiguous kernel's N elements of one thread, for any schedule.
template <typename In, typename Out, typename IdxT, int N, bool Generated>
struct ContiguousRun {
  const In* step;
  Out* out;
  int64_t start;
  IdxT size;
  IdxT begin;
  IdxT stride;
  template <typename Schedule>
  COSINE_DECAY_INLINE void operator()(const Schedule& value) const {
    typedef typename Widen<In>::type S;
    for (int j = 0; j < N; ++j) {
      IdxT i = begin + static_cast<IdxT>(j) * stride;
      if (i < size) {
        S s = Generated ? static_cast<S>(start + static_cast<int64_t>(i))
                        : Widen<In>::get(step[i]);
        out[i] = Narrow<Out>::get(value(s));
      }
    }
  }
};

// Contiguous steps (or any layout the output shares), or the generated steps
// start, start + 1, ... of a 1-d output; scalar parameters. N elements per
// thread. `out` may be `step` itself (a donated buffer): each element is read
// before it is written, by the same thread.
template <typename In, typename Out, typename IdxT, int N, bool Generated>
COSINE_DECAY_GLOBAL void cosine_decay_contiguous(
    const In* step,
    Out* out,
    const Scalars sc,
    const IdxT size) {
  typedef typename Compute<Out>::type T;
  IdxT begin = block_begin<IdxT, N>();
  if (begin >= size) {
    return;
  }
  ContiguousRun<In, Out, IdxT, N, Generated> run = {
      step, out, sc.start, size, begin, static_cast<IdxT>(blockDim.x)};
  with_schedule<typename Widen<In>::type>(
      T(sc.params.init),
      T(sc.params.end),
      sc.params.decay_steps,
      sc.family,
      run);
}

// The strided kernel's one element, for any schedule.
template <typename S, typename Out>
struct ElementRun {
  S s;
  Out* out;
  template <typename Schedule>
  COSINE_DECAY_INLINE void operator()(const Schedule& value) const {
    *out = Narrow<Out>::get(value(s));
  }
};

// Any layout: one element per thread of a row-contiguous output over
// `layout.shape`. Generated: the step is sc.start + the step offset (the
// host passes step strides 0, ..., 0, 1 and In = int64_t). ArrayParams: init
// and end (float: the op's param_dtype for every GPU result) and
// decay_steps (int64) come from memory, else from `sc`.
// Pointers a variant does not read may be null.
template <
    typename In,
    typename Out,
    typename IdxT,
    bool Generated,
    bool ArrayParams>
COSINE_DECAY_GLOBAL void cosine_decay_strided(
    const In* step,
    Out* out,
    const Scalars sc,
    const IdxT size,
    const float* init,
    const float* end,
    const int64_t* decay_steps,
    const Layout layout) {
  typedef typename Widen<In>::type S;
  typedef typename Compute<Out>::type T;
  IdxT i = block_begin<IdxT, 1>();
  if (i >= size) {
    return;
  }
  core::OperandOffsets loc =
      core::operand_offsets(i, layout.shape, layout.strides, layout.ndim);
  S s = Generated ? static_cast<S>(sc.start + loc.at[Operand::Step])
                  : Widen<In>::get(step[loc.at[Operand::Step]]);
  T init_value = T(sc.params.init);
  T end_value = T(sc.params.end);
  int64_t d = sc.params.decay_steps;
  if (ArrayParams) {
    init_value = T(init[loc.at[Operand::Init]]);
    end_value = T(end[loc.at[Operand::End]]);
    d = decay_steps[loc.at[Operand::DecaySteps]];
  }
  if (!math::valid_decay_steps(d)) { // array-valued decay_steps only
    out[i] = Narrow<Out>::get(T(quiet_nan()));
    return;
  }
  ElementRun<S, Out> run = {s, out + i};
  with_schedule<S>(init_value, end_value, d, sc.family, run);
}

} // namespace cosine_decay_cuda
