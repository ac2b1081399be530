// Copyright © 2026 mlx-cosine-decay authors.
//
// Just enough of the Metal Shading Language, as C++, to compile
// csrc/metal/cosine_decay.metal on the host: address spaces and attributes
// become nothing, `half` is _Float16 (IEEE binary16, rounding to nearest even
// like Metal), and metal:: functions map to std::. Standard headers come first:
// the macros below would break them.

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

using half = _Float16;

struct uint2 {
  uint32_t x;
  uint32_t y;
};

template <typename To, typename From>
inline To as_type(From from) {
  static_assert(sizeof(To) == sizeof(From), "as_type needs equal sizes");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

namespace metal {
using std::fma;
using std::fmod;
using std::numeric_limits;
} // namespace metal

// Address spaces.
#define device
#define constant
#define thread
#define threadgroup

// Attributes: [[kernel]], [[buffer(n)]], ... become the empty [[]].
#define kernel
#define buffer(n)
#define thread_position_in_grid
#define threads_per_grid
