// Copyright © 2026 mlx-cosine-decay authors.
//
// What one evaluation needs, as raw pointers and strides: the plumbing in
// eval_cpu.cpp fills it from mx::arrays, the kernels in kernels.cpp (compiled
// once per instruction set) run it over a range of output elements.

#pragma once

#include <cstdint>
#include <vector>

#include "core/kernel_params.h"
#include "mlx/dtype.h"

namespace mlx_cosine_decay::cpu {

using cosine_decay_core::Operand;

struct Job {
  mlx::core::Dtype step_type = mlx::core::int64; // int64 when generated
  mlx::core::Dtype out_type = mlx::core::float32;

  // The output is row-contiguous over `shape`; the last axis is the row.
  std::vector<int64_t> shape;
  int64_t size;

  // By Operand (Step, Init, End, DecaySteps): the data, nullptr where the
  // operand is not an array (generated steps: start + the offset given by
  // the step strides; scalar parameters: `scalars`), and one stride per
  // axis (0 where broadcast; empty where the data is null, except for
  // generated steps). init and end are in out_type, decay_steps int64.
  const void* data[Operand::Count];
  std::vector<int64_t> strides[Operand::Count];
  cosine_decay_core::ScalarParams<double> scalars;
  int64_t start;
  // The family member and what is output (always scalars).
  cosine_decay_core::FamilyParams<double> family;

  void* out;
};

// Computes output elements [begin, end) of the job (row-major order).
using RangeKernel = void (*)(const Job& job, int64_t begin, int64_t end);

// The best kernel this CPU supports (see kernels.cpp for the builds), or the
// one named by MLX_COSINE_DECAY_ISA (baseline, avx2, avx512) for testing.
RangeKernel range_kernel();
const char* isa_name();

} // namespace mlx_cosine_decay::cpu
