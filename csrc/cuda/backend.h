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
 * The nodes the CUDA kernels compute, bit for bit as the CPU: every family
 * member's values (the family's pow and log are the core's portable ones,
 * core/cosine_family_math.h). The step slopes of the family's transforms
 * need sin and cos in double, whose CUDA versions are not glibc's; the op
 * runs those nodes on the CPU stream.
 */
inline bool runs_on_cuda(const Family& f) {
  return f.kind == Kind::Cosine || f.output == Output::Value;
}

/** Called once by the plugin as it is loaded. */
void set_eval_gpu(EvalGpu eval);

/** The plugin's eval_gpu, or null while no plugin is loaded. */
EvalGpu eval_gpu();

} // namespace mlx_cosine_decay::cuda
