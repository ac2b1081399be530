// Copyright © 2026 mlx-cosine-decay authors.
//
// The CUDA source of the kernels, the launch shape, and the name expressions
// the host asks NVRTC for. Plain strings: built on every platform, so the
// tests can check them (and compile them with NVRTC) where CUDA does not run.

#pragma once

#include <string>

#include "mlx/dtype.h"

namespace mlx_cosine_decay::cuda {

namespace mx = mlx::core;

/** csrc/cuda/cosine_decay.cu with the math header inlined (generated at build
 * time by cmake/embed_kernel_source.cmake), and a hash of that text. */
const char* cuda_source();
const char* cuda_source_hash();

/** Threads per block, and elements per thread of the contiguous kernel. */
constexpr int threads_per_block = 256;
constexpr int work_per_thread = 4;

/** The most axes the strided kernel takes (after merging contiguous axes). */
constexpr int max_ndim = 10;

/** One kernel: its variant and the types it is instantiated for. */
struct KernelSpec {
  bool contiguous; // else strided
  bool generated; // steps start, start + 1, ... (no step array)
  bool array_params; // init, end and decay_steps from memory (strided only)
  mx::Dtype step; // ignored when generated (the step is int64)
  mx::Dtype out; // float32, float16 or bfloat16
  bool large; // 64-bit element indices
};

/** The kernel as a C++ name expression, e.g.
 * cosine_decay_cuda::cosine_decay_contiguous<int, float, unsigned int, 4,
 * false>. Throws std::invalid_argument for float64 or complex types and for
 * array parameters in the contiguous kernel. */
std::string kernel_expression(const KernelSpec& spec);

} // namespace mlx_cosine_decay::cuda
