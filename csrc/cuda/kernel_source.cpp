// Copyright © 2026 mlx-cosine-decay authors.

#include "cuda/kernel_source.h"

#include <stdexcept>

#include "core/kernel_params.h"

namespace mlx_cosine_decay::cuda {

namespace {

// The kernel's type for a dtype: the math header's integer typedefs under
// NVRTC (int64_t is long long), the source's half types by their bits.
const char* cuda_type(mx::Dtype t) {
  switch (t) {
    case mx::bool_:
      return "bool";
    case mx::uint8:
      return "unsigned char";
    case mx::uint16:
      return "unsigned short";
    case mx::uint32:
      return "unsigned int";
    case mx::uint64:
      return "unsigned long long";
    case mx::int8:
      return "signed char";
    case mx::int16:
      return "short";
    case mx::int32:
      return "int";
    case mx::int64:
      return "long long";
    case mx::float16:
      return "cosine_decay_cuda::float16_bits";
    case mx::bfloat16:
      return "cosine_decay_cuda::bfloat16_bits";
    case mx::float32:
      return "float";
    default:
      throw std::invalid_argument(
          "[cosine_decay] The CUDA kernels support no float64 or complex "
          "types.");
  }
}

const char* out_type(mx::Dtype t) {
  if (t != mx::float32 && t != mx::float16 && t != mx::bfloat16) {
    throw std::invalid_argument(
        "[cosine_decay] The CUDA kernels write float32, float16 or bfloat16.");
  }
  return cuda_type(t);
}

} // namespace

std::string kernel_expression(const KernelSpec& spec) {
  if (spec.contiguous && spec.array_params) {
    throw std::invalid_argument(
        "[cosine_decay] The contiguous kernel takes scalar parameters.");
  }
  std::string args = std::string(spec.generated ? "long long" : cuda_type(spec.step)) +
      ", " + out_type(spec.out) + ", " +
      (spec.large ? "unsigned long long" : "unsigned int");
  const char* generated = spec.generated ? "true" : "false";
  if (spec.contiguous) {
    return "cosine_decay_cuda::cosine_decay_contiguous<" + args + ", " +
        std::to_string(cosine_decay_core::work_per_thread) + ", " + generated + ">";
  }
  return "cosine_decay_cuda::cosine_decay_strided<" + args + ", " + generated +
      ", " + (spec.array_params ? "true" : "false") + ">";
}

} // namespace mlx_cosine_decay::cuda
