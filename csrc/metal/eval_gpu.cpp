// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_gpu. Only MLX builds with Metal reach it: elsewhere the
// op places the node on the CPU stream (see resolve_stream).

#include "mlx_cosine_decay/cosine_decay.h"

#include <stdexcept>

namespace mlx_cosine_decay {

void CosineDecay::eval_gpu(const std::vector<mx::array>&, mx::array&) {
  throw std::runtime_error(
      "[cosine_decay] This MLX build has no Metal GPU; use the CPU stream.");
}

} // namespace mlx_cosine_decay
