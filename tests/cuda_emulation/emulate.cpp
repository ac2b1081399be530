// Copyright © 2026 mlx-cosine-decay authors.
//
// Runs the kernels of csrc/cuda/cosine_decay.cu on the host: the same file,
// compiled as C++ through cuda_compat.h, called once for every thread of
// every block of the launch a test describes. Driven by
// tests/test_cuda_emulation.py:
//
//   emulate CASE_DIR...
//
// Each CASE_DIR holds meta.txt (key value lines, see `Launch`) and the raw
// buffers step.bin, init.bin, end.bin, decay_steps.bin; out.bin is written
// there. A second mode checks the float16/bfloat16 conversions against
// MLX's CPU types for every float16 and every float32 bit pattern:
//
//   emulate --conversions

#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../emulation.h"
#include "cuda_compat.h"

#include "cuda/cosine_decay.cu"

#include "mlx/types/half_types.h"

namespace {

using namespace cosine_decay_cuda;

struct Launch {
  std::string variant; // contiguous or strided
  std::string step, out; // dtype names
  int idx_bits = 32, work_per_thread = 1;
  bool generated = false, array_params = false, donate = false;
  Scalars scalars{};
  uint64_t size = 0;
  unsigned blocks = 0, threads = 0; // grid and block size (x only)
  Layout layout{};
  int64_t offsets[Operand::Count] = {}; // first element of each input buffer
};

Launch read_launch(const std::string& dir) {
  std::ifstream f(dir + "/meta.txt");
  if (!f) {
    throw std::runtime_error("cannot read " + dir + "/meta.txt");
  }
  Launch c;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "variant")
      in >> c.variant;
    else if (key == "step")
      in >> c.step;
    else if (key == "out")
      in >> c.out;
    else if (key == "idx")
      in >> c.idx_bits;
    else if (key == "work_per_thread")
      in >> c.work_per_thread;
    else if (key == "generated")
      in >> c.generated;
    else if (key == "array_params")
      in >> c.array_params;
    else if (key == "donate")
      in >> c.donate;
    else if (key == "scalars") {
      in >> c.scalars.params.init >> c.scalars.params.end >>
          c.scalars.params.decay_steps >> c.scalars.start;
    } else if (key == "size")
      in >> c.size;
    else if (key == "launch")
      in >> c.blocks >> c.threads;
    else if (key == "shape") {
      int64_t extent;
      while (in >> extent) {
        c.layout.shape[c.layout.ndim++] = extent;
      }
    } else if (key == "strides") { // Operand::Count x ndim
      for (int k = 0; k < Operand::Count * c.layout.ndim; ++k) {
        in >> c.layout.strides[k];
      }
    } else if (key == "offsets") {
      for (auto& o : c.offsets)
        in >> o;
    } else if (!key.empty()) {
      throw std::runtime_error("unknown key " + key);
    }
    if (in.fail() && !in.eof()) {
      throw std::runtime_error("malformed line: " + line);
    }
  }
  return c;
}

// Every thread of every block, blocks in reverse order and threads forward
// (a GPU guarantees no order; a kernel that depends on one shows here).
template <typename K>
void each_thread(const Launch& c, K kernel) {
  gridDim = {c.blocks, 1, 1};
  blockDim = {c.threads, 1, 1};
  for (unsigned b = c.blocks; b-- > 0;) {
    for (unsigned t = 0; t < c.threads; ++t) {
      blockIdx = {b, 0, 0};
      threadIdx = {t, 0, 0};
      kernel();
    }
  }
}

template <int N, typename In, typename Out, typename IdxT>
void contiguous(const Launch& c, const In* step, Out* out) {
  IdxT size = static_cast<IdxT>(c.size);
  each_thread(c, [&] {
    if (c.generated) {
      cosine_decay_contiguous<In, Out, IdxT, N, true>(
          step, out, c.scalars, size);
    } else {
      cosine_decay_contiguous<In, Out, IdxT, N, false>(
          step, out, c.scalars, size);
    }
  });
}

template <typename In, typename Out, typename IdxT>
void run(
    const Launch& c,
    const std::string& dir,
    std::vector<char>& out_bytes,
    emulation::Tag<In>,
    emulation::Tag<Out>,
    emulation::Tag<IdxT>) {
  emulation::Inputs inputs(dir);
  auto& step_bytes = inputs.bytes[Operand::Step];
  if (c.donate) { // the output is the step buffer itself
    if (sizeof(In) != sizeof(Out) ||
        step_bytes.size() != c.size * sizeof(Out)) {
      throw std::runtime_error("donate needs a step buffer the output's size");
    }
    std::copy(step_bytes.begin(), step_bytes.end(), out_bytes.begin());
  }
  auto* step = c.generated ? nullptr
      : c.donate           ? reinterpret_cast<const In*>(out_bytes.data())
                           : inputs.get<In>(Operand::Step, c.offsets);
  auto* init = inputs.get<float>(Operand::Init, c.offsets);
  auto* end = inputs.get<float>(Operand::End, c.offsets);
  auto* d = inputs.get<int64_t>(Operand::DecaySteps, c.offsets);
  auto* out = reinterpret_cast<Out*>(out_bytes.data());
  IdxT size = static_cast<IdxT>(c.size);
  if (!c.array_params) {
    init = end = nullptr;
    d = nullptr;
  }

  if (c.variant == "contiguous") {
    switch (c.work_per_thread) {
      case 1:
        return contiguous<1, In, Out, IdxT>(c, step, out);
      case 4:
        return contiguous<4, In, Out, IdxT>(c, step, out);
      default:
        throw std::runtime_error("work_per_thread must be 1 or 4");
    }
  }
  if (c.variant != "strided") {
    throw std::runtime_error("unknown variant " + c.variant);
  }
  emulation::with_strided_variant(
      c.generated, c.array_params, [&](auto generated, auto array_params) {
        auto* kernel = cosine_decay_strided<
            In,
            Out,
            IdxT,
            decltype(generated)::value,
            decltype(array_params)::value>;
        each_thread(c, [&] {
          kernel(step, out, c.scalars, size, init, end, d, c.layout);
        });
      });
}

void run_case(const std::string& dir) {
  Launch c = read_launch(dir);
  emulation::run_case<float16_bits, bfloat16_bits>(
      dir,
      c.step,
      c.out,
      c.generated,
      c.idx_bits,
      c.size,
      [&](std::vector<char>& out_bytes, auto... types) {
        run(c, dir, out_bytes, types...);
      });
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
  try {
    if (argc == 2 && std::string(argv[1]) == "--conversions") {
      return check_conversions();
    }
    if (argc < 2) {
      std::cerr << "usage: emulate CASE_DIR... | emulate --conversions\n";
      return 2;
    }
    for (int i = 1; i < argc; ++i) {
      run_case(argv[i]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "emulate: " << e.what() << "\n";
    return 1;
  }
}
