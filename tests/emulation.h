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
#include <map>
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
    std::map<std::string, std::string> fields;
    std::string line, key;
    while (std::getline(f, line)) {
      std::istringstream in(line);
      if (in >> key) {
        std::getline(in >> std::ws, fields[key]);
      }
    }
    read(fields);
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
  // The fixed-length fields, in one stream in this order (missing ones take
  // their defaults), then the shape and strides (any length).
  void read(std::map<std::string, std::string>& fields) {
    // The keys in order, and their defaults (comma-separated).
    std::istringstream keys(
        "variant step out idx work_per_thread generated array_params donate "
        "size grid threads scalars family offsets");
    std::istringstream defaults(
        "-,-,-,32,1,0,0,0,0,0 1,1,0 0 1 0,0 0 0 0 1 1 1,0 0 0 0");
    std::string joined, key, fallback;
    while (keys >> key && std::getline(defaults, fallback, ',')) {
      auto it = fields.find(key);
      joined += (it == fields.end() ? fallback : it->second) + " ";
      if (it != fields.end()) {
        fields.erase(it);
      }
    }
    std::istringstream in(joined);
    auto& family = scalars.family;
    int kind = 0, output = 0;
    in >> variant >> step >> out >> idx_bits >> work_per_thread >> generated >>
        array_params >> donate >> size >> grid[0] >> grid[1] >> threads >>
        scalars.params.init >> scalars.params.end >>
        scalars.params.decay_steps >> scalars.start >> kind >> output >>
        family.warmup_steps >> family.warmup_init >> family.exponent >>
        family.t_mul >> family.m_mul >> offsets[0] >> offsets[1] >>
        offsets[2] >> offsets[3];
    if (in.fail()) {
      throw std::runtime_error("malformed " + dir + "/meta.txt");
    }
    family.kind = static_cast<cosine_decay_core::Kind>(kind);
    family.output = static_cast<cosine_decay_core::Output>(output);
    for (auto* v : {&shape, &strides}) {
      std::istringstream values(fields[v == &shape ? "shape" : "strides"]);
      for (int64_t x; values >> x;) {
        v->push_back(x);
      }
    }
    fields.erase("shape");
    fields.erase("strides");
    if (!fields.empty()) {
      throw std::runtime_error("unknown key " + fields.begin()->first);
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

/**
 * The emulators' main: `emulate CASE_DIR...`, each case run (run_case) by
 * launch(c, step, out, Tag<IdxT>, bool_constant<Generated>).
 */
template <typename Scalars, typename Half, typename BFloat16, typename Launch>
int main(int argc, char** argv, Launch launch) {
  if (argc < 2) {
    std::cerr << "usage: emulate CASE_DIR...\n";
    return 2;
  }
  try {
    for (int i = 1; i < argc; ++i) {
      Case<Scalars> c(argv[i]);
      run_case<Half, BFloat16>(c, [&](auto... args) { launch(c, args...); });
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "emulate: " << e.what() << "\n";
    return 1;
  }
}

} // namespace emulation
