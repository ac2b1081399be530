// Copyright © 2026 mlx-cosine-decay authors.
//
// One GPU kernel (Metal or CUDA) as the host names and instantiates it: its
// variant and types. Plain data, built on every platform, so the tests can
// check the names and sources where no GPU runs.

#pragma once

#include "mlx/dtype.h"

namespace mlx_cosine_decay::common {

struct KernelSpec {
  bool contiguous; // else strided
  bool generated; // steps start, start + 1, ... (no step array)
  bool array_params; // init, end and decay_steps from memory (strided only)
  mlx::core::Dtype step; // ignored when generated (the step is int64)
  mlx::core::Dtype out; // float32, float16 or bfloat16
  bool large; // 64-bit element indices
};

/** A step or output dtype as the kernel sources spell it. */
struct KernelTypeName {
  const char* dtype; // in kernel and library names: "int32", "bfloat16"
  const char* metal; // in the Metal shader: "int32_t", "bfloat16_bits"
  const char* cuda; // in the CUDA source under NVRTC: "int", "long long"
};

/** Throws std::invalid_argument for float64 and complex dtypes. */
KernelTypeName kernel_type_name(mlx::core::Dtype t);

/** As above; also throws unless t is float32, float16 or bfloat16. */
KernelTypeName kernel_out_type_name(mlx::core::Dtype t);

} // namespace mlx_cosine_decay::common
