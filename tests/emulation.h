// Copyright © 2026 mlx-cosine-decay authors.
//
// What the host emulators of the GPU kernels share (metal_emulation/ and
// cuda_emulation/emulate.cpp): reading a case's buffers, the dtype switch
// from the names the tests write to the kernels' types, and running a case
// into an output buffer followed by a guard that must stay untouched. See
// tests/_emulation.py for the writing side.

#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace emulation {

inline std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A case's input buffers by operand (cosine_decay_core::Operand): the files
// step.bin, init.bin, end.bin and decay_steps.bin of its directory (empty
// where the operand is not an array).
struct Inputs {
  std::vector<char> bytes[4];

  explicit Inputs(const std::string& dir) {
    const char* names[4] = {"step", "init", "end", "decay_steps"};
    for (int k = 0; k < 4; ++k) {
      bytes[k] = read_file(dir + "/" + names[k] + ".bin");
    }
  }

  // Operand k as a T*, from offsets[k] elements into its buffer.
  template <typename T>
  const T* get(int k, const int64_t* offsets) const {
    return reinterpret_cast<const T*>(bytes[k].data()) + offsets[k];
  }
};

template <typename T>
struct Tag {
  using type = T;
};

// Calls f(Tag<T>{}) for the kernel type of a step dtype name; Half and
// BFloat16 are the kernel source's types for float16 and bfloat16.
template <typename Half, typename BFloat16, typename F>
void with_step_type(const std::string& name, F f) {
  if (name == "bool")
    return f(Tag<bool>{});
  if (name == "uint8")
    return f(Tag<uint8_t>{});
  if (name == "uint16")
    return f(Tag<uint16_t>{});
  if (name == "uint32")
    return f(Tag<uint32_t>{});
  if (name == "uint64")
    return f(Tag<uint64_t>{});
  if (name == "int8")
    return f(Tag<int8_t>{});
  if (name == "int16")
    return f(Tag<int16_t>{});
  if (name == "int32")
    return f(Tag<int32_t>{});
  if (name == "int64")
    return f(Tag<int64_t>{});
  if (name == "float16")
    return f(Tag<Half>{});
  if (name == "bfloat16")
    return f(Tag<BFloat16>{});
  if (name == "float32")
    return f(Tag<float>{});
  throw std::runtime_error("unsupported step dtype " + name);
}

// The output types: only these are instantiated (a full dtype switch for
// the output would compile four times as many kernels).
template <typename Half, typename BFloat16, typename F>
void with_out_type(const std::string& name, F f) {
  if (name == "float32")
    return f(Tag<float>{});
  if (name == "float16")
    return f(Tag<Half>{});
  if (name == "bfloat16")
    return f(Tag<BFloat16>{});
  throw std::runtime_error("unsupported output dtype " + name);
}

// Calls f(bool_constant<Generated>, bool_constant<ArrayParams>): the
// template arguments of a strided kernel.
template <typename F>
void with_strided_variant(bool generated, bool array_params, F f) {
  using Yes = std::true_type;
  using No = std::false_type;
  if (generated && array_params)
    return f(Yes{}, Yes{});
  if (generated)
    return f(Yes{}, No{});
  if (array_params)
    return f(No{}, Yes{});
  return f(No{}, No{});
}

/**
 * One case of DIR: calls run(out_bytes, Tag<In>, Tag<Out>, Tag<IdxT>) for
 * the kernel types of the step dtype (int64 where generated), the output
 * dtype and the index width, with out_bytes holding `size` outputs and a
 * guard after them, then checks the guard and writes DIR/out.bin.
 */
template <typename Half, typename BFloat16, typename Run>
void run_case(
    const std::string& dir,
    const std::string& step,
    const std::string& out,
    bool generated,
    int idx_bits,
    uint64_t size,
    Run run) {
  constexpr size_t guard = 64;
  constexpr char fill = 0x5A;
  std::vector<char> out_bytes;
  size_t out_size = 0;
  with_out_type<Half, BFloat16>(out, [&](auto out_tag) {
    out_size = size * sizeof(typename decltype(out_tag)::type);
    out_bytes.assign(out_size + guard, fill);
    with_step_type<Half, BFloat16>(
        generated ? "int64" : step, [&](auto in_tag) {
          if (idx_bits == 32) {
            run(out_bytes, in_tag, out_tag, Tag<uint32_t>{});
          } else if (idx_bits == 64) {
            run(out_bytes, in_tag, out_tag, Tag<uint64_t>{});
          } else {
            throw std::runtime_error("idx must be 32 or 64");
          }
        });
  });
  for (size_t i = out_size; i < out_bytes.size(); ++i) {
    if (out_bytes[i] != fill) {
      throw std::runtime_error("a kernel wrote past the end of the output");
    }
  }
  std::ofstream f(dir + "/out.bin", std::ios::binary);
  f.write(out_bytes.data(), out_size);
  if (!f) {
    throw std::runtime_error("cannot write " + dir + "/out.bin");
  }
}

} // namespace emulation
