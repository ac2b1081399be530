// Copyright © 2026 mlx-cosine-decay authors.

#include "common/kernel_spec.h"

#include <stdexcept>

namespace mlx_cosine_decay::common {

namespace mx = mlx::core;

KernelTypeName kernel_type_name(mx::Dtype t) {
  // CUDA: the core's integer typedefs under NVRTC (int64_t is long long), the
  // kernels' half types by their bits.
  switch (t) {
    case mx::bool_:
      return {"bool", "bool", "bool"};
    case mx::uint8:
      return {"uint8", "uint8_t", "unsigned char"};
    case mx::uint16:
      return {"uint16", "uint16_t", "unsigned short"};
    case mx::uint32:
      return {"uint32", "uint32_t", "unsigned int"};
    case mx::uint64:
      return {"uint64", "uint64_t", "unsigned long long"};
    case mx::int8:
      return {"int8", "int8_t", "signed char"};
    case mx::int16:
      return {"int16", "int16_t", "short"};
    case mx::int32:
      return {"int32", "int32_t", "int"};
    case mx::int64:
      return {"int64", "int64_t", "long long"};
    case mx::float16:
      return {"float16", "half", "cosine_decay_cuda::float16_bits"};
    case mx::bfloat16:
      return {"bfloat16", "bfloat16_bits", "cosine_decay_cuda::bfloat16_bits"};
    case mx::float32:
      return {"float32", "float", "float"};
    default:
      throw std::invalid_argument(
          "[cosine_decay] The GPU kernels support no float64 or complex "
          "types.");
  }
}

KernelTypeName kernel_out_type_name(mx::Dtype t) {
  if (t != mx::float32 && t != mx::float16 && t != mx::bfloat16) {
    throw std::invalid_argument(
        "[cosine_decay] The GPU kernels write float32, float16 or bfloat16.");
  }
  return kernel_type_name(t);
}

} // namespace mlx_cosine_decay::common
