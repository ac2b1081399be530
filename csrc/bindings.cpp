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

int64_t to_int64(const DecaySteps& d) {
  nb::handle x = d.value;
  auto shown = [&] { return std::string(nb::repr(x).c_str()); };
  auto out_of_range = [&](bool negative) {
    // Below 1 has the reference's text; the op checks the range it accepts.
    value_error(
        negative
            ? "decay_steps must be greater than 0, but got " + shown() + "."
            : "decay_steps must fit in int64, but got " + shown() + ".");
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
        "decay_steps must be an integer or an integer array, but got " +
        std::string(nb::type_name(x.type()).c_str()) + ".");
  }
  if (!std::isfinite(v) || v != std::trunc(v)) {
    type_error("decay_steps must be an integer, but got " + shown() + ".");
  }
  if (v < -0x1p63 || v >= 0x1p63) {
    out_of_range(v < 0);
  }
  return static_cast<int64_t>(v);
}

// decay_steps for the overloads with array parameters: an integer array, or
// a number that becomes an int64 array.
using DecayStepsOrArray = std::variant<mx::array, DecaySteps>;

mx::array to_array(const DecayStepsOrArray& d) {
  if (auto* a = std::get_if<mx::array>(&d)) {
    return *a;
  }
  return mx::array(to_int64(std::get<DecaySteps>(d)), mx::int64);
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

// warmup_steps from a Python number: an integer, as decay_steps is read.
int64_t to_warmup_steps(const nb::object& x) {
  if (!PyIndex_Check(x.ptr())) {
    double v = PyFloat_AsDouble(x.ptr());
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      type_error(
          "warmup_steps must be an integer, but got " +
          std::string(nb::type_name(x.type()).c_str()) + ".");
    }
    if (!std::isfinite(v) || v != std::trunc(v)) {
      type_error(
          "warmup_steps must be an integer, but got " +
          std::string(nb::repr(x).c_str()) + ".");
    }
    if (v < -0x1p63 || v >= 0x1p63) {
      value_error(
          "warmup_steps must be less than 2**53, but got " +
          std::string(nb::repr(x).c_str()) + ".");
    }
    return static_cast<int64_t>(v);
  }
  int overflow = 0;
  nb::object i = nb::steal(PyNumber_Index(x.ptr()));
  long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow != 0) {
    value_error(
        std::string(
            overflow < 0 ? "warmup_steps must be non-negative"
                         : "warmup_steps must be less than 2**53") +
        ", but got " + std::string(nb::repr(x).c_str()) + ".");
  }
  return v;
}

cd::DecayOptions decay_options(
    const nb::object& warmup_steps,
    double warmup_init,
    double exponent) {
  return {to_warmup_steps(warmup_steps), warmup_init, exponent};
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

NB_MODULE(_ext, m) {
  m.doc() = "The CosineDecay MLX primitive (private: use mlx_cosine_decay).";
  // The array and stream types are mlx.core's: registered before any use.
  nb::module_::import_("mlx.core");

  m.def(
      "cosine_decay",
      [](const mx::array& step,
         double init,
         const DecaySteps& decay_steps,
         double end,
         const nb::object& warmup_steps,
         double warmup_init,
         double exponent,
         mx::StreamOrDevice s) {
        return cd::cosine_decay(
            step,
            init,
            to_int64(decay_steps),
            end,
            decay_options(warmup_steps, warmup_init, exponent),
            s);
      },
      "step"_a,
      "init"_a,
      "decay_steps"_a.none(),
      "end"_a = 0.0,
      nb::kw_only(),
      "warmup_steps"_a = 0,
      "warmup_init"_a = 0.0,
      "exponent"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay(step: mlx.core.array, init: float, decay_steps: int, "
          "end: float = 0.0, *, warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0, stream: mlx.core.StreamOrDevice = None) "
          "-> mlx.core.array"),
      R"pbdoc(
        The cosine-decay schedule at ``step`` as one ``CosineDecay`` node.

        ``end + (init - end) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
        decay_steps))``, the values of ``mlx.optimizers.cosine_decay``.

        Args:
            step (array): The steps: any real dtype, shape and layout.
            init (float): Initial value.
            decay_steps (int): Number of steps to decay over, at least 1. An
              integral float (``1e6``) is accepted.
            end (float, optional): Final value. Default: ``0.0``.
            warmup_steps (int, optional): Steps of linear warmup from
              ``warmup_init`` to ``init`` before the decay. Default: ``0``.
            warmup_init (float, optional): The value at step 0 of the warmup.
              Default: ``0.0``.
            exponent (float, optional): The decay fraction's power (optax's
              ``exponent``). Default: ``1.0``.

        Returns:
            array: The schedule with the shape of ``step``; float32 for integer
            and bool steps, else the dtype of ``step``.
      )pbdoc");
  m.def(
      "cosine_decay",
      [](const mx::array& step,
         const cd::Param& init,
         const DecayStepsOrArray& decay_steps,
         const cd::Param& end,
         const nb::object& warmup_steps,
         double warmup_init,
         double exponent,
         mx::StreamOrDevice s) {
        return cd::cosine_decay(
            step,
            init,
            to_array(decay_steps),
            end,
            decay_options(warmup_steps, warmup_init, exponent),
            s);
      },
      "step"_a,
      "init"_a,
      "decay_steps"_a.none(),
      "end"_a = 0.0,
      nb::kw_only(),
      "warmup_steps"_a = 0,
      "warmup_init"_a = 0.0,
      "exponent"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay(step: mlx.core.array, init: float | mlx.core.array, "
          "decay_steps: int | mlx.core.array, end: float | mlx.core.array = 0.0, "
          "*, warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0, stream: mlx.core.StreamOrDevice = None) -> mlx.core.array"),
      R"pbdoc(
        The cosine-decay schedule at ``step`` with array parameters.

        ``init``, ``decay_steps``, ``end`` and ``step`` broadcast together.
        The entries of an array ``decay_steps`` are not read when the graph is
        built: one outside [1, 2**62 - 1] gives NaN there
        (``mlx_cosine_decay.cosine_decay`` checks them when the schedule is
        made).

        Args:
            step (array): The steps: any real dtype.
            init (float or array): Initial values.
            decay_steps (int or array): Numbers of steps to decay over: an
              integer array, or a number as in the scalar overload.
            end (float or array, optional): Final values. Default: ``0.0``.
            warmup_steps (int, optional): Steps of linear warmup from
              ``warmup_init`` to ``init`` before the decay. Default: ``0``.
            warmup_init (float, optional): The value at step 0 of the warmup.
              Default: ``0.0``.
            exponent (float, optional): The decay fraction's power (optax's
              ``exponent``). Default: ``1.0``.

        Returns:
            array: The schedule with the broadcast shape; its dtype is that of
            the scalar overload promoted with the dtypes of ``init`` and
            ``end`` arrays (numbers are weak, as in MLX).
      )pbdoc");
  m.def(
      "cosine_decay_values",
      [](double init,
         const DecaySteps& decay_steps,
         double end,
         int64_t num_steps,
         int64_t start,
         const nb::object& warmup_steps,
         double warmup_init,
         double exponent,
         mx::StreamOrDevice s) {
        return cd::cosine_decay_values(
            init,
            to_int64(decay_steps),
            end,
            decay_options(warmup_steps, warmup_init, exponent),
            num_steps,
            start,
            s);
      },
      "init"_a,
      "decay_steps"_a.none(),
      "end"_a,
      "num_steps"_a,
      "start"_a = 0,
      nb::kw_only(),
      "warmup_steps"_a = 0,
      "warmup_init"_a = 0.0,
      "exponent"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay_values(init: float, decay_steps: int, end: float, "
          "num_steps: int, start: int = 0, *, warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0, stream: mlx.core.StreamOrDevice = None) "
          "-> mlx.core.array"),
      R"pbdoc(
        The schedule at steps ``start .. start + num_steps - 1``.

        The steps are generated inside the kernel: no step array is made.

        Args:
            init (float): Initial value.
            decay_steps (int): Number of steps to decay over, at least 1.
            end (float): Final value.
            num_steps (int): Number of steps, ``0 <= num_steps < 2**31``.
            start (int, optional): First step. Default: ``0``.

        Returns:
            array: Shape ``(num_steps,)``, float32.
      )pbdoc");
  m.def(
      "cosine_decay_values",
      [](const cd::Param& init,
         const DecayStepsOrArray& decay_steps,
         const cd::Param& end,
         int64_t num_steps,
         int64_t start,
         const nb::object& warmup_steps,
         double warmup_init,
         double exponent,
         mx::StreamOrDevice s) {
        return cd::cosine_decay_values(
            init,
            to_array(decay_steps),
            end,
            decay_options(warmup_steps, warmup_init, exponent),
            num_steps,
            start,
            s);
      },
      "init"_a,
      "decay_steps"_a.none(),
      "end"_a,
      "num_steps"_a,
      "start"_a = 0,
      nb::kw_only(),
      "warmup_steps"_a = 0,
      "warmup_init"_a = 0.0,
      "exponent"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay_values(init: float | mlx.core.array, "
          "decay_steps: int | mlx.core.array, end: float | mlx.core.array, "
          "num_steps: int, start: int = 0, *, warmup_steps: int = 0, warmup_init: float = 0.0, exponent: float = 1.0, stream: mlx.core.StreamOrDevice = None) "
          "-> mlx.core.array"),
      R"pbdoc(
        The schedules at steps ``start .. start + num_steps - 1``, with array
        parameters.

        The steps are generated inside the kernel: no step array is made.

        Args:
            init (float or array): Initial values.
            decay_steps (int or array): Numbers of steps to decay over.
            end (float or array): Final values.
            num_steps (int): Number of steps, ``0 <= num_steps < 2**31``.
            start (int, optional): First step. Default: ``0``.

        Returns:
            array: Shape ``broadcast(init, decay_steps, end).shape +
            (num_steps,)``; float32 unless ``init`` or ``end`` arrays promote
            it.
      )pbdoc");

  m.def(
      "cosine_decay_restarts",
      [](const mx::array& step,
         double init,
         const DecaySteps& first_decay_steps,
         double end,
         double t_mul,
         double m_mul,
         mx::StreamOrDevice s) {
        return cd::cosine_decay_restarts(
            step, init, to_int64(first_decay_steps), end, {t_mul, m_mul}, s);
      },
      "step"_a,
      "init"_a,
      "first_decay_steps"_a.none(),
      "end"_a = 0.0,
      nb::kw_only(),
      "t_mul"_a = 2.0,
      "m_mul"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay_restarts(step: mlx.core.array, init: float, "
          "first_decay_steps: int, end: float = 0.0, *, t_mul: float = 2.0, "
          "m_mul: float = 1.0, stream: mlx.core.StreamOrDevice = None) "
          "-> mlx.core.array"),
      R"pbdoc(
        The warm-restart schedule at ``step`` as one ``CosineDecay`` node.

        Warm restarts (SGDR; Keras' ``CosineDecayRestarts`` with ``alpha =
        end / init``): period ``i`` lasts ``first_decay_steps * t_mul**i``
        and in it the value is ``end + (init - end) * m_mul**i * 0.5 * (1 +
        cos(pi * t / T_i))``, ``t`` the steps into the period. Restarts never
        end; steps below 0 take step 0's value; for ``t_mul < 1``, steps from
        ``first_decay_steps / (1 - t_mul)`` on are NaN.

        Args:
            step (array): The steps: any real dtype.
            init (float or array): The first peak.
            first_decay_steps (int or array): Length of the first period, at
              least 1 and below ``2**53``.
            end (float or array, optional): The value each period decays to.
              Default: ``0.0``.
            t_mul (float, optional): Each period's length relative to the
              previous one, positive. Default: ``2.0``.
            m_mul (float, optional): Each period's peak (above ``end``)
              relative to the previous one, non-negative. Default: ``1.0``.

        Returns:
            array: As ``cosine_decay``.
      )pbdoc");
  m.def(
      "cosine_decay_restarts",
      [](const mx::array& step,
         const cd::Param& init,
         const DecayStepsOrArray& first_decay_steps,
         const cd::Param& end,
         double t_mul,
         double m_mul,
         mx::StreamOrDevice s) {
        return cd::cosine_decay_restarts(
            step, init, to_array(first_decay_steps), end, {t_mul, m_mul}, s);
      },
      "step"_a,
      "init"_a,
      "first_decay_steps"_a.none(),
      "end"_a = 0.0,
      nb::kw_only(),
      "t_mul"_a = 2.0,
      "m_mul"_a = 1.0,
      "stream"_a = nb::none(),
      nb::sig(
          "def cosine_decay_restarts(step: mlx.core.array, "
          "init: float | mlx.core.array, first_decay_steps: int | mlx.core.array, "
          "end: float | mlx.core.array = 0.0, *, t_mul: float = 2.0, "
          "m_mul: float = 1.0, stream: mlx.core.StreamOrDevice = None) "
          "-> mlx.core.array"),
      R"pbdoc(
        The warm-restart schedule at ``step`` with array parameters (they
        broadcast with ``step``; entries of ``first_decay_steps`` below 1
        give NaN).

        Args:
            step (array): The steps: any real dtype.
            init (float or array): The first peaks.
            first_decay_steps (int or array): Length of the first period, at
              least 1 and below ``2**53``.
            end (float or array, optional): The value each period decays to.
              Default: ``0.0``.
            t_mul (float, optional): Each period's length relative to the
              previous one, positive. Default: ``2.0``.
            m_mul (float, optional): Each period's peak (above ``end``)
              relative to the previous one, non-negative. Default: ``1.0``.

        Returns:
            array: As ``cosine_decay``.
      )pbdoc");

  nb::class_<cd::Schedule>(
      m,
      "Schedule",
      R"pbdoc(
        A cosine-decay schedule as a value: validated once, then called with
        step arrays like the callables of ``mlx.optimizers``.

        Private: ``mlx_cosine_decay.cosine_decay`` makes one and wraps it.
        With array parameters, making one evaluates ``decay_steps`` to check
        that every entry is at least 1.
      )pbdoc")
      .def(
          "__init__",
          [](cd::Schedule* self,
             double init,
             const DecaySteps& decay_steps,
             double end,
             const nb::object& warmup_steps,
             double warmup_init,
             double exponent) {
            new (self) cd::Schedule(
                init,
                to_int64(decay_steps),
                end,
                decay_options(warmup_steps, warmup_init, exponent));
          },
          "init"_a,
          "decay_steps"_a.none(),
          "end"_a,
          nb::kw_only(),
          "warmup_steps"_a = 0,
          "warmup_init"_a = 0.0,
          "exponent"_a = 1.0,
          nb::sig(
              "def __init__(self, init: float, decay_steps: int, end: float, *, "
              "warmup_steps: int = 0, warmup_init: float = 0.0, "
              "exponent: float = 1.0) -> None"))
      .def(
          "__init__",
          [](cd::Schedule* self,
             const cd::Param& init,
             const DecayStepsOrArray& decay_steps,
             const cd::Param& end,
             const nb::object& warmup_steps,
             double warmup_init,
             double exponent) {
            new (self) cd::Schedule(
                init,
                to_array(decay_steps),
                end,
                decay_options(warmup_steps, warmup_init, exponent));
          },
          "init"_a,
          "decay_steps"_a.none(),
          "end"_a,
          nb::kw_only(),
          "warmup_steps"_a = 0,
          "warmup_init"_a = 0.0,
          "exponent"_a = 1.0,
          nb::sig(
              "def __init__(self, init: float | mlx.core.array, "
              "decay_steps: int | mlx.core.array, end: float | mlx.core.array, *, "
              "warmup_steps: int = 0, warmup_init: float = 0.0, "
              "exponent: float = 1.0) -> None"))
      .def_static(
          "restarts",
          [](double init,
             const DecaySteps& first_decay_steps,
             double end,
             double t_mul,
             double m_mul) {
            return cd::Schedule::restarts(
                init, to_int64(first_decay_steps), end, {t_mul, m_mul});
          },
          "init"_a,
          "first_decay_steps"_a.none(),
          "end"_a,
          nb::kw_only(),
          "t_mul"_a = 2.0,
          "m_mul"_a = 1.0,
          nb::sig(
              "def restarts(init: float, first_decay_steps: int, end: float, *, "
              "t_mul: float = 2.0, m_mul: float = 1.0) -> Schedule"),
          "The warm-restart schedule (see ``cosine_decay_restarts``) as a value.")
      .def_static(
          "restarts",
          [](const cd::Param& init,
             const DecayStepsOrArray& first_decay_steps,
             const cd::Param& end,
             double t_mul,
             double m_mul) {
            return cd::Schedule::restarts(
                init, to_array(first_decay_steps), end, {t_mul, m_mul});
          },
          "init"_a,
          "first_decay_steps"_a.none(),
          "end"_a,
          nb::kw_only(),
          "t_mul"_a = 2.0,
          "m_mul"_a = 1.0,
          nb::sig(
              "def restarts(init: float | mlx.core.array, "
              "first_decay_steps: int | mlx.core.array, end: float | mlx.core.array, *, "
              "t_mul: float = 2.0, m_mul: float = 1.0) -> Schedule"),
          "The warm-restart schedule with array parameters as a value.")
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
