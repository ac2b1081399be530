// Copyright © 2026 mlx-cosine-decay authors.
//
// What one evaluation needs, as raw pointers and strides: the plumbing in
// eval_cpu.cpp fills it from mx::arrays, the kernels in kernels.cpp (compiled
// once per instruction set) run it over a range of output elements.

#pragma once

#include <cstdint>
#include <vector>

#include "mlx/dtype.h"

namespace mlx_cosine_decay::cpu {

struct Job {
  mlx::core::Dtype step_type = mlx::core::int64; // int64 when generated
  mlx::core::Dtype out_type = mlx::core::float32;

  // The output is row-contiguous over `shape`; the last axis is the row. Each
  // operand has one stride per axis (0 where it is broadcast).
  std::vector<int64_t> shape;
  int64_t size;

  const void* step; // nullptr: step = start + the offset given by step_strides
  int64_t start;
  std::vector<int64_t> step_strides;

  // Parameters: an array (init/end in out_type, decay_steps as int64) or,
  // when the pointer is null, the scalar.
  const void* init;
  const void* end;
  const int64_t* decay_steps;
  std::vector<int64_t> init_strides;
  std::vector<int64_t> end_strides;
  std::vector<int64_t> decay_steps_strides;
  double init_value;
  double end_value;
  int64_t decay_steps_value;

  void* out;
};

// Computes output elements [begin, end) of the job (row-major order).
using RangeKernel = void (*)(const Job& job, int64_t begin, int64_t end);

// The best kernel this CPU supports (see kernels.cpp for the builds), or the
// one named by MLX_COSINE_DECAY_ISA (baseline, avx2, avx512) for testing.
RangeKernel range_kernel();
const char* isa_name();

} // namespace mlx_cosine_decay::cpu
