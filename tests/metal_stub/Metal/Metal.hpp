// Copyright © 2026 mlx-cosine-decay authors.
//
// A stand-in for metal-cpp's Metal/Metal.hpp with only the declarations that
// MLX's installed backend/metal headers and csrc/metal/eval_gpu.cpp use, so
// that eval_gpu.cpp can be compile-checked (-fsyntax-only) where Metal does
// not exist. Nothing here is ever linked or run. Signatures follow metal-cpp.

#pragma once

#include <cstddef>
#include <cstdint>

namespace NS {

using UInteger = std::uintptr_t;

template <typename T>
class SharedPtr {
 public:
  T* get() const;
  T* operator->() const;
};

class AutoreleasePool;
class String;

} // namespace NS

namespace MTL {

enum DataType : NS::UInteger {};

struct Size {
  Size(NS::UInteger width, NS::UInteger height, NS::UInteger depth);
  NS::UInteger width;
  NS::UInteger height;
  NS::UInteger depth;
};

class Allocation;
class Resource;
class Buffer;
class Library;
class Function;
class LinkedFunctions;
class Fence;
class CommandQueue;
class CommandBuffer;
class Device;
class ResidencySet;

class ComputePipelineState {
 public:
  NS::UInteger maxTotalThreadsPerThreadgroup() const;
};

class ComputeCommandEncoder {
 public:
  void setComputePipelineState(const ComputePipelineState* state);
  void setBytes(const void* bytes, NS::UInteger length, NS::UInteger index);
  void setThreadgroupMemoryLength(NS::UInteger length, NS::UInteger index);
};

} // namespace MTL
