// Copyright © 2026 mlx-cosine-decay authors.
//
// What the host emulators of the GPU kernels share (metal_emulation/ and
// cuda_emulation/emulate.cpp): a case as tests/_emulation.py writes it (its
// launch, parameters and buffers), the dtype switch from the names the tests
// write to the kernels' types, and the driver that runs each case into an
// output buffer followed by a guard that must stay untouched. Each emulator
// supplies only how to call its kernels at every thread position.

#pragma once

#include <array>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/kernel_params.h"

namespace emulation {

using cosine_decay_core::Operand;

inline std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/**
 * One launch of one kernel, from DIR/meta.txt (`key values...` lines; keys
 * as tests/_emulation.py `Cases.add` writes them) and the raw buffers
 * DIR/step.bin, init.bin, end.bin and decay_steps.bin (empty where the
 * operand is not an array). Scalars: the kernel's KernelScalars<T>.
 */
template <typename Scalars>
struct Case {
  std::string dir;
  std::string variant; // contiguous or strided
  std::string step, out; // dtype names
  int idx_bits = 32;
  int work_per_thread = 1;
  bool generated = false, array_params = false;
  bool donate = false; // the output is the step buffer itself
  Scalars scalars{};
  uint64_t size = 0;
  // CUDA: blocks in x and y, and threads per block; Metal: threads in x and
  // y (threads per group 1).
  uint32_t grid[2] = {0, 1};
  uint32_t threads = 1;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides; // Operand::Count x ndim
  int64_t offsets[Operand::Count] = {}; // first element of each input buffer
  std::vector<char> bytes[Operand::Count];

  explicit Case(const std::string& dir_) : dir(dir_) {
    scalars.family = cosine_decay_core::plain_cosine<
        std::remove_reference_t<decltype(scalars.params.init)>>();
    std::ifstream f(dir + "/meta.txt");
    if (!f) {
      throw std::runtime_error("cannot read " + dir + "/meta.txt");
    }
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string key;
      in >> key;
      read(key, in);
      if (in.fail() && !in.eof()) {
        throw std::runtime_error("malformed line: " + line);
      }
    }
    const char* names[Operand::Count] = {"step", "init", "end", "decay_steps"};
    for (int k = 0; k < Operand::Count; ++k) {
      bytes[k] = read_file(dir + "/" + names[k] + ".bin");
    }
  }

  /** Operand k as a T*, from offsets[k] elements into its buffer. */
  template <typename T>
  const T* get(int k) const {
    return reinterpret_cast<const T*>(bytes[k].data()) + offsets[k];
  }

 private:
  void read(const std::string& key, std::istringstream& in) {
    auto& family = scalars.family;
    int kind = 0, output = 0;
    int64_t value = 0;
    if (key == "variant")
      in >> variant;
    else if (key == "step")
      in >> step;
    else if (key == "out")
      in >> out;
    else if (key == "idx")
      in >> idx_bits;
    else if (key == "work_per_thread")
      in >> work_per_thread;
    else if (key == "generated")
      in >> generated;
    else if (key == "array_params")
      in >> array_params;
    else if (key == "donate")
      in >> donate;
    else if (key == "scalars")
      in >> scalars.params.init >> scalars.params.end >>
          scalars.params.decay_steps >> scalars.start;
    else if (key == "family") {
      in >> kind >> output >> family.warmup_steps >> family.warmup_init >>
          family.exponent >> family.t_mul >> family.m_mul;
      family.kind = static_cast<cosine_decay_core::Kind>(kind);
      family.output = static_cast<cosine_decay_core::Output>(output);
    } else if (key == "size")
      in >> size;
    else if (key == "grid")
      in >> grid[0] >> grid[1];
    else if (key == "threads")
      in >> threads;
    else if (key == "shape" || key == "strides") {
      auto& v = key == "shape" ? shape : strides;
      while (in >> value) {
        v.push_back(value);
      }
    } else if (key == "offsets") {
      for (auto& o : offsets)
        in >> o;
    } else if (!key.empty()) {
      throw std::runtime_error("unknown key " + key);
    }
  }
};

template <typename T>
struct Tag {
  using type = T;
};

/**
 * Calls f(Tag<T>{}) for the T of `types` whose name in `names` is `name`.
 */
template <typename... Types, typename F>
void with_type_named(
    const std::string& name,
    const std::array<const char*, sizeof...(Types)>& names,
    F f) {
  size_t k = 0;
  bool found = ((name == names[k++] ? (f(Tag<Types>{}), true) : false) || ...);
  if (!found) {
    throw std::runtime_error("unsupported dtype " + name);
  }
}

/**
 * Calls f(Tag<In>, Tag<Out>, Tag<IdxT>) for the kernel types of a case: the
 * step dtype (int64 where generated; Half and BFloat16 are the kernel
 * source's types for float16 and bfloat16), the output dtype (only the three
 * the kernels write: a full switch would compile four times as many) and
 * the index width.
 */
template <typename Half, typename BFloat16, typename Scalars, typename F>
void with_case_types(const Case<Scalars>& c, F f) {
  with_type_named<float, Half, BFloat16>(
      c.out, {"float32", "float16", "bfloat16"}, [&](auto out) {
        with_type_named<
            bool,
            uint8_t,
            uint16_t,
            uint32_t,
            uint64_t,
            int8_t,
            int16_t,
            int32_t,
            int64_t,
            Half,
            BFloat16,
            float>(
            c.generated ? "int64" : c.step,
            {"bool",
             "uint8",
             "uint16",
             "uint32",
             "uint64",
             "int8",
             "int16",
             "int32",
             "int64",
             "float16",
             "bfloat16",
             "float32"},
            [&](auto in) {
              with_type_named<uint32_t, uint64_t>(
                  std::to_string(c.idx_bits), {"32", "64"}, [&](auto idx) {
                    f(in, out, idx);
                  });
            });
      });
}

/**
 * Runs one case: run(step, out, Tag<IdxT>, bool_constant<Generated>) calls
 * the kernels with `out` holding `size` outputs and a guard after them (and
 * the steps, `step` pointing there, where the case donates the step buffer);
 * then checks the guard and writes DIR/out.bin.
 */
template <typename Half, typename BFloat16, typename Scalars, typename Run>
void run_case(const Case<Scalars>& c, Run run) {
  constexpr size_t guard = 64;
  constexpr char fill = 0x5A;
  std::vector<char> out_bytes;
  size_t out_size = 0;
  with_case_types<Half, BFloat16>(c, [&](auto in_tag, auto out_tag, auto idx) {
    using In = typename decltype(in_tag)::type;
    using Out = typename decltype(out_tag)::type;
    out_size = c.size * sizeof(Out);
    out_bytes.assign(out_size + guard, fill);
    const In* step = c.generated ? nullptr : c.template get<In>(Operand::Step);
    if (c.donate) { // each element is read, then written, by one thread
      auto& steps = c.bytes[Operand::Step];
      if (sizeof(In) != sizeof(Out) || steps.size() != out_size) {
        throw std::runtime_error(
            "donate needs a step buffer the output's size");
      }
      std::copy(steps.begin(), steps.end(), out_bytes.begin());
      step = reinterpret_cast<const In*>(out_bytes.data());
    }
    auto* out = reinterpret_cast<Out*>(out_bytes.data());
    // Generated steps are int64: no kernel for other step types.
    if constexpr (std::is_same_v<In, int64_t>) {
      if (c.generated) {
        return run(step, out, idx, std::true_type{});
      }
    }
    run(step, out, idx, std::false_type{});
  });
  for (size_t i = out_size; i < out_bytes.size(); ++i) {
    if (out_bytes[i] != fill) {
      throw std::runtime_error("a kernel wrote past the end of the output");
    }
  }
  std::ofstream f(c.dir + "/out.bin", std::ios::binary);
  f.write(out_bytes.data(), out_size);
  if (!f) {
    throw std::runtime_error("cannot write " + c.dir + "/out.bin");
  }
}

/** The emulators' main: `emulate CASE_DIR...`, run_one(dir) per case. */
template <typename RunOne>
int main(int argc, char** argv, RunOne run_one) {
  if (argc < 2) {
    std::cerr << "usage: emulate CASE_DIR...\n";
    return 2;
  }
  try {
    for (int i = 1; i < argc; ++i) {
      run_one(std::string(argv[i]));
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "emulate: " << e.what() << "\n";
    return 1;
  }
}

} // namespace emulation
