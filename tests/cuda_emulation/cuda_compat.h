// Copyright © 2026 mlx-cosine-decay authors.
//
// Just enough CUDA, as C++, to compile csrc/cuda/cosine_decay.cu on the host:
// kernels become plain functions, and the built-in thread coordinates are
// globals that the emulator sets before each call. The math header takes its
// C++ branch (std::fma, the CPU kernels' own code).

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

struct emulated_dim3 {
  unsigned x = 0, y = 0, z = 0;
};

inline emulated_dim3 blockIdx, threadIdx, blockDim, gridDim;

#define COSINE_DECAY_GLOBAL
