// Copyright © 2026 mlx-cosine-decay authors.

#include "metal/kernel_source.h"

#include "core/kernel_params.h"

#include <stdexcept>

namespace mlx_cosine_decay::metal {

using common::kernel_out_type_name;
using common::kernel_type_name;

std::string kernel_name(const KernelSpec& spec) {
  std::string name =
      spec.contiguous ? "cosine_decay_contiguous_" : "cosine_decay_strided_";
  name += spec.generated ? "generated" : kernel_type_name(spec.step).dtype;
  name += "_";
  name += kernel_out_type_name(spec.out).dtype;
  name += spec.large ? "_u64" : "_u32";
  if (!spec.contiguous && spec.array_params) {
    name += "_array_params";
  }
  return name;
}

std::string library_name(const KernelSpec& spec) {
  return std::string("mlx_cosine_decay_") + metal_source_hash() + "_" +
      kernel_name(spec);
}

std::string library_source(const KernelSpec& spec) {
  if (spec.contiguous && (spec.generated || spec.array_params)) {
    throw std::invalid_argument(
        "[cosine_decay] The contiguous kernel takes steps and scalar "
        "parameters.");
  }
  std::string in =
      spec.generated ? "int64_t" : kernel_type_name(spec.step).metal;
  std::string args = in + ", " + kernel_out_type_name(spec.out).metal + ", " +
      (spec.large ? "uint64_t" : "uint32_t");
  std::string func;
  if (spec.contiguous) {
    func = "cosine_decay_contiguous<" + args + ", " +
        std::to_string(cosine_decay_core::work_per_thread) + ">";
  } else {
    func = "cosine_decay_strided<" + args + ", " +
        (spec.generated ? "true" : "false") + ", " +
        (spec.array_params ? "true" : "false") + ">";
  }
  // As MLX's instantiate_kernel: the signature comes from the template.
  return std::string(metal_source()) + "\nnamespace cosine_decay_metal {\n" +
      "template [[host_name(\"" + kernel_name(spec) +
      "\")]] [[kernel]] decltype(" + func + ") " + func +
      ";\n} // namespace cosine_decay_metal\n";
}

} // namespace mlx_cosine_decay::metal
