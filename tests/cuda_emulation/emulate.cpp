// Copyright © 2026 mlx-cosine-decay authors.
//
// Runs the kernels of csrc/cuda/cosine_decay.cu on the host: the same file,
// compiled as C++ through cuda_compat.h, called once for every thread of
// every block of the launch a test describes. Driven by
// tests/test_emulation.py:
//
//   emulate CASE_DIR...
//
// Each CASE_DIR holds meta.txt and the raw buffers (tests/emulation.h
// `Case`); out.bin is written there. A second mode checks the
// float16/bfloat16 conversions against MLX's CPU types for every float16 and
// every float32 bit pattern:
//
//   emulate --conversions

#include <iostream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../emulation.h"
#include "cuda_compat.h"

#include "cuda/cosine_decay.cu"

#include "mlx/types/half_types.h"

namespace {

using namespace cosine_decay_cuda; // and its `core`

typedef emulation::Case<Scalars> Case;

// Every thread of every block, blocks in reverse order and threads forward
// (a GPU guarantees no order; a kernel that depends on one shows here).
template <typename K>
void each_thread(const Case& c, K kernel) {
  gridDim = {c.grid[0], c.grid[1], 1};
  blockDim = {c.threads, 1, 1};
  for (unsigned y = c.grid[1]; y-- > 0;) {
    for (unsigned b = c.grid[0]; b-- > 0;) {
      for (unsigned t = 0; t < c.threads; ++t) {
        blockIdx = {b, y, 0};
        threadIdx = {t, 0, 0};
        kernel();
      }
    }
  }
}

Layout layout_of(const Case& c) {
  Layout layout{};
  layout.ndim = static_cast<int32_t>(c.shape.size());
  std::copy(c.shape.begin(), c.shape.end(), layout.shape);
  std::copy(c.strides.begin(), c.strides.end(), layout.strides);
  return layout;
}

// The kernels the host launches (csrc/cuda/eval_gpu.cpp): work_per_thread
// elements per thread of the contiguous kernel; the strided one with the
// steps, or generated, and scalar or array parameters.
template <typename IdxT, bool Generated, typename In, typename Out>
void launch_kernel(const Case& c, const In* step, Out* out) {
  IdxT size = static_cast<IdxT>(c.size);
  if (c.variant == "contiguous") {
    if (c.work_per_thread != core::work_per_thread) {
      throw std::runtime_error("the host launches work_per_thread elements");
    }
    return each_thread(c, [&] {
      cosine_decay_contiguous<In, Out, IdxT, core::work_per_thread, Generated>(
          step, out, c.scalars, size);
    });
  }
  if (c.variant != "strided") {
    throw std::runtime_error("unknown variant " + c.variant);
  }
  Layout layout = layout_of(c);
  if (!c.array_params) {
    return each_thread(c, [&] {
      cosine_decay_strided<In, Out, IdxT, Generated, false>(
          step, out, c.scalars, size, nullptr, nullptr, nullptr, layout);
    });
  }
  auto* init = c.get<float>(Operand::Init);
  auto* end = c.get<float>(Operand::End);
  auto* d = c.get<int64_t>(Operand::DecaySteps);
  each_thread(c, [&] {
    cosine_decay_strided<In, Out, IdxT, Generated, true>(
        step, out, c.scalars, size, init, end, d, layout);
  });
}

// Only the results the op asks for are compiled (a full dtype switch takes
// minutes to compile): float32, or the steps' own half type.
template <typename In, typename Out, typename IdxT, typename Generated>
void launch(
    const Case& c,
    const In* step,
    Out* out,
    emulation::Tag<IdxT>,
    Generated) {
  if constexpr (!std::is_same_v<Out, float> && !std::is_same_v<In, Out>) {
    throw std::runtime_error("no " + c.out + " results from " + c.step);
  } else {
    launch_kernel<IdxT, Generated::value>(c, step, out);
  }
}

// The kernels' conversions against MLX's CPU types, bit for bit: every
// float16 to float, every float to float16 and bfloat16.
int check_conversions() {
  using mlx::core::bfloat16_t;
  using mlx::core::float16_t;
  auto bits = [](auto half) {
    uint16_t b;
    std::memcpy(&b, &half, sizeof(b));
    return b;
  };
  uint64_t bad = 0;
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    uint16_t b = static_cast<uint16_t>(h);
    float16_t mlx_h;
    std::memcpy(&mlx_h, &b, sizeof(b));
    float want = static_cast<float>(mlx_h);
    float got = Widen<float16_bits>::get(float16_bits{b});
    bad += bits_of_float(got) != bits_of_float(want);
  }
  uint32_t u = 0;
  do {
    float v = float_of_bits(u);
    bad += Narrow<float16_bits>::get(v).bits != bits(float16_t(v));
    bad += Narrow<bfloat16_bits>::get(v).bits != bits(bfloat16_t(v));
  } while (++u != 0);
  std::cout << "conversions differing from MLX's: " << bad << "\n";
  return bad == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--conversions") {
    return check_conversions();
  }
  return emulation::main<Scalars, float16_bits, bfloat16_bits>(
      argc, argv, [](auto&&... a) { launch(a...); });
}
