// Copyright © 2026 mlx-cosine-decay authors.
//
// The CUDA source of the kernels, the launch shape, and the name expressions
// the host asks NVRTC for. Plain strings: built on every platform, so the
// tests can check them (and compile them with NVRTC) where CUDA does not run.

#pragma once

#include <string>

#include "common/kernel_spec.h"
#include "mlx/dtype.h"

namespace mlx_cosine_decay::cuda {

namespace mx = mlx::core;

/** csrc/cuda/cosine_decay.cu with the core headers (core/kernel_params.h,
 * core/cosine_family_math.h, core/cosine_decay_math.h) inlined, generated at
 * build time by cmake/embed_kernel_source.cmake, and a hash of that text. */
const char* cuda_source();
const char* cuda_source_hash();

/** Threads per block of every launch (the kernels read blockDim; elements
 * per thread and the layout are cosine_decay_core's). */
constexpr int threads_per_block = 256;

using common::KernelSpec;

/** The kernel as a C++ name expression, e.g.
 * cosine_decay_cuda::cosine_decay_contiguous<int, float, unsigned int, 4,
 * false>. Throws std::invalid_argument for float64 or complex types and for
 * array parameters in the contiguous kernel. */
std::string kernel_expression(const KernelSpec& spec);

} // namespace mlx_cosine_decay::cuda
