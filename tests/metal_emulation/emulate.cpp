// Copyright © 2026 mlx-cosine-decay authors.
//
// Runs the kernels of csrc/metal/cosine_decay.metal on the host: the same file,
// compiled as C++ through metal_compat.h, called once per thread position of
// the grid a test asks for. Driven by tests/test_emulation.py:
//
//   emulate CASE_DIR...
//
// reads each CASE_DIR's meta.txt and raw buffers (tests/emulation.h `Case`)
// and writes CASE_DIR/out.bin.

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

// Standard headers first: the compatibility macros would break them.
#include "../emulation.h"
#include "metal_compat.h"

#include "metal/cosine_decay.metal"

#undef device
#undef constant
#undef thread
#undef threadgroup
#undef kernel
#undef buffer
#undef thread_position_in_grid
#undef threads_per_grid

namespace {

using namespace cosine_decay_metal;

using cosine_decay_core::Operand;
using cosine_decay_core::work_per_thread;

typedef emulation::Case<Scalars> Case;

// Every thread position of the grid, in an order a GPU might also use.
template <typename K>
void each_thread(const Case& c, K kernel) {
  uint2 grid{c.grid[0], c.grid[1]};
  for (uint32_t y = 0; y < grid.y; ++y) {
    for (uint32_t x = 0; x < grid.x; ++x) {
      kernel(uint2{x, y}, grid);
    }
  }
}

// The kernels the host launches (csrc/metal/eval_gpu.cpp): work_per_thread
// elements per thread of the contiguous kernel; the strided one with the
// steps, or generated, and scalar or array parameters. Unread buffers are
// bound to placeholders by the host: here, empty ones.
template <typename In, typename Out, typename IdxT, typename G>
void launch(const Case& c, const In* step, Out* out, emulation::Tag<IdxT>, G) {
  constexpr bool Generated = G::value;
  IdxT size = static_cast<IdxT>(c.size);
  if (c.variant == "contiguous") {
    if (c.work_per_thread != work_per_thread || Generated) {
      throw std::runtime_error("the host launches work_per_thread elements");
    }
    return each_thread(c, [&](uint2 index, uint2 grid) {
      cosine_decay_contiguous<In, Out, IdxT, work_per_thread>(
          step, out, c.scalars, size, index, grid);
    });
  }
  if (c.variant != "strided") {
    throw std::runtime_error("unknown variant " + c.variant);
  }
  auto* kernel = c.array_params
      ? cosine_decay_strided<In, Out, IdxT, Generated, true>
      : cosine_decay_strided<In, Out, IdxT, Generated, false>;
  std::vector<int> shape(c.shape.begin(), c.shape.end());
  each_thread(c, [&](uint2 index, uint2 grid) {
    kernel(
        step,
        out,
        c.scalars,
        size,
        c.get<float>(Operand::Init),
        c.get<float>(Operand::End),
        c.get<int64_t>(Operand::DecaySteps),
        shape.data(),
        c.strides.data(),
        static_cast<int>(shape.size()),
        index,
        grid);
  });
}

} // namespace

int main(int argc, char** argv) {
  return emulation::main<Scalars, half, bfloat16_bits>(
      argc, argv, [](auto&&... a) { launch(a...); });
}
