// Copyright © 2026 mlx-cosine-decay authors.

#include "cuda/kernel_source.h"

#include <stdexcept>

#include "core/kernel_params.h"

namespace mlx_cosine_decay::cuda {

std::string kernel_expression(const KernelSpec& spec) {
  if (spec.contiguous && spec.array_params) {
    throw std::invalid_argument(
        "[cosine_decay] The contiguous kernel takes scalar parameters.");
  }
  std::string args =
      std::string(
          spec.generated ? "long long"
                         : common::kernel_type_name(spec.step).cuda) +
      ", " + common::kernel_out_type_name(spec.out).cuda + ", " +
      (spec.large ? "unsigned long long" : "unsigned int");
  const char* generated = spec.generated ? "true" : "false";
  if (spec.contiguous) {
    return "cosine_decay_cuda::cosine_decay_contiguous<" + args + ", " +
        std::to_string(cosine_decay_core::work_per_thread) + ", " + generated +
        ">";
  }
  return "cosine_decay_cuda::cosine_decay_strided<" + args + ", " + generated +
      ", " + (spec.array_params ? "true" : "false") + ">";
}

} // namespace mlx_cosine_decay::cuda
