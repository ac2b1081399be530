// Copyright © 2026 mlx-cosine-decay authors.
//
// The Python module: bindings only. Validation lives in the C++ ops.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>

#include "cuda/backend.h"
#include "cuda/kernel_source.h"
#include "metal/kernel_source.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace nb = nanobind;
using namespace nb::literals;
namespace mx = mlx::core;
namespace cd = mlx_cosine_decay;

NB_MODULE(_ext, m) {
  m.doc() = "The CosineDecay MLX primitive (private: use mlx_cosine_decay).";

  m.def(
      "cosine_decay",
      nb::overload_cast<
          const mx::array&, double, int64_t, double, mx::StreamOrDevice>(
          &cd::cosine_decay),
      "step"_a,
      "init"_a,
      "decay_steps"_a,
      "end"_a = 0.0,
      nb::kw_only(),
      "stream"_a = nb::none(),
      "The schedule at `step` as one CosineDecay node (scalar parameters).");
  m.def(
      "cosine_decay",
      nb::overload_cast<
          const mx::array&,
          const cd::Param&,
          const mx::array&,
          const cd::Param&,
          mx::StreamOrDevice>(&cd::cosine_decay),
      "step"_a,
      "init"_a,
      "decay_steps"_a,
      "end"_a,
      nb::kw_only(),
      "stream"_a = nb::none(),
      "The schedule at `step` with array parameters (broadcast).");
  m.def(
      "cosine_decay_values",
      nb::overload_cast<
          double, int64_t, double, int64_t, int64_t, mx::StreamOrDevice>(
          &cd::cosine_decay_values),
      "init"_a,
      "decay_steps"_a,
      "end"_a,
      "num_steps"_a,
      "start"_a = 0,
      nb::kw_only(),
      "stream"_a = nb::none(),
      "The schedule at steps start .. start + num_steps - 1 (scalar "
      "parameters), generated in the kernel: shape (num_steps,).");
  m.def(
      "cosine_decay_values",
      nb::overload_cast<
          const cd::Param&,
          const mx::array&,
          const cd::Param&,
          int64_t,
          int64_t,
          mx::StreamOrDevice>(&cd::cosine_decay_values),
      "init"_a,
      "decay_steps"_a,
      "end"_a,
      "num_steps"_a,
      "start"_a = 0,
      nb::kw_only(),
      "stream"_a = nb::none(),
      "The schedule at steps start .. start + num_steps - 1, generated in "
      "the kernel: shape params + (num_steps,).");

  nb::class_<cd::Schedule>(m, "Schedule")
      .def(nb::init<double, int64_t, double>(), "init"_a, "decay_steps"_a, "end"_a)
      .def(
          nb::init<cd::Param, mx::array, cd::Param>(),
          "init"_a,
          "decay_steps"_a,
          "end"_a)
      .def(
          "__call__",
          &cd::Schedule::operator(),
          "step"_a,
          nb::kw_only(),
          "stream"_a = nb::none())
      .def(
          "values",
          &cd::Schedule::values,
          "num_steps"_a,
          "start"_a = 0,
          nb::kw_only(),
          "stream"_a = nb::none());

  m.def("set_num_threads", &cd::set_num_threads, "n"_a);
  m.def("num_threads", &cd::num_threads);
  m.def("cpu_isa", &cd::cpu_isa);

  // Private, for tests: the embedded Metal source and what eval_gpu would
  // ask the Metal device for (kernel name, library name, library source).
  m.def("_metal_source", &cd::metal::metal_source);
  m.def(
      "_metal_library",
      [](bool contiguous,
         bool generated,
         bool array_params,
         mx::Dtype step,
         mx::Dtype out,
         bool large) {
        cd::metal::KernelSpec spec{
            contiguous, generated, array_params, step, out, large};
        return std::make_tuple(
            cd::metal::kernel_name(spec),
            cd::metal::library_name(spec),
            cd::metal::library_source(spec));
      },
      "contiguous"_a,
      "generated"_a,
      "array_params"_a,
      "step"_a,
      "out"_a,
      "large"_a);

  // CUDA (begin). Private, for tests: the embedded CUDA source, the name
  // expression eval_gpu would ask NVRTC for, and whether the CUDA plugin is
  // loaded (it serves eval_gpu).
  m.def("_cuda_source", &cd::cuda::cuda_source);
  m.def(
      "_cuda_kernel",
      [](bool contiguous,
         bool generated,
         bool array_params,
         mx::Dtype step,
         mx::Dtype out,
         bool large) {
        return cd::cuda::kernel_expression(
            {contiguous, generated, array_params, step, out, large});
      },
      "contiguous"_a,
      "generated"_a,
      "array_params"_a,
      "step"_a,
      "out"_a,
      "large"_a);
  m.def("_cuda_plugin_loaded", [] { return cd::cuda::eval_gpu() != nullptr; });
  m.def("_node_device", [](const mx::array& a) {
    return a.primitive().device() == mx::Device::gpu ? "gpu" : "cpu";
  });
  // CUDA (end)
}
