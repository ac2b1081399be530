// Copyright © 2026 mlx-cosine-decay authors.

#include "cuda/backend.h"

#include <atomic>

namespace mlx_cosine_decay::cuda {

namespace {
std::atomic<EvalGpu> registered{nullptr};
} // namespace

void set_eval_gpu(EvalGpu eval) {
  registered.store(eval);
}

EvalGpu eval_gpu() {
  return registered.load();
}

} // namespace mlx_cosine_decay::cuda
