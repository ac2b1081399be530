// Copyright © 2026 mlx-cosine-decay authors.
//
// The cosine-decay learning-rate schedule as one MLX primitive:
//
//   value(step) = end + (init - end) * 0.5 * (1 + cos(pi * min(step, D) / D))
//
// evaluated exactly (see core/cosine_decay_math.h) by SIMD, multi-threaded
// CPU kernels and a JIT-compiled Metal shader.

#pragma once

#include <cstdint>
#include <optional>
#include <variant>

// Quoted and relative: found beside this header once installed
// (mlx_cosine_decay/core/), through the csrc include directory in the build.
#include "core/kernel_params.h"
#include "mlx/array.h"
#include "mlx/primitives.h"
#include "mlx/stream.h"
#include "mlx/utils.h"

namespace mlx_cosine_decay {

namespace mx = mlx::core;

/**
 * The schedule at `step` (any real dtype, shape and layout). The result is
 * float32 for integer and bool steps and the step's dtype for floating steps.
 * Throws std::invalid_argument if decay_steps < 1 and for non-real steps.
 */
mx::array cosine_decay(
    const mx::array& step,
    double init,
    int64_t decay_steps,
    double end = 0.0,
    mx::StreamOrDevice s = {});

/**
 * init or end: an array, or a number that takes the result's dtype as MLX's
 * weak Python scalars do (float32, or float64 for float64 results).
 */
using Param = std::variant<double, mx::array>;

/**
 * As above with array-valued parameters, which broadcast against each other
 * and the steps. decay_steps must have an integer dtype; its entries are not
 * read when the graph is built, so an entry outside [1, 2**62 - 1] gives NaN
 * there on every backend (Schedule checks them when it is made). The result
 * dtype is MLX's for the reference's `end + decay * (init - end)` (numbers
 * weak). Throws std::invalid_argument if the result would exceed MLX's
 * memory limit.
 */
mx::array cosine_decay(
    const mx::array& step,
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    mx::StreamOrDevice s = {});

/**
 * The schedule at steps start, ..., start + num_steps - 1, generated inside
 * the kernel: shape broadcast(init, decay_steps, end) + (num_steps,), float32
 * unless init or end promote it. No step array is made.
 */
mx::array cosine_decay_values(
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    int64_t num_steps,
    int64_t start = 0,
    mx::StreamOrDevice s = {});

/** As above with scalar parameters: shape (num_steps,), float32. */
mx::array cosine_decay_values(
    double init,
    int64_t decay_steps,
    double end,
    int64_t num_steps,
    int64_t start = 0,
    mx::StreamOrDevice s = {});

/**
 * The cosine family's options of cosine_decay (keyword arguments in Python);
 * the defaults give cosine_decay itself, the same node bit for bit:
 *
 *   step <  W: warmup_init + (init - warmup_init) * step / W
 *   step >= W: end + (init - end) * d ** exponent,
 *              d = 0.5 * (1 + cos(pi * min(step - W, D) / D))
 *
 * with W = warmup_steps and D = decay_steps (optax's
 * warmup_cosine_decay_schedule, Keras' CosineDecay with a warmup).
 * step - warmup_steps is exact, so with exponent 1 the decay is cosine_decay
 * at step - warmup_steps, bit for bit. warmup_steps must be in [0, 2**53),
 * warmup_init finite (rounded as init is), exponent positive and finite.
 * They are scalars also where init, end and decay_steps are arrays.
 */
struct DecayOptions {
  int64_t warmup_steps = 0;
  double warmup_init = 0.0;
  double exponent = 1.0;
};

/**
 * Warm restarts (SGDR; Keras' CosineDecayRestarts with alpha = end / init):
 * period i starts at S_i = F (t_mul^i - 1) / (t_mul - 1) (F i for t_mul 1;
 * F = first_decay_steps) and lasts F t_mul^i; in it the value is
 *
 *   end + (init - end) * m_mul^i * 0.5 * (1 + cos(pi * (step - S_i) / T_i)).
 *
 * Restarts never end; steps below 0 take step 0's value; for t_mul < 1 the
 * periods shrink towards F / (1 - t_mul), and steps from there on are NaN.
 * The boundaries are that closed form in double, and every step is placed by
 * comparing it with them (exact for integer t_mul and short binary fractions
 * such as 1.5; see core/cosine_family_math.h); steps are taken to double
 * (integers exact up to 2**53). first_decay_steps must be in [1, 2**53),
 * t_mul positive and finite, m_mul non-negative and finite, scalar init and
 * end finite.
 */
struct RestartOptions {
  double t_mul = 2.0;
  double m_mul = 1.0;
};

/**
 * A member of the cosine family: cosine_decay with its options (the
 * default, cosine_decay itself), or warm restarts, where decay_steps is
 * first_decay_steps. Spell the type out: DecayOptions{...} or
 * RestartOptions{...}.
 */
using FamilyOptions = std::variant<DecayOptions, RestartOptions>;

/**
 * A schedule as a value: validated once, then called with step arrays like
 * the callables of mlx.optimizers. Every op builds its node through one.
 */
class Schedule {
 public:
  Schedule(
      double init,
      int64_t decay_steps,
      double end = 0.0,
      const FamilyOptions& options = {});
  /** Evaluates decay_steps to check that every entry is in range. */
  Schedule(
      Param init,
      mx::array decay_steps,
      Param end,
      const FamilyOptions& options = {});
  /**
   * As the constructor above without reading decay_steps' entries (the ops
   * build the graph only): an entry out of range gives NaN there.
   */
  static Schedule unchecked(
      Param init,
      mx::array decay_steps,
      Param end,
      const FamilyOptions& options = {});

  /** cosine_decay_restarts as a value (decay_steps: the first period). */
  static Schedule restarts(
      double init,
      int64_t first_decay_steps,
      double end = 0.0,
      const RestartOptions& options = {}) {
    return Schedule(init, first_decay_steps, end, options);
  }
  static Schedule restarts(
      Param init,
      mx::array first_decay_steps,
      Param end,
      const RestartOptions& options = {}) {
    return Schedule(
        std::move(init), std::move(first_decay_steps), std::move(end), options);
  }

  /**
   * The schedule at `step`, a lazy node; except for one step that is
   * already evaluated and not traced, with numbers for the parameters, on a
   * CPU stream (an optimizer's step between eager updates): that value is
   * computed at once by the node's kernel and returned as a constant.
   */
  mx::array operator()(const mx::array& step, mx::StreamOrDevice s = {}) const;
  mx::array
  values(int64_t num_steps, int64_t start = 0, mx::StreamOrDevice s = {}) const;

 private:
  using Steps = std::variant<int64_t, mx::array>; // int64_t: scalar params
  Schedule(Param init, Steps decay_steps, Param end, const FamilyOptions& o);
  Param init_, end_;
  Steps decay_steps_;
  cosine_decay_core::FamilyParams<double> family_;
};

/**
 * The family at `step` with its options, as one node (Schedule::unchecked
 * for array parameters: their decay_steps entries are not read here).
 */
inline mx::array cosine_decay(
    const mx::array& step,
    double init,
    int64_t decay_steps,
    double end,
    const FamilyOptions& options,
    mx::StreamOrDevice s = {}) {
  return Schedule(init, decay_steps, end, options)(step, s);
}
inline mx::array cosine_decay(
    const mx::array& step,
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    const FamilyOptions& options,
    mx::StreamOrDevice s = {}) {
  return Schedule::unchecked(init, decay_steps, end, options)(step, s);
}
/** The family at generated steps start, ..., start + num_steps - 1. */
inline mx::array cosine_decay_values(
    double init,
    int64_t decay_steps,
    double end,
    const FamilyOptions& options,
    int64_t num_steps,
    int64_t start = 0,
    mx::StreamOrDevice s = {}) {
  return Schedule(init, decay_steps, end, options).values(num_steps, start, s);
}
inline mx::array cosine_decay_values(
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    const FamilyOptions& options,
    int64_t num_steps,
    int64_t start = 0,
    mx::StreamOrDevice s = {}) {
  auto schedule = Schedule::unchecked(init, decay_steps, end, options);
  return schedule.values(num_steps, start, s);
}

/**
 * Warm restarts at `step`: cosine_decay with RestartOptions. Their values
 * at generated steps: cosine_decay_values with RestartOptions.
 */
inline mx::array cosine_decay_restarts(
    const mx::array& step,
    double init,
    int64_t first_decay_steps,
    double end = 0.0,
    const RestartOptions& options = {},
    mx::StreamOrDevice s = {}) {
  return cosine_decay(step, init, first_decay_steps, end, options, s);
}
inline mx::array cosine_decay_restarts(
    const mx::array& step,
    const Param& init,
    const mx::array& first_decay_steps,
    const Param& end,
    const RestartOptions& options = {},
    mx::StreamOrDevice s = {}) {
  return cosine_decay(step, init, first_decay_steps, end, options, s);
}

/** The most threads the CPU kernel uses. */
constexpr int max_num_threads = 256;

/**
 * Threads the CPU kernel may use for one large array: 1 to max_num_threads,
 * or 0 for the default (MLX_COSINE_DECAY_NUM_THREADS, else the number of
 * cores, capped at max_num_threads). Throws std::invalid_argument otherwise.
 * Threads that the system cannot start are done without: the work runs on
 * fewer.
 */
void set_num_threads(int n);
int num_threads();

/** The CPU instruction set the kernels run with: avx512, avx2 or baseline. */
const char* cpu_isa();

using cosine_decay_core::ParamSource;
using cosine_decay_core::StepSource;
using ScalarParams = cosine_decay_core::ScalarParams<double>;
using Family = cosine_decay_core::FamilyParams<double>;
using cosine_decay_core::Kind;
using cosine_decay_core::Output;

class CosineDecay : public mx::UnaryPrimitive {
 public:
  /** What a node computes, as data. */
  struct State {
    StepSource steps;
    ParamSource params;
    ScalarParams scalars; // read only where params == ParamSource::Scalar
    int64_t start; // the first generated step
    int64_t num_steps; // generated steps: the length of the output's last axis
    mx::Dtype dtype; // the output's (array-valued init and end: param_dtype)
    Family family = cosine_decay_core::plain_cosine<double>();
    bool operator==(const State&) const = default;
  };

  /**
   * The dtype of array-valued init and end for a result dtype: float32 for
   * float16/bfloat16 results (computed in float32 and rounded once, so a
   * number is the same float32 whether decay_steps is a number or an array),
   * else the result dtype.
   */
  static mx::Dtype param_dtype(mx::Dtype out) {
    return out == mx::float16 || out == mx::bfloat16 ? mx::float32 : out;
  }

  /**
   * Which input is which, the one place that says it: the steps (if
   * StepSource::Array), then init, end and decay_steps (if
   * ParamSource::Array), all broadcast to the output shape; init and end in
   * param_dtype(dtype), decay_steps as int64. Indexed by
   * cosine_decay_core::Operand (Step, Init, End, DecaySteps); -1 where the
   * operand is not an input. Generated steps with scalar parameters: no
   * inputs at all.
   */
  struct InputIndex {
    int index[cosine_decay_core::Operand::Count];
    int operator[](int operand) const {
      return index[operand];
    }
    bool has(int operand) const {
      return index[operand] >= 0;
    }
  };
  static InputIndex input_index(StepSource steps, ParamSource params) {
    int first = steps == StepSource::Array ? 1 : 0;
    bool arrays = params == ParamSource::Array;
    return {{
        steps == StepSource::Array ? 0 : -1,
        arrays ? first : -1,
        arrays ? first + 1 : -1,
        arrays ? first + 2 : -1,
    }};
  }

  CosineDecay(mx::Stream stream, State state)
      : mx::UnaryPrimitive(stream), state_(state) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override;
  void eval_gpu(const std::vector<mx::array>& inputs, mx::array& out) override;

  std::vector<mx::array> jvp(
      const std::vector<mx::array>& primals,
      const std::vector<mx::array>& tangents,
      const std::vector<int>& argnums) override;
  std::vector<mx::array> vjp(
      const std::vector<mx::array>& primals,
      const std::vector<mx::array>& cotangents,
      const std::vector<int>& argnums,
      const std::vector<mx::array>& outputs) override;
  std::pair<std::vector<mx::array>, std::vector<int>> vmap(
      const std::vector<mx::array>& inputs,
      const std::vector<int>& axes) override;
  std::vector<mx::Shape> output_shapes(
      const std::vector<mx::array>& inputs) override;

  const char* name() const override {
    return "CosineDecay";
  }
  bool is_equivalent(const mx::Primitive& other) const override;

  const State& state() const {
    return state_;
  }
  InputIndex input_index() const {
    return input_index(state_.steps, state_.params);
  }

 private:
  // d(value)/d(step) and the value's weight on init or end, for the
  // transforms.
  mx::array step_derivative(const std::vector<mx::array>& primals);
  mx::array parameter_weight(
      const std::vector<mx::array>& primals,
      bool init_weight);

  State state_;
};

} // namespace mlx_cosine_decay
