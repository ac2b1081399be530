// Copyright © 2026 mlx-cosine-decay authors.

#include "metal/kernel_source.h"

#include "core/kernel_params.h"

#include <stdexcept>

namespace mlx_cosine_decay::metal {

namespace {

struct TypeNames {
  const char* short_name; // in kernel names
  const char* metal_name; // in the shader
};

TypeNames type_names(mx::Dtype t) {
  switch (t) {
    case mx::bool_:
      return {"bool", "bool"};
    case mx::uint8:
      return {"uint8", "uint8_t"};
    case mx::uint16:
      return {"uint16", "uint16_t"};
    case mx::uint32:
      return {"uint32", "uint32_t"};
    case mx::uint64:
      return {"uint64", "uint64_t"};
    case mx::int8:
      return {"int8", "int8_t"};
    case mx::int16:
      return {"int16", "int16_t"};
    case mx::int32:
      return {"int32", "int32_t"};
    case mx::int64:
      return {"int64", "int64_t"};
    case mx::float16:
      return {"float16", "half"};
    case mx::bfloat16:
      return {"bfloat16", "bfloat16_bits"};
    case mx::float32:
      return {"float32", "float"};
    default:
      throw std::invalid_argument(
          "[cosine_decay] The Metal kernels support no float64 or complex "
          "types.");
  }
}

TypeNames out_names(mx::Dtype t) {
  if (t != mx::float32 && t != mx::float16 && t != mx::bfloat16) {
    throw std::invalid_argument(
        "[cosine_decay] The Metal kernels write float32, float16 or bfloat16.");
  }
  return type_names(t);
}

} // namespace

std::string kernel_name(const KernelSpec& spec) {
  std::string name = spec.contiguous ? "cosine_decay_contiguous_"
                                     : "cosine_decay_strided_";
  name += spec.generated ? "generated" : type_names(spec.step).short_name;
  name += "_";
  name += out_names(spec.out).short_name;
  name += spec.large ? "_u64" : "_u32";
  if (!spec.contiguous && spec.array_params) {
    name += "_array_params";
  }
  return name;
}

std::string library_name(const KernelSpec& spec) {
  return std::string("mlx_cosine_decay_") + metal_source_hash() + "_" +
      kernel_name(spec);
}

std::string library_source(const KernelSpec& spec) {
  if (spec.contiguous && (spec.generated || spec.array_params)) {
    throw std::invalid_argument(
        "[cosine_decay] The contiguous kernel takes steps and scalar "
        "parameters.");
  }
  std::string in = spec.generated ? "int64_t" : type_names(spec.step).metal_name;
  std::string args = in + ", " + out_names(spec.out).metal_name + ", " +
      (spec.large ? "uint64_t" : "uint32_t");
  std::string func;
  if (spec.contiguous) {
    func = "cosine_decay_contiguous<" + args + ", " +
        std::to_string(cosine_decay_core::work_per_thread) + ">";
  } else {
    func = "cosine_decay_strided<" + args + ", " +
        (spec.generated ? "true" : "false") + ", " +
        (spec.array_params ? "true" : "false") + ">";
  }
  // As MLX's instantiate_kernel: the signature comes from the template.
  return std::string(metal_source()) + "\nnamespace cosine_decay_metal {\n" +
      "template [[host_name(\"" + kernel_name(spec) + "\")]] [[kernel]] decltype(" +
      func + ") " + func + ";\n} // namespace cosine_decay_metal\n";
}

} // namespace mlx_cosine_decay::metal
