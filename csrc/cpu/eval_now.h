// Copyright © 2026 mlx-cosine-decay authors.
//
// A node computed on the calling thread, for the ops' one-step path: an
// eager learning rate from an evaluated step costs a kernel call, not a
// round trip through MLX's CPU stream (see cosine_decay.cpp).

#pragma once

#include "mlx/array.h"

namespace mlx_cosine_decay::cpu {

// Computes `node`, an unevaluated CosineDecay output whose inputs are all
// available, with the kernel eval_cpu runs, on this thread; then detaches
// it from the graph, as MLX does with an evaluated array.
void evaluate_now(mlx::core::array& node);

} // namespace mlx_cosine_decay::cpu
