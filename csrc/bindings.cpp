// Copyright © 2026 mlx-cosine-decay authors.
//
// The Python module: bindings only. Validation lives in the C++ ops; the one
// conversion done here is decay_steps from a Python number (see DecaySteps).

#include <cmath>
#include <string>
#include <variant>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>

#include "common/kernel_spec.h"
#include "cuda/backend.h"
#include "cuda/kernel_source.h"
#include "metal/kernel_source.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace nb = nanobind;
using namespace nb::literals;
namespace mx = mlx::core;
namespace cd = mlx_cosine_decay;

namespace {

// decay_steps given as a Python number, kept as the object. nanobind's
// int64_t caster turns an int outside int64 (2**63, 1e20) or an integral
// float (1000.0, which mlx.optimizers accepts) into "incompatible function
// arguments"; this one takes any non-array argument, and to_int64() gives
// the error that names decay_steps.
struct DecaySteps {
  nb::object value;
};

[[noreturn]] void type_error(const std::string& what) {
  throw nb::type_error(("[cosine_decay] " + what).c_str());
}

[[noreturn]] void value_error(const std::string& what) {
  throw nb::value_error(("[cosine_decay] " + what).c_str());
}

// An integer argument given as a Python number: an int, a NumPy integer, or
// an integral float. `what` is what else it may be; `low` and `high` say what
// it must be where it is below or above int64 (the op checks the range
// inside).
struct IntegerArg {
  const char* name;
  const char* what;
  const char* low;
  const char* high;
};

// Below 1, the reference's text.
constexpr IntegerArg decay_steps_arg{
    "decay_steps",
    "an integer or an integer array",
    " must be greater than 0",
    " must fit in int64"};
constexpr IntegerArg warmup_steps_arg{
    "warmup_steps",
    "an integer",
    " must be non-negative",
    " must be less than 2**53"};

int64_t to_int64(nb::handle x, const IntegerArg& arg) {
  auto shown = [&] { return std::string(nb::repr(x).c_str()); };
  auto out_of_range = [&](bool negative) {
    value_error(
        std::string(arg.name) + (negative ? arg.low : arg.high) + ", but got " +
        shown() + ".");
  };
  if (PyIndex_Check(x.ptr())) { // int, bool, NumPy integers
    nb::object i = nb::steal(PyNumber_Index(x.ptr()));
    if (!i.is_valid()) {
      throw nb::python_error();
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
    if (overflow != 0) {
      out_of_range(overflow < 0);
    }
    return v;
  }
  double v = PyFloat_AsDouble(x.ptr()); // float, or anything with __float__
  if (v == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    type_error(
        std::string(arg.name) + " must be " + arg.what + ", but got " +
        nb::type_name(x.type()).c_str() + ".");
  }
  if (!std::isfinite(v) || v != std::trunc(v)) {
    type_error(
        std::string(arg.name) + " must be an integer, but got " + shown() +
        ".");
  }
  if (v < -0x1p63 || v >= 0x1p63) {
    out_of_range(v < 0);
  }
  return static_cast<int64_t>(v);
}

// The family's members as Python sees them: the op's name and that of its
// decay_steps, the keyword options as a bound function takes them (Args, in
// the order of names()) and their part of the Python signature, and how
// Schedule makes one (Schedule's signature: its head and result).
struct Decay {
  static constexpr const char* name = "cosine_decay";
  static constexpr const char* steps = "decay_steps";
  static constexpr const char* schedule_head = "__init__(self, ";
  static constexpr const char* schedule_result = "None";
  using Args = std::tuple<const nb::object&, double, double>;
  static constexpr const char* signature =
      "warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0";
  static auto names() {
    return std::make_tuple(
        nb::kw_only(),
        "warmup_steps"_a = 0,
        "warmup_init"_a = 0.0,
        "exponent"_a = 1.0);
  }
  static cd::FamilyOptions
  options(const nb::object& warmup_steps, double warmup_init, double exponent) {
    return cd::DecayOptions{
        to_int64(warmup_steps, warmup_steps_arg), warmup_init, exponent};
  }
};

struct Restarts {
  static constexpr const char* name = "cosine_decay_restarts";
  static constexpr const char* steps = "first_decay_steps";
  static constexpr const char* schedule_head = "restarts(";
  static constexpr const char* schedule_result = "Schedule";
  using Args = std::tuple<double, double>;
  static constexpr const char* signature =
      "t_mul: float = 2.0, m_mul: float = 1.0";
  static auto names() {
    return std::make_tuple(nb::kw_only(), "t_mul"_a = 2.0, "m_mul"_a = 1.0);
  }
  static cd::FamilyOptions options(double t_mul, double m_mul) {
    return cd::RestartOptions{t_mul, m_mul};
  }
};

// The two forms every function is bound in, numbers first (nanobind tries
// overloads in order, and DecaySteps and double refuse arrays): numbers make
// a node with scalar parameters; in the second form each may be an array.
// op() is the schedule an op evaluates (it does not read decay_steps).
struct Numbers {
  using Param = double;
  using Steps = DecaySteps;
  static constexpr const char* param_type = "float";
  static constexpr const char* steps_type = "int";
  static int64_t decay_steps(const DecaySteps& d) {
    return to_int64(d.value, decay_steps_arg);
  }
  static cd::Schedule
  op(double init, const DecaySteps& d, double end, cd::FamilyOptions o) {
    return cd::Schedule(init, decay_steps(d), end, o);
  }
};

struct Arrays {
  using Param = cd::Param;
  using Steps = std::variant<mx::array, DecaySteps>;
  static constexpr const char* param_type = "float | mlx.core.array";
  static constexpr const char* steps_type = "int | mlx.core.array";
  static mx::array decay_steps(const Steps& d) {
    if (auto* a = std::get_if<mx::array>(&d)) {
      return *a;
    }
    return mx::array(Numbers::decay_steps(std::get<DecaySteps>(d)), mx::int64);
  }
  static cd::Schedule
  op(const Param& init, const Steps& d, const Param& end, cd::FamilyOptions o) {
    return cd::Schedule::unchecked(init, decay_steps(d), end, o);
  }
};

// Calls def(form) for each form.
template <typename Def>
void def_forms(Def def) {
  def(Numbers{});
  def(Arrays{});
}

// The functions bound for a form and a member, whose options are Opts....
template <typename Form, typename Member, typename = typename Member::Args>
struct Bound;

template <typename Form, typename Member, typename... Opts>
struct Bound<Form, Member, std::tuple<Opts...>> {
  using P = typename Form::Param;
  using D = typename Form::Steps;

  static mx::array at(
      const mx::array& step,
      const P& init,
      const D& decay_steps,
      const P& end,
      Opts... options,
      mx::StreamOrDevice s) {
    auto o = Member::options(options...);
    return Form::op(init, decay_steps, end, o)(step, s);
  }
  static mx::array values(
      const P& init,
      const D& decay_steps,
      const P& end,
      int64_t num_steps,
      int64_t start,
      Opts... options,
      mx::StreamOrDevice s) {
    auto o = Member::options(options...);
    return Form::op(init, decay_steps, end, o).values(num_steps, start, s);
  }
  // Schedule's constructor, which checks an array decay_steps.
  static cd::Schedule
  schedule(const P& init, const D& decay_steps, const P& end, Opts... o) {
    auto d = Form::decay_steps(decay_steps);
    return cd::Schedule(init, d, end, Member::options(o...));
  }
  static void
  init(cd::Schedule* self, const P& init, const D& d, const P& end, Opts... o) {
    new (self) cd::Schedule(schedule(init, d, end, o...));
  }
};

// The Python signature of a form and member: {P} stands for the type of init
// and end, {D} for that of decay_steps, {O} for the keyword options, {N} for
// the op's name and {S} for its decay_steps' name; {H} and {R} for the head
// and result of Schedule's signature.
template <typename Form, typename Member>
std::string signature(std::string text) {
  for (auto [key, value] :
       {std::pair{"{P}", Form::param_type},
        std::pair{"{D}", Form::steps_type},
        std::pair{"{O}", Member::signature},
        std::pair{"{N}", Member::name},
        std::pair{"{S}", Member::steps},
        std::pair{"{H}", Member::schedule_head},
        std::pair{"{R}", Member::schedule_result}}) {
    for (size_t at; (at = text.find(key)) != std::string::npos;) {
      text.replace(at, 3, value);
    }
  }
  return text;
}

// def(annotations..., extra...) with the annotations of the tuples.
template <typename Def, typename... Tuples>
void def_with(Def def, Tuples... annotations) {
  std::apply(def, std::tuple_cat(annotations...));
}

// A test hook that takes a GPU kernel's spec as named arguments, the same
// for both backends, and returns f(spec).
template <typename F>
void def_kernel_hook(nb::module_& m, const char* name, F f) {
  m.def(
      name,
      [f](bool contiguous,
          bool generated,
          bool array_params,
          mx::Dtype step,
          mx::Dtype out,
          bool large) {
        return f(
            cd::common::KernelSpec{
                contiguous, generated, array_params, step, out, large});
      },
      "contiguous"_a,
      "generated"_a,
      "array_params"_a,
      "step"_a,
      "out"_a,
      "large"_a);
}

} // namespace

namespace nanobind::detail {
template <>
struct type_caster<DecaySteps> {
  NB_TYPE_CASTER(DecaySteps, const_name("int"))

  bool from_python(handle src, uint8_t, cleanup_list*) noexcept {
    if (isinstance<mx::array>(src)) {
      return false; // the overload with array parameters takes it
    }
    value.value = borrow(src);
    return true;
  }

  static handle
  from_cpp(const DecaySteps& d, rv_policy, cleanup_list*) noexcept {
    return d.value.inc_ref();
  }
};
} // namespace nanobind::detail

namespace {

// Binds a member's op at step and its Schedule (Decay's: Schedule's
// constructor, Restarts': Schedule.restarts) in a form.
template <typename Form, typename Member>
void def_member(
    nb::module_& m,
    nb::class_<cd::Schedule>& schedule,
    const std::string& doc) {
  using B = Bound<Form, Member>;
  auto params = std::make_tuple("init"_a, nb::arg(Member::steps).none());
  auto stream = std::make_tuple("stream"_a = nb::none());
  auto op_sig = signature<Form, Member>(
      "def {N}(step: mlx.core.array, init: {P}, {S}: {D}, end: {P} = 0.0, "
      "*, {O}, stream: mlx.core.StreamOrDevice = None) -> mlx.core.array");
  def_with(
      [&](auto... a) {
        m.def(Member::name, &B::at, a..., nb::sig(op_sig.c_str()), doc.c_str());
      },
      std::make_tuple("step"_a),
      params,
      std::make_tuple("end"_a = 0.0),
      Member::names(),
      stream);
  auto schedule_sig = signature<Form, Member>(
      "def {H}init: {P}, {S}: {D}, end: {P}, *, {O}) -> {R}");
  def_with(
      [&](auto... a) {
        if constexpr (std::is_same_v<Member, Decay>) {
          schedule.def(
              "__init__", &B::init, a..., nb::sig(schedule_sig.c_str()));
        } else {
          schedule.def_static(
              "restarts",
              &B::schedule,
              a...,
              nb::sig(schedule_sig.c_str()),
              "The warm-restart schedule (see ``cosine_decay_restarts``) as "
              "a value.");
        }
      },
      params,
      std::make_tuple("end"_a),
      Member::names());
}

} // namespace

NB_MODULE(_ext, m) {
  m.doc() = "The CosineDecay MLX primitive (private: use mlx_cosine_decay).";
  // The array and stream types are mlx.core's: registered before any use.
  nb::module_::import_("mlx.core");

  // The keyword arguments of cosine_decay's options, documented once.
  const std::string warmup_doc = R"pbdoc(
            warmup_steps (int, optional): Steps of linear warmup from
              ``warmup_init`` to ``init`` before the decay,
              ``0 <= warmup_steps < 2**53``. Default: ``0``.
            warmup_init (float, optional): The value at step 0 of the warmup.
              Default: ``0.0``.
            exponent (float, optional): The decay fraction's power (optax's
              ``exponent``), positive. Default: ``1.0``.)pbdoc";
  const std::string restart_doc = R"pbdoc(
            t_mul (float, optional): Each period's length relative to the
              previous one, positive. Default: ``2.0``.
            m_mul (float, optional): Each period's peak (above ``end``)
              relative to the previous one, non-negative. Default: ``1.0``.)pbdoc";
  const std::string cosine_decay_doc = R"pbdoc(
        The cosine-decay schedule at ``step`` as one ``CosineDecay`` node.

        ``end + (init - end) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
        decay_steps))``, the values of ``mlx.optimizers.cosine_decay``; the
        keyword arguments add a linear warmup and an exponent. Array
        parameters broadcast with ``step``. The entries of an array
        ``decay_steps`` are not read when the graph is built: one outside
        [1, 2**62 - 1] gives NaN there (``mlx_cosine_decay.cosine_decay``
        checks them when the schedule is made).

        Args:
            step (array): The steps: any real dtype, shape and layout.
            init (float or array): Initial value.
            decay_steps (int or array): Number of steps to decay over, at
              least 1: an integer array, or a number (an integral float such
              as ``1e6`` is accepted).
            end (float or array, optional): Final value. Default: ``0.0``.)pbdoc" +
      warmup_doc + R"pbdoc(

        Returns:
            array: The schedule with the broadcast shape of ``step`` and the
            parameters; float32 for integer and bool steps, else the dtype of
            ``step``, promoted with the dtypes of ``init`` and ``end`` arrays
            (numbers are weak, as in MLX).
      )pbdoc";
  const std::string values_doc = R"pbdoc(
        The schedule at steps ``start .. start + num_steps - 1``.

        The steps are generated inside the kernel: no step array is made.

        Args:
            init (float or array): Initial value.
            decay_steps (int or array): Number of steps to decay over, at
              least 1.
            end (float or array): Final value.
            num_steps (int): Number of steps, ``0 <= num_steps < 2**31``.
            start (int, optional): First step. Default: ``0``.)pbdoc" +
      warmup_doc + R"pbdoc(

        Returns:
            array: Shape ``broadcast(init, decay_steps, end).shape +
            (num_steps,)``, ``(num_steps,)`` for numbers; float32 unless
            ``init`` or ``end`` arrays promote it.
      )pbdoc";
  const std::string restarts_doc = R"pbdoc(
        The warm-restart schedule at ``step`` as one ``CosineDecay`` node.

        Warm restarts (SGDR; Keras' ``CosineDecayRestarts`` with ``alpha =
        end / init``): period ``i`` lasts ``first_decay_steps * t_mul**i``
        and in it the value is ``end + (init - end) * m_mul**i * 0.5 * (1 +
        cos(pi * t / T_i))``, ``t`` the steps into the period. Restarts never
        end; steps below 0 take step 0's value; for ``t_mul < 1``, steps from
        ``first_decay_steps / (1 - t_mul)`` on are NaN. Array parameters
        broadcast with ``step``; entries of an array ``first_decay_steps``
        out of range give NaN.

        Args:
            step (array): The steps: any real dtype.
            init (float or array): The first peak.
            first_decay_steps (int or array): Length of the first period, at
              least 1 and below ``2**53``.
            end (float or array, optional): The value each period decays to.
              Default: ``0.0``.)pbdoc" +
      restart_doc + R"pbdoc(

        Returns:
            array: As ``cosine_decay``.
      )pbdoc";

  nb::class_<cd::Schedule> schedule(
      m,
      "Schedule",
      R"pbdoc(
        A cosine-decay schedule as a value: validated once, then called with
        step arrays like the callables of ``mlx.optimizers``.

        Private: ``mlx_cosine_decay.cosine_decay`` makes one and wraps it.
        With array parameters, making one evaluates ``decay_steps`` to check
        that every entry is at least 1.
      )pbdoc");

  def_forms([&]<typename Form>(Form) {
    def_member<Form, Decay>(m, schedule, cosine_decay_doc);
    def_member<Form, Restarts>(m, schedule, restarts_doc);
    auto values_sig = signature<Form, Decay>(
        "def cosine_decay_values(init: {P}, decay_steps: {D}, end: {P}, "
        "num_steps: int, start: int = 0, *, {O}, "
        "stream: mlx.core.StreamOrDevice = None) -> mlx.core.array");
    def_with(
        [&](auto... a) {
          m.def(
              "cosine_decay_values",
              &Bound<Form, Decay>::values,
              a...,
              nb::sig(values_sig.c_str()),
              values_doc.c_str());
        },
        std::make_tuple("init"_a, "decay_steps"_a.none(), "end"_a),
        std::make_tuple("num_steps"_a, "start"_a = 0),
        Decay::names(),
        std::make_tuple("stream"_a = nb::none()));
  });
  schedule
      .def(
          "__call__",
          &cd::Schedule::operator(),
          "step"_a,
          nb::kw_only(),
          "stream"_a = nb::none(),
          nb::sig(
              "def __call__(self, step: mlx.core.array, *, "
              "stream: mlx.core.StreamOrDevice = None) -> mlx.core.array"),
          R"pbdoc(
            The schedule at ``step`` (an array of any real dtype).

            Args:
                step (array): The steps.

            Returns:
                array: The values, as ``cosine_decay``.
          )pbdoc")
      .def(
          "values",
          &cd::Schedule::values,
          "num_steps"_a,
          "start"_a = 0,
          nb::kw_only(),
          "stream"_a = nb::none(),
          nb::sig(
              "def values(self, num_steps: int, start: int = 0, *, "
              "stream: mlx.core.StreamOrDevice = None) -> mlx.core.array"),
          R"pbdoc(
            The schedule at steps ``start .. start + num_steps - 1``, generated
            inside the kernel.

            Args:
                num_steps (int): Number of steps, ``0 <= num_steps < 2**31``.
                start (int, optional): First step. Default: ``0``.

            Returns:
                array: Shape ``param_shape + (num_steps,)``.
          )pbdoc");

  m.def(
      "set_num_threads",
      &cd::set_num_threads,
      "n"_a,
      nb::sig("def set_num_threads(n: int) -> None"),
      R"pbdoc(
        Sets the number of threads the CPU kernel may use for one large array.

        Args:
            n (int): The number of threads; ``0`` restores the default
              (``MLX_COSINE_DECAY_NUM_THREADS``, else the number of cores).
      )pbdoc");
  m.def(
      "num_threads",
      &cd::num_threads,
      nb::sig("def num_threads() -> int"),
      R"pbdoc(
        The number of threads the CPU kernel may use for one large array.

        Returns:
            int: The number set by ``set_num_threads``, or the default.
      )pbdoc");
  m.def(
      "cpu_isa",
      &cd::cpu_isa,
      nb::sig("def cpu_isa() -> str"),
      R"pbdoc(
        The instruction set the CPU kernels run with on this machine.

        ``MLX_COSINE_DECAY_ISA=baseline|avx2|avx512`` forces one, for testing.

        Returns:
            str: ``"avx512"``, ``"avx2"`` or ``"baseline"``.
      )pbdoc");

  // Private, for tests: the embedded kernel sources and what eval_gpu would
  // ask for: the Metal device (kernel name, library name, library source)
  // and NVRTC (the kernel's name expression).
  m.def("_metal_source", &cd::metal::metal_source);
  def_kernel_hook(m, "_metal_library", [](const cd::common::KernelSpec& spec) {
    return std::make_tuple(
        cd::metal::kernel_name(spec),
        cd::metal::library_name(spec),
        cd::metal::library_source(spec));
  });
  m.def("_cuda_source", &cd::cuda::cuda_source);
  def_kernel_hook(m, "_cuda_kernel", &cd::cuda::kernel_expression);
  // Whether the CUDA plugin is loaded (it serves eval_gpu), and the device
  // a node runs on.
  m.def("_cuda_plugin_loaded", [] { return cd::cuda::eval_gpu() != nullptr; });
  m.def("_node_device", [](const mx::array& a) {
    return a.primitive().device() == mx::Device::gpu ? "gpu" : "cpu";
  });
}
