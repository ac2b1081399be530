// Copyright © 2026 mlx-cosine-decay authors.
//
// The CPU kernels' threads: a pool that lives for the process, so an
// evaluation starts no threads, and a thread the system refuses to start
// (thread or memory limits) means fewer workers, never an abort.

#pragma once

#include <functional>

namespace mlx_cosine_decay::cpu {

/**
 * Runs f(0), ..., f(n - 1), spread over the calling thread and up to n - 1
 * pool workers, and returns when all have run. Workers are started on first
 * need and kept; where fewer can be started, the calls run on fewer threads
 * (the caller alone, at worst). The first exception thrown by a call is
 * rethrown here once all have finished.
 */
void parallel_for(int n, const std::function<void(int)>& f);

} // namespace mlx_cosine_decay::cpu
