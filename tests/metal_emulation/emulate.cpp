// Copyright © 2026 mlx-cosine-decay authors.
//
// Runs the kernels of csrc/metal/cosine_decay.metal on the host: the same file,
// compiled as C++ through metal_compat.h, called once per thread position of
// the grid a test asks for. Driven by tests/test_metal_emulation.py:
//
//   emulate CASE_DIR
//
// reads CASE_DIR/meta.txt (see `Case`) and the raw buffers step.bin,
// init.bin, end.bin, decay_steps.bin, and writes CASE_DIR/out.bin.

#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
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

struct Case {
  std::string variant, step, out;
  int idx_bits;
  bool generated, array_params;
  Scalars scalars;
  uint64_t size;
  uint32_t grid_x, grid_y;
  std::vector<int> shape;
  std::vector<int64_t> strides; // 4 x ndim
  int64_t offsets[Operand::Count]; // elements from the start of each buffer
};

Case read_case(const std::string& dir) {
  std::ifstream f(dir + "/meta.txt");
  if (!f) {
    throw std::runtime_error("cannot read " + dir + "/meta.txt");
  }
  Case c;
  c.scalars.family = cosine_decay_core::plain_cosine<float>();
  std::string key;
  int ndim = 0;
  while (f >> key) {
    if (key == "variant") {
      f >> c.variant;
    } else if (key == "step") {
      f >> c.step;
    } else if (key == "out") {
      f >> c.out;
    } else if (key == "idx") {
      f >> c.idx_bits;
    } else if (key == "generated") {
      f >> c.generated;
    } else if (key == "array_params") {
      f >> c.array_params;
    } else if (key == "scalars") {
      f >> c.scalars.params.init >> c.scalars.params.end >>
          c.scalars.params.decay_steps >> c.scalars.start;
    } else if (key == "family") { // kind output warmup_steps warmup_init
                                  // exponent
      int kind = 0, output = 0;
      f >> kind >> output >> c.scalars.family.warmup_steps >>
          c.scalars.family.warmup_init >> c.scalars.family.exponent;
      c.scalars.family.kind = static_cast<cosine_decay_core::Kind>(kind);
      c.scalars.family.output = static_cast<cosine_decay_core::Output>(output);
    } else if (key == "size") {
      f >> c.size;
    } else if (key == "grid") {
      f >> c.grid_x >> c.grid_y;
    } else if (key == "ndim") {
      f >> ndim;
      c.shape.resize(ndim);
      c.strides.resize(4 * ndim);
    } else if (key == "shape") {
      for (auto& s : c.shape) {
        f >> s;
      }
    } else if (key == "strides") {
      for (auto& s : c.strides) {
        f >> s;
      }
    } else if (key == "offsets") {
      for (auto& o : c.offsets) {
        f >> o;
      }
    } else {
      throw std::runtime_error("unknown key " + key);
    }
  }
  if (!f.eof()) {
    throw std::runtime_error("malformed meta.txt");
  }
  return c;
}

// Every thread position of the grid, in an order a GPU might also use.
template <typename K>
void each_thread(const Case& c, K kernel) {
  uint2 grid{c.grid_x, c.grid_y};
  for (uint32_t y = 0; y < c.grid_y; ++y) {
    for (uint32_t x = 0; x < c.grid_x; ++x) {
      kernel(uint2{x, y}, grid);
    }
  }
}

template <typename In, typename Out, typename IdxT>
void run(
    const Case& c,
    const std::string& dir,
    std::vector<char>& out_bytes,
    emulation::Tag<In>,
    emulation::Tag<Out>,
    emulation::Tag<IdxT>) {
  emulation::Inputs inputs(dir);
  auto* step = inputs.get<In>(Operand::Step, c.offsets);
  auto* init = inputs.get<float>(Operand::Init, c.offsets);
  auto* end = inputs.get<float>(Operand::End, c.offsets);
  auto* d = inputs.get<int64_t>(Operand::DecaySteps, c.offsets);
  auto* out = reinterpret_cast<Out*>(out_bytes.data());
  IdxT size = static_cast<IdxT>(c.size);
  int ndim = static_cast<int>(c.shape.size());

  if (c.variant == "contiguous") {
    each_thread(c, [&](uint2 index, uint2 grid) {
      cosine_decay_contiguous<In, Out, IdxT, work_per_thread>(
          step, out, c.scalars, size, index, grid);
    });
  } else if (c.variant == "strided") {
    emulation::with_strided_variant(
        c.generated, c.array_params, [&](auto generated, auto array_params) {
          constexpr bool G = decltype(generated)::value;
          if constexpr (G && !std::is_same_v<In, int64_t>) {
            throw std::runtime_error("generated steps are int64");
          } else {
            auto* kernel = cosine_decay_strided<
                In,
                Out,
                IdxT,
                G,
                decltype(array_params)::value>;
            each_thread(c, [&](uint2 index, uint2 grid) {
              kernel(
                  step,
                  out,
                  c.scalars,
                  size,
                  init,
                  end,
                  d,
                  c.shape.data(),
                  c.strides.data(),
                  ndim,
                  index,
                  grid);
            });
          }
        });
  } else {
    throw std::runtime_error("unknown variant " + c.variant);
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: emulate CASE_DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  try {
    Case c = read_case(dir);
    emulation::run_case<half, bfloat16_bits>(
        dir,
        c.step,
        c.out,
        c.generated,
        c.idx_bits,
        c.size,
        [&](std::vector<char>& out_bytes, auto... types) {
          run(c, dir, out_bytes, types...);
        });
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "emulate: " << e.what() << "\n";
    return 1;
  }
}
