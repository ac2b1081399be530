// Copyright © 2026 mlx-cosine-decay authors.
//
// The cosine-decay learning-rate schedule as one MLX primitive:
//
//   value(step) = end + (init - end) * 0.5 * (1 + cos(pi * min(step, D) / D))
//
// evaluated exactly (see metal/cosine_decay_math.h) by SIMD, multi-threaded
// CPU kernels and a JIT-compiled Metal shader.

#pragma once

#include <cstdint>
#include <optional>
#include <variant>

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
 * read when the graph is built, so an entry < 1 gives NaN there (Schedule
 * checks them when it is made). The result dtype promotes the float dtype of
 * the steps with those of the init and end arrays.
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
 * A schedule as a value: validated once, then called with step arrays like
 * the callables of mlx.optimizers.
 */
class Schedule {
 public:
  Schedule(double init, int64_t decay_steps, double end = 0.0);
  /** Evaluates decay_steps to check that every entry is >= 1. */
  Schedule(Param init, mx::array decay_steps, Param end);

  mx::array operator()(const mx::array& step, mx::StreamOrDevice s = {}) const;
  mx::array values(int64_t num_steps, int64_t start = 0, mx::StreamOrDevice s = {})
      const;


 private:
  struct Scalars {
    double init;
    int64_t decay_steps;
    double end;
  };
  std::optional<Scalars> scalars_;
  std::optional<Param> init_, end_;
  std::optional<mx::array> decay_steps_;
};

/** Threads the CPU kernel may use for one large array (0: the default, from
 * MLX_COSINE_DECAY_NUM_THREADS or the number of cores). */
void set_num_threads(int n);
int num_threads();

/** The CPU instruction set the kernels run with: avx512, avx2 or baseline. */
const char* cpu_isa();

class CosineDecay : public mx::UnaryPrimitive {
 public:
  /**
   * Inputs: the steps unless `generated`, then init, end and decay_steps if
   * `array_params`, all broadcast to the output shape (generated steps with
   * scalar parameters: no inputs). Scalar parameters are used where there
   * are no arrays; `start` is the first generated step.
   */
  CosineDecay(
      mx::Stream stream,
      double init,
      double end,
      int64_t decay_steps,
      bool array_params,
      bool generated,
      int64_t start)
      : mx::UnaryPrimitive(stream),
        init_(init),
        end_(end),
        decay_steps_(decay_steps),
        array_params_(array_params),
        generated_(generated),
        start_(start) {}

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

  double init() const {
    return init_;
  }
  double end() const {
    return end_;
  }
  int64_t decay_steps() const {
    return decay_steps_;
  }
  bool array_params() const {
    return array_params_;
  }
  bool generated() const {
    return generated_;
  }
  int64_t start() const {
    return start_;
  }

 private:
  // d(value)/d(step) and the decay fraction, for the transforms.
  mx::array step_derivative(const std::vector<mx::array>& primals);
  mx::array decay_fraction(const std::vector<mx::array>& primals);

  double init_;
  double end_;
  int64_t decay_steps_;
  bool array_params_;
  bool generated_;
  int64_t start_;
};

} // namespace mlx_cosine_decay
