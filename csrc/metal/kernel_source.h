// Copyright © 2026 mlx-cosine-decay authors.
//
// The Metal source of the kernels and the names and instantiations the host
// asks the Metal device for. Plain strings: built on every platform, so the
// tests can check them where Metal does not run.

#pragma once

#include <string>

#include "common/kernel_spec.h"
#include "mlx/dtype.h"

namespace mlx_cosine_decay::metal {

namespace mx = mlx::core;

/** csrc/metal/cosine_decay.metal with the core headers (core/kernel_params.h,
 * core/cosine_family_math.h, core/cosine_decay_math.h) inlined, generated at
 * build time by cmake/embed_kernel_source.cmake, and a hash of that text. */
const char* metal_source();
const char* metal_source_hash();

using common::KernelSpec;

/** e.g. cosine_decay_contiguous_int32_float32_u32. */
std::string kernel_name(const KernelSpec& spec);

/** The name the library is cached under: the source hash and kernel name. */
std::string library_name(const KernelSpec& spec);

/** metal_source() plus the [[host_name]] instantiation of the kernel. */
std::string library_source(const KernelSpec& spec);

} // namespace mlx_cosine_decay::metal
