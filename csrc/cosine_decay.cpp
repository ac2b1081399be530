// Copyright © 2026 mlx-cosine-decay authors.
//
// The ops (validation, dtype promotion, graph nodes), the Schedule value and
// the transforms of the CosineDecay primitive. Evaluation lives in cpu/ and
// metal/; the kernels' shared core in core/.

#include "mlx_cosine_decay/cosine_decay.h"

#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>

#include "cpu/eval_now.h"
#include "cuda/backend.h"
#include "mlx/backend/metal/metal.h"
#include "mlx/memory.h"
#include "mlx/ops.h"

namespace mlx_cosine_decay {

namespace {

using cosine_decay_core::Operand;

constexpr int64_t max_decay_steps = (int64_t{1} << 62) - 1; // 2 D fits int64

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("[cosine_decay] " + what);
}

template <typename T>
std::string str(const T& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// The family's steps and multipliers: the ramp and the restart periods are
// computed in double, exact below 2**53.
constexpr int64_t max_exact_double = int64_t{1} << 53;

// decay_steps, or the first period of warm restarts (placed in double).
// T: int64_t, or uint64_t for the entries of unsigned arrays (2**64 - 1 is
// reported as itself, not as -1).
template <typename T = int64_t>
void check_decay_steps(T decay_steps, Kind kind) {
  bool restarts = kind == Kind::Restarts;
  std::string name = restarts ? "first_decay_steps" : "decay_steps";
  if (decay_steps < 1) {
    fail(name + " must be greater than 0, but got " + str(decay_steps) + ".");
  }
  auto max = restarts ? max_exact_double - 1 : max_decay_steps;
  if (decay_steps > static_cast<T>(max)) {
    fail(
        name + " must be less than " + (restarts ? "2**53" : "2**62") +
        ", but got " + str(decay_steps) + ".");
  }
}

void check_finite(double x, const char* name) {
  if (!std::isfinite(x)) {
    fail(std::string(name) + " must be finite, but got " + str(x) + ".");
  }
}

// The node state of cosine_decay's options: the plain schedule's own state
// where they are the defaults, so those nodes are today's, bit for bit.
Family family(const DecayOptions& o) {
  if (o.warmup_steps < 0) {
    fail(
        "warmup_steps must be non-negative, but got " + str(o.warmup_steps) +
        ".");
  }
  if (o.warmup_steps >= max_exact_double) {
    fail(
        "warmup_steps must be less than 2**53, but got " + str(o.warmup_steps) +
        ".");
  }
  check_finite(o.warmup_init, "warmup_init");
  if (!(o.exponent > 0) || !std::isfinite(o.exponent)) {
    fail(
        "exponent must be positive and finite, but got " + str(o.exponent) +
        ".");
  }
  auto f = cosine_decay_core::plain_cosine<double>();
  if (o.warmup_steps == 0 && o.exponent == 1.0) {
    return f;
  }
  f.kind = Kind::Warmup;
  f.warmup_steps = o.warmup_steps;
  f.warmup_init = o.warmup_steps > 0 ? o.warmup_init : 0.0; // else unused
  f.exponent = o.exponent;
  return f;
}

Family family(const RestartOptions& o) {
  if (!(o.t_mul > 0) || !std::isfinite(o.t_mul)) {
    fail("t_mul must be positive and finite, but got " + str(o.t_mul) + ".");
  }
  if (!(o.m_mul >= 0) || !std::isfinite(o.m_mul)) {
    fail(
        "m_mul must be non-negative and finite, but got " + str(o.m_mul) + ".");
  }
  auto f = cosine_decay_core::plain_cosine<double>();
  f.kind = Kind::Restarts;
  f.t_mul = o.t_mul;
  f.m_mul = o.m_mul;
  return f;
}

// A result larger than MLX's memory limit cannot be allocated (MLX's CPU
// allocator then returns null, and writing to it crashes): refuse it while
// the graph is built. The element count is formed without overflow.
void check_output_size(const mx::Shape& shape, mx::Dtype dtype) {
  size_t limit = mx::get_memory_limit();
  size_t bytes = mx::size_of(dtype);
  for (auto n : shape) {
    if (n != 0 && bytes > limit / static_cast<size_t>(n)) {
      std::ostringstream os;
      os << "the result (shape " << shape << ", " << dtype
         << ") is larger than MLX's memory limit of " << limit
         << " bytes (mx.set_memory_limit).";
      fail(os.str());
    }
    bytes *= static_cast<size_t>(n);
  }
}

void check_real(const mx::array& a, const char* name) {
  if (mx::issubdtype(a.dtype(), mx::complexfloating)) {
    fail(
        std::string(name) + " must have a real dtype, but got " +
        str(a.dtype()) + ".");
  }
}

// Where MLX's GPU is neither Metal nor CUDA with our CUDA plugin loaded,
// the op runs on the CPU. The Metal shader computes every node (in float,
// within its error bound). The CUDA kernels compute what they compute bit
// for bit as the CPU (cuda::runs_on_cuda): every value; the family's step
// slopes would need CUDA's sin and cos in double, which are not glibc's, so
// those nodes run on the CPU.
mx::Stream resolve_stream(
    mx::StreamOrDevice s,
    const Family& family = cosine_decay_core::plain_cosine<double>()) {
  auto stream = mx::to_stream(s);
  if (stream.device != mx::Device::gpu) {
    return stream;
  }
  bool gpu = mx::metal::is_available() ||
      (cuda::eval_gpu() && cuda::runs_on_cuda(family));
  if (!gpu) {
    return mx::default_stream(mx::Device::cpu);
  }
  return stream;
}

// The dtype of the decay fraction: the steps' own floating dtype, float32
// for integer and bool steps (as mlx.optimizers.cosine_decay).
mx::Dtype decay_dtype(const mx::array& step) {
  return mx::issubdtype(step.dtype(), mx::floating) ? step.dtype()
                                                    : mx::float32;
}

// Scalar init and end are rounded as MLX's weak Python scalars are in the
// reference: to float32, or kept double for float64 results (half precision
// results are computed from float32 parameters and rounded once). So a grid
// of float32 parameter arrays gives exactly the values of its schedules.
double as_parameter(double x, mx::Dtype dtype) {
  return dtype == mx::float64 ? x : static_cast<float>(x);
}

// warmup_init is a value of the schedule: rounded as init and end are.
Family for_dtype(Family f, mx::Dtype dtype) {
  f.warmup_init = as_parameter(f.warmup_init, dtype);
  return f;
}

// The node of a state on its inputs, all broadcast to the output; without
// inputs (generated steps, scalar parameters) its shape is (num_steps,), as
// CosineDecay::output_shapes says.
mx::array make_node(
    CosineDecay::State state,
    std::vector<mx::array> inputs,
    mx::Stream stream) {
  auto shape = inputs.empty() ? mx::Shape{static_cast<int>(state.num_steps)}
                              : inputs[0].shape();
  check_output_size(shape, state.dtype);
  state.family = for_dtype(state.family, state.dtype);
  return mx::array(
      std::move(shape),
      state.dtype,
      std::make_shared<CosineDecay>(stream, state),
      std::move(inputs));
}

// One step that is already evaluated and not traced, on a CPU stream, as an
// optimizer's `step` between eager updates: its value is computed now, on
// this thread, by the same kernel. Evaluating a one-element node through
// MLX's CPU stream costs a round trip between threads (tens of us on some
// machines, many times the kernel). A traced step (grad, vmap, compile,
// export) or one still to be computed builds the node as any other.
bool one_known_step(const mx::array& step, const mx::Stream& stream) {
  return stream.device == mx::Device::cpu && step.size() == 1 &&
      !step.is_tracer() && step.is_available();
}

// The scalars of nodes whose parameters are arrays: not read.
constexpr ScalarParams unused_scalars{0.0, 0.0, 1};

// A node with array parameters, in the order CosineDecay::input_index says.
mx::array array_params_node(
    std::optional<mx::array> step,
    const mx::array& init,
    const mx::array& decay_steps,
    const mx::array& end,
    mx::Dtype out_dtype,
    int64_t start,
    const Family& family,
    mx::Stream stream) {
  std::vector<mx::array> inputs;
  if (step) {
    inputs.push_back(*step);
  }
  auto param_dtype = CosineDecay::param_dtype(out_dtype);
  inputs.push_back(mx::astype(init, param_dtype, stream));
  inputs.push_back(mx::astype(end, param_dtype, stream));
  inputs.push_back(mx::astype(decay_steps, mx::int64, stream));
  inputs = mx::broadcast_arrays(inputs, stream);
  int64_t num_steps = step ? 0 : inputs[0].shape().back();
  return make_node(
      {step ? StepSource::Array : StepSource::Generated,
       ParamSource::Array,
       unused_scalars,
       start,
       num_steps,
       out_dtype,
       family},
      std::move(inputs),
      stream);
}

void check_integer(const mx::array& decay_steps) {
  if (!mx::issubdtype(decay_steps.dtype(), mx::integer)) {
    fail(
        "decay_steps must have an integer dtype, but got " +
        str(decay_steps.dtype()) + ".");
  }
}

// The result dtype as MLX types the reference's `end + decay * (init - end)`
// (decay in `decay`'s dtype): numbers are weak, so a number meets a floating
// array in the array's dtype and an integer or bool array as float32.
mx::Dtype result_dtype(mx::Dtype decay, const Param& init, const Param& end) {
  using Kind = std::optional<mx::Dtype>; // nullopt: a number
  auto kind = [](const Param& p, const char* name) -> Kind {
    if (auto* a = std::get_if<mx::array>(&p)) {
      check_real(*a, name);
      return a->dtype();
    }
    return std::nullopt;
  };
  auto with_number = [](mx::Dtype t) {
    return mx::issubdtype(t, mx::floating) ? t : mx::float32;
  };
  auto promote = [&](Kind a, Kind b) -> Kind {
    if (!a || !b) {
      return a ? with_number(*a) : b ? Kind(with_number(*b)) : std::nullopt;
    }
    return mx::promote_types(*a, *b);
  };
  Kind e = kind(end, "end");
  Kind difference = promote(kind(init, "init"), e);
  return *promote(e, promote(decay, difference));
}

// A number becomes an array of the kernel's parameter dtype (the value a
// scalar node would use: float32, or double for float64 results).
mx::array as_array(const Param& p, mx::Dtype dtype) {
  if (auto* x = std::get_if<double>(&p)) {
    auto param_dtype = CosineDecay::param_dtype(dtype);
    return mx::array(as_parameter(*x, dtype), param_dtype);
  }
  return std::get<mx::array>(p);
}

void check_range(int64_t num_steps, int64_t start) {
  if (num_steps < 0) {
    fail("num_steps must be non-negative, but got " + str(num_steps) + ".");
  }
  if (num_steps > std::numeric_limits<int32_t>::max()) {
    fail("num_steps must be less than 2**31, but got " + str(num_steps) + ".");
  }
  if (start > std::numeric_limits<int64_t>::max() - num_steps) {
    fail("start + num_steps must fit in int64.");
  }
}

// Warm restarts take finite numbers for init and end (RestartOptions);
// arrays are not read.
void check_restart_numbers(
    const Family& f,
    const Param& init,
    const Param& end) {
  if (f.kind != Kind::Restarts) {
    return;
  }
  for (auto [p, name] : {std::pair{&init, "init"}, std::pair{&end, "end"}}) {
    if (auto* x = std::get_if<double>(p)) {
      check_finite(*x, name);
    }
  }
}

// The parameters of a scalar node: numbers rounded for its dtype.
ScalarParams
scalars(const Param& init, int64_t decay_steps, const Param& end, mx::Dtype t) {
  return {
      as_parameter(std::get<double>(init), t),
      as_parameter(std::get<double>(end), t),
      decay_steps};
}

} // namespace

// Schedule: every op builds its node through one.

Schedule::Schedule(
    Param init,
    Steps decay_steps,
    Param end,
    const FamilyOptions& options)
    : init_(std::move(init)),
      end_(std::move(end)),
      decay_steps_(std::move(decay_steps)),
      family_(std::visit([](const auto& o) { return family(o); }, options)) {}

Schedule::Schedule(
    double init,
    int64_t decay_steps,
    double end,
    const FamilyOptions& options)
    : Schedule(init, Steps(decay_steps), end, options) {
  check_decay_steps(decay_steps, family_.kind);
  check_restart_numbers(family_, init_, end_);
}

Schedule Schedule::unchecked(
    Param init,
    mx::array decay_steps,
    Param end,
    const FamilyOptions& options) {
  result_dtype(mx::float32, init, end); // checks the arrays' dtypes
  check_integer(decay_steps);
  return Schedule(
      std::move(init), Steps(std::move(decay_steps)), std::move(end), options);
}

Schedule::Schedule(
    Param init,
    mx::array decay_steps,
    Param end,
    const FamilyOptions& options)
    : Schedule(unchecked(
          std::move(init),
          std::move(decay_steps),
          std::move(end),
          options)) {
  check_restart_numbers(family_, init_, end_);
  auto& d = std::get<mx::array>(decay_steps_);
  if (d.size() > 0) {
    // The extremes in a type that holds every entry as given.
    auto check = [&](auto type_tag, mx::Dtype dtype) {
      using T = decltype(type_tag);
      auto a = mx::astype(d, dtype);
      check_decay_steps(mx::min(a).item<T>(), family_.kind);
      check_decay_steps(mx::max(a).item<T>(), family_.kind);
    };
    if (mx::issubdtype(d.dtype(), mx::unsignedinteger)) {
      check(uint64_t{}, mx::uint64);
    } else {
      check(int64_t{}, mx::int64);
    }
  }
}

mx::array Schedule::operator()(const mx::array& step, mx::StreamOrDevice s)
    const {
  check_real(step, "step");
  auto stream = resolve_stream(s, family_);
  auto decay = decay_dtype(step);
  if (auto* d = std::get_if<int64_t>(&decay_steps_)) {
    auto node = make_node(
        {StepSource::Array,
         ParamSource::Scalar,
         scalars(init_, *d, end_, decay),
         0,
         0,
         decay,
         family_},
        {step},
        stream);
    if (one_known_step(step, stream)) {
      cpu::evaluate_now(node);
    }
    return node;
  }
  auto dtype = result_dtype(decay, init_, end_);
  return array_params_node(
      step,
      as_array(init_, dtype),
      std::get<mx::array>(decay_steps_),
      as_array(end_, dtype),
      dtype,
      0,
      family_,
      stream);
}

mx::array
Schedule::values(int64_t num_steps, int64_t start, mx::StreamOrDevice s) const {
  check_range(num_steps, start);
  auto stream = resolve_stream(s, family_);
  if (auto* d = std::get_if<int64_t>(&decay_steps_)) {
    return make_node(
        {StepSource::Generated,
         ParamSource::Scalar,
         scalars(init_, *d, end_, mx::float32),
         start,
         num_steps,
         mx::float32,
         family_},
        {},
        stream);
  }
  auto dtype = result_dtype(mx::float32, init_, end_);
  auto init = as_array(init_, dtype);
  auto end = as_array(end_, dtype);
  auto& decay_steps = std::get<mx::array>(decay_steps_);
  // The parameters get a trailing axis of length num_steps (stride 0); the
  // kernel generates the step from the position along it.
  auto param_shape = mx::broadcast_shapes(
      mx::broadcast_shapes(init.shape(), decay_steps.shape()), end.shape());
  auto shape = param_shape;
  shape.push_back(num_steps);
  auto expand = [&](const mx::array& p) {
    return mx::broadcast_to(
        mx::expand_dims(mx::broadcast_to(p, param_shape, stream), -1, stream),
        shape,
        stream);
  };
  return array_params_node(
      std::nullopt,
      expand(init),
      expand(decay_steps),
      expand(end),
      dtype,
      start,
      family_,
      stream);
}

// The ops: cosine_decay itself (the family's are inline in the header).

mx::array cosine_decay(
    const mx::array& step,
    double init,
    int64_t decay_steps,
    double end,
    mx::StreamOrDevice s) {
  return Schedule(init, decay_steps, end)(step, s);
}

mx::array cosine_decay(
    const mx::array& step,
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    mx::StreamOrDevice s) {
  return Schedule::unchecked(init, decay_steps, end)(step, s);
}

mx::array cosine_decay_values(
    const Param& init,
    const mx::array& decay_steps,
    const Param& end,
    int64_t num_steps,
    int64_t start,
    mx::StreamOrDevice s) {
  return Schedule::unchecked(init, decay_steps, end)
      .values(num_steps, start, s);
}

mx::array cosine_decay_values(
    double init,
    int64_t decay_steps,
    double end,
    int64_t num_steps,
    int64_t start,
    mx::StreamOrDevice s) {
  return Schedule(init, decay_steps, end).values(num_steps, start, s);
}

// Transforms

bool CosineDecay::is_equivalent(const mx::Primitive& other) const {
  return state_ == static_cast<const CosineDecay&>(other).state_;
}

// As MLX's Arange: the shape follows from the state where no input carries
// it (generated steps with scalar parameters), else from any input, since
// all are broadcast to the output.
std::vector<mx::Shape> CosineDecay::output_shapes(
    const std::vector<mx::array>& inputs) {
  if (inputs.empty()) {
    return {{static_cast<int>(state_.num_steps)}};
  }
  return {inputs[0].shape()};
}

// d value / d step = -(init - end) * pi / (2D) * sin(pi * step / D) below D,
// 0 above (the step is clamped). Computed with MLX ops in float32, or float64
// for float64 outputs.
// The family's kinds: a node of the same inputs that outputs the derivative
// (Output::StepSlope), computed in the kernels from the same period and
// warmup logic (core/cosine_family_math.h).
mx::array CosineDecay::step_derivative(const std::vector<mx::array>& primals) {
  auto& s = stream();
  auto in = input_index();
  auto& step = primals[in[Operand::Step]];
  bool arrays = state_.params == ParamSource::Array;
  auto dtype = state_.dtype;
  if (state_.family.kind != Kind::Cosine) {
    auto slope = state_;
    slope.family.output = Output::StepSlope;
    return mx::array(
        step.shape(),
        dtype,
        std::make_shared<CosineDecay>(resolve_stream(s, slope.family), slope),
        primals);
  }
  auto ft = dtype == mx::float64 ? mx::float64 : mx::float32;
  auto x = mx::astype(step, ft, s);
  auto& sc = state_.scalars;
  mx::array d = arrays ? mx::astype(primals[in[Operand::DecaySteps]], ft, s)
                       : mx::array(static_cast<double>(sc.decay_steps), ft);
  mx::array range = arrays
      ? mx::astype(
            mx::subtract(
                primals[in[Operand::Init]], primals[in[Operand::End]], s),
            ft,
            s)
      : mx::array(sc.init - sc.end, ft);
  auto pi = mx::array(std::numbers::pi, ft);
  auto slope = mx::multiply(
      mx::negative(
          mx::divide(
              mx::multiply(range, pi, s),
              mx::multiply(mx::array(2.0, ft), d, s),
              s),
          s),
      mx::sin(mx::divide(mx::multiply(pi, x, s), d, s), s),
      s);
  auto zero = mx::zeros_like(slope, s);
  return mx::astype(mx::where(mx::less(x, d, s), slope, zero, s), dtype, s);
}

// The value's weight on init (init_weight) or on end: every kind is linear in
// init, end and warmup_init, so the weight is this primitive with init and
// end set to (1, 0) or (0, 1) and warmup_init to 0. (For cosine_decay itself
// the weight on end is 1 - the weight on init; the family's warmup has none.)
mx::array CosineDecay::parameter_weight(
    const std::vector<mx::array>& primals,
    bool init_weight) {
  // Only array-parameter nodes have init and end among their inputs.
  auto in = input_index();
  auto weight = primals;
  int init = in[Operand::Init];
  int end = in[Operand::End];
  auto one = mx::ones_like(primals[init], stream());
  auto zero = mx::zeros_like(primals[init], stream());
  weight[init] = init_weight ? one : zero;
  weight[end] = init_weight ? zero : one;
  auto state = state_;
  state.family.warmup_init = 0.0;
  return mx::array(
      primals[init].shape(),
      state_.dtype,
      std::make_shared<CosineDecay>(stream(), state),
      std::move(weight));
}

std::vector<mx::array> CosineDecay::vjp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& cotangents,
    const std::vector<int>& argnums,
    const std::vector<mx::array>&) {
  std::vector<mx::array> jvps;
  for (auto arg : argnums) {
    jvps.push_back(jvp(primals, {cotangents[0]}, {arg})[0]);
  }
  return jvps;
}

std::vector<mx::array> CosineDecay::jvp(
    const std::vector<mx::array>& primals,
    const std::vector<mx::array>& tangents,
    const std::vector<int>& argnums) {
  // Elementwise with inputs broadcast to the output: vjp and jvp are both
  // "multiply by the partial derivative".
  auto& s = stream();
  auto in = input_index();
  if (state_.family.output == Output::StepSlope) {
    throw std::invalid_argument(
        "[cosine_decay] second derivatives of the schedule are not supported.");
  }
  bool plain = state_.family.kind == Kind::Cosine;
  std::optional<mx::array> decay;
  std::optional<mx::array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    int arg = argnums[i];
    auto& t = tangents[i];
    mx::array term = mx::zeros_like(t, s);
    if (arg == in[Operand::Step]) {
      if (mx::issubdtype(primals[arg].dtype(), mx::floating)) {
        term = mx::multiply(t, step_derivative(primals), s);
      }
    } else if (arg == in[Operand::Init] || arg == in[Operand::End]) {
      bool is_init = arg == in[Operand::Init];
      if (!plain) {
        term = mx::multiply(t, parameter_weight(primals, is_init), s);
      } else {
        if (!decay) {
          decay = parameter_weight(primals, true);
        }
        auto w = is_init
            ? *decay
            : mx::subtract(mx::array(1.0, decay->dtype()), *decay, s);
        term = mx::multiply(t, w, s);
      }
    } // decay_steps is an integer: no derivative
    out = out ? mx::add(*out, term, s) : term;
  }
  return {*out};
}

std::pair<std::vector<mx::array>, std::vector<int>> CosineDecay::vmap(
    const std::vector<mx::array>& inputs,
    const std::vector<int>& axes) {
  // Move each mapped axis to the front and give unmapped inputs a leading
  // axis of 1; the node is elementwise over its broadcast inputs.
  auto& s = stream();
  std::vector<mx::array> moved;
  for (size_t i = 0; i < inputs.size(); ++i) {
    moved.push_back(
        axes[i] >= 0 ? mx::moveaxis(inputs[i], axes[i], 0, s)
                     : mx::expand_dims(inputs[i], 0, s));
  }
  if (moved.size() > 1) {
    moved = mx::broadcast_arrays(moved, s);
  }
  auto shape = moved[0].shape();
  return {
      {mx::array(
          std::move(shape),
          state_.dtype,
          std::make_shared<CosineDecay>(s, state_),
          std::move(moved))},
      {0}};
}

} // namespace mlx_cosine_decay
