// Copyright © 2026 mlx-cosine-decay authors.
//
// Runtime instruction-set dispatch: kernels.cpp is built once per target
// (see CMakeLists.txt) and the best one the CPU supports is chosen once.

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu/job.h"

namespace mlx_cosine_decay::cpu {

#define DECLARE_ISA(isa)                                     \
  namespace isa {                                            \
  void dispatch(const Job& job, int64_t begin, int64_t end); \
  }
DECLARE_ISA(baseline)
#ifdef COSINE_DECAY_HAVE_AVX2
DECLARE_ISA(avx2)
#endif
#ifdef COSINE_DECAY_HAVE_AVX512
DECLARE_ISA(avx512)
#endif
#undef DECLARE_ISA

namespace {

struct Choice {
  RangeKernel kernel;
  const char* name;
};

bool cpu_has(const char* isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (!std::strcmp(isa, "avx2")) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c");
  }
  if (!std::strcmp(isa, "avx512")) {
    return cpu_has("avx2") && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw");
  }
#endif
  return !std::strcmp(isa, "baseline");
}

Choice choose() {
  Choice available[] = {
#ifdef COSINE_DECAY_HAVE_AVX512
      {avx512::dispatch, "avx512"},
#endif
#ifdef COSINE_DECAY_HAVE_AVX2
      {avx2::dispatch, "avx2"},
#endif
      {baseline::dispatch, "baseline"},
  };
  const char* wanted = std::getenv("MLX_COSINE_DECAY_ISA");
  for (auto& c : available) {
    if (wanted && *wanted ? !std::strcmp(wanted, c.name) : cpu_has(c.name)) {
      if (!cpu_has(c.name)) {
        throw std::runtime_error(
            std::string("[cosine_decay] MLX_COSINE_DECAY_ISA=") + wanted +
            " is not supported by this CPU.");
      }
      return c;
    }
  }
  throw std::runtime_error(
      std::string("[cosine_decay] MLX_COSINE_DECAY_ISA=") + wanted +
      " is not one of the kernels built (avx512, avx2, baseline).");
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

} // namespace

RangeKernel range_kernel() {
  return choice().kernel;
}

const char* isa_name() {
  return choice().name;
}

} // namespace mlx_cosine_decay::cpu
