// Copyright © 2026 mlx-cosine-decay authors.
//
// The hook through which the CUDA plugin (libmlx_cosine_decay_cuda, built
// from eval_gpu.cpp) serves CosineDecay::eval_gpu. The plugin needs MLX's
// CUDA backend, so it is a library of its own that the package loads only
// where mlx.core.cuda.is_available(); loading it registers its eval_gpu.

#pragma once

#include <vector>

#include "mlx_cosine_decay/cosine_decay.h"

namespace mlx_cosine_decay::cuda {

using EvalGpu = void (*)(
    CosineDecay& primitive,
    const std::vector<mx::array>& inputs,
    mx::array& out);

/**
 * The family members the CUDA kernels compute, bit for bit as the CPU:
 * cosine_decay itself and a linear warmup followed by it (exponent 1). The
 * others need pow, log, sin or cos in double, whose CUDA versions are not
 * glibc's; the op runs them on the CPU stream.
 */
inline bool runs_on_cuda(const Family& f) {
  return f.kind == Kind::Cosine ||
      (f.kind == Kind::Warmup && f.exponent == 1.0 &&
       f.output == Output::Value);
}

/** Called once by the plugin as it is loaded. */
void set_eval_gpu(EvalGpu eval);

/** The plugin's eval_gpu, or null while no plugin is loaded. */
EvalGpu eval_gpu();

} // namespace mlx_cosine_decay::cuda
