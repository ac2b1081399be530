// Copyright © 2026 mlx-cosine-decay authors.
//
// The contract between the host and every kernel, written once: how the
// steps arrive, where the parameters live, the scalar parameters, and how the
// strides of the operands are packed. Compiles as C++ (the op, the CPU
// kernels; installed beside the public header, which keeps a node's state in
// these types), as Metal (inlined into the shader source) and as CUDA C++
// under NVRTC, so it holds plain structs and enums of fixed-width types only.

#pragma once

#if defined(__METAL_VERSION__)
#define COSINE_DECAY_CONSTANT constant constexpr
#define COSINE_DECAY_DEVICE_FN inline
#elif defined(__CUDACC_RTC__) // inline: NVRTC warns of unused constexpr ones
#define COSINE_DECAY_CONSTANT inline constexpr
#define COSINE_DECAY_DEVICE_FN __host__ __device__ inline
#else
#include <cstdint>
#define COSINE_DECAY_CONSTANT constexpr
#define COSINE_DECAY_DEVICE_FN inline
#endif

namespace cosine_decay_core {

#if defined(__METAL_VERSION__)
typedef long int64_t;
typedef int int32_t;
typedef uint uint32_t;
#elif defined(__CUDACC_RTC__)
typedef long long int64_t;
typedef int int32_t;
typedef unsigned int uint32_t;
#else
using std::int32_t;
using std::int64_t;
using std::uint32_t;
#endif

// How a node's steps arrive: from an array (its first input), or generated
// in the kernel as start + the position along the output's last axis.
enum class StepSource : int32_t { Array = 0, Generated = 1 };

// Where init, end and decay_steps live: in ScalarParams, or in three arrays
// broadcast to the output (init and end in the output dtype, decay_steps as
// int64).
enum class ParamSource : int32_t { Scalar = 0, Array = 1 };

// The schedule's parameters when they are scalars. T is double on the host
// (float64 results) and float in the Metal shader. New parameters are added
// here, and to the array operands below when they may vary per element.
template <typename T>
struct ScalarParams {
  T init;
  T end;
  int64_t decay_steps;
#if __cplusplus >= 202002L // the host (compares node states)
  bool operator==(const ScalarParams&) const = default;
#endif
};

// Which member of the cosine family a node computes
// (core/cosine_family_math.h). Cosine is cosine_decay itself, with no warmup
// and exponent 1: its node and kernels are those of the plain schedule, bit for
// bit. Warmup: a linear warmup of warmup_steps (0 allowed) and the decay
// fraction to the power exponent. Restarts: warm restarts, decay_steps being
// the first period.
enum class Kind : int32_t { Cosine = 0, Warmup = 1, Restarts = 2 };

// What a node outputs: the schedule, or its derivative with respect to the
// step (made by the transforms of the family kinds).
enum class Output : int32_t { Value = 0, StepSlope = 1 };

// The family's parameters beyond init, end and decay_steps. Always scalars
// (also where init, end and decay_steps are arrays); fields that a kind does
// not use keep their defaults, so equal schedules have equal states.
template <typename T>
struct FamilyParams {
  Kind kind;
  Output output;
  int64_t warmup_steps; // Warmup
  T warmup_init; // Warmup
  T exponent; // Warmup
  T t_mul; // Restarts
  T m_mul; // Restarts
#if __cplusplus >= 202002L // the host (compares node states)
  bool operator==(const FamilyParams&) const = default;
#endif
};

// The state of a plain cosine_decay node.
template <typename T>
COSINE_DECAY_DEVICE_FN FamilyParams<T> plain_cosine() {
  FamilyParams<T> f;
  f.kind = Kind::Cosine;
  f.output = Output::Value;
  f.warmup_steps = 0;
  f.warmup_init = T(0);
  f.exponent = T(1);
  f.t_mul = T(1);
  f.m_mul = T(1);
  return f;
}

// What a GPU kernel receives by value (Metal: [[buffer(2)]]): the scalar
// parameters, the first generated step and the family member.
template <typename T>
struct KernelScalars {
  ScalarParams<T> params;
  int64_t start;
  FamilyParams<T> family;
};

// The operands of the strided kernels, in the order of their strides: a
// kernel over an ndim-d output receives Operand::Count * ndim strides (in
// elements; 0 where an operand is broadcast, or absent), operand k's stride
// along axis ax at stride_index(k, ax, ndim). Generated steps have strides
// 0, ..., 0, 1 (the position along the last axis).
struct Operand {
  enum : int32_t { Step = 0, Init = 1, End = 2, DecaySteps = 3, Count = 4 };
};

COSINE_DECAY_DEVICE_FN int32_t
stride_index(int32_t operand, int32_t axis, int32_t ndim) {
  return operand * ndim + axis;
}

// The offsets of element i of a row-contiguous output over `shape` (ndim
// axes) in each operand, from strides packed as stride_index says. Pointers
// of any address space (Metal: constant), arrays of a struct (CUDA).
struct OperandOffsets {
  int64_t at[Operand::Count];
};

template <typename IdxT, typename ShapePtr, typename StridesPtr>
COSINE_DECAY_DEVICE_FN OperandOffsets
operand_offsets(IdxT i, ShapePtr shape, StridesPtr strides, int32_t ndim) {
  OperandOffsets loc = {};
  for (int32_t ax = ndim - 1; ax >= 0; --ax) {
    IdxT len = static_cast<IdxT>(shape[ax]);
    int64_t pos = static_cast<int64_t>(i % len);
    i /= len;
    for (int32_t k = 0; k < Operand::Count; ++k) {
      loc.at[k] += pos * strides[stride_index(k, ax, ndim)];
    }
  }
  return loc;
}

// Elements per thread of the GPU's contiguous kernel.
COSINE_DECAY_CONSTANT int32_t work_per_thread = 4;

// The most axes of the CUDA strided kernel, which takes its layout by value
// (MLX's MAX_NDIM): the host merges contiguous axes first.
COSINE_DECAY_CONSTANT int32_t max_ndim = 10;

// The CUDA strided kernel's layout: the output's shape (64-bit: a merged axis
// may exceed 2^31) and the operands' strides packed by stride_index.
struct StridedLayout {
  int64_t shape[max_ndim];
  int64_t strides[Operand::Count * max_ndim];
  int32_t ndim;
};

} // namespace cosine_decay_core
