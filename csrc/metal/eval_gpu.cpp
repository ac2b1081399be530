// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_gpu. Only MLX builds with Metal (which define _METAL_)
// run it: elsewhere the op places the node on the CPU stream (see
// resolve_stream). The shader (csrc/metal/cosine_decay.metal) is embedded at
// build time; each kernel is instantiated and compiled on first use, then
// cached by MLX's Metal device under a name that includes the hash of the
// source.

#include "mlx_cosine_decay/cosine_decay.h"

#include <stdexcept>

#ifdef _METAL_

#include <algorithm>
#include <cstdint>
#include <limits>

#include "common/eval.h"
#include "core/kernel_params.h"
#include "metal/kernel_source.h"
#include "mlx/backend/metal/device.h"

namespace mlx_cosine_decay {

namespace {

namespace core = cosine_decay_core;
using core::Operand;

// A grid of `threads` threads: 1-d while it fits 32 bits, else 2-d with rows
// of 2^20 (the kernels skip the spare threads of the last row).
MTL::Size grid_for(uint64_t threads) {
  constexpr uint64_t row = uint64_t{1} << 20;
  if (threads <= std::numeric_limits<uint32_t>::max()) {
    return MTL::Size(threads, 1, 1);
  }
  return MTL::Size(row, (threads + row - 1) / row, 1);
}

const MTL::Buffer* buffer_of(const mx::array& a) {
  return static_cast<const MTL::Buffer*>(a.buffer().ptr());
}

} // namespace

void CosineDecay::eval_gpu(
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  if (out.dtype() == mx::float64) { // MLX rejects it when the node is made
    throw std::invalid_argument("float64 is not supported on the GPU");
  }
  auto& s = stream();
  auto in = input_index();
  bool generated = state_.steps == StepSource::Generated;
  auto* elementwise = common::elementwise_step(*this, inputs);
  metal::KernelSpec spec{
      /* contiguous */ elementwise != nullptr,
      generated,
      state_.params == ParamSource::Array,
      /* step */ generated ? mx::int64 : inputs[in[Operand::Step]].dtype(),
      out.dtype(),
      /* large */ false};
  uint64_t size = common::set_output_data(elementwise, out);
  // Index arithmetic must not wrap past the last thread's N elements.
  spec.large = size > std::numeric_limits<uint32_t>::max() -
          (spec.contiguous ? core::work_per_thread : 0);
  if (size == 0) {
    return;
  }

  auto& d = mx::metal::device(s.device);
  auto* lib = d.get_library(metal::library_name(spec), [&spec]() {
    return metal::library_source(spec);
  });
  auto* kernel = d.get_kernel(metal::kernel_name(spec), lib);

  auto scalars = common::kernel_scalars<float>(state_);

  auto& enc = mx::metal::get_command_encoder(s);
  enc.set_compute_pipeline_state(kernel);
  // Placeholder for buffers a variant does not read: Metal wants every
  // declared buffer bound.
  const MTL::Buffer* placeholder = buffer_of(out);
  if (generated) {
    enc.set_buffer(placeholder, 0);
  } else {
    enc.set_input_array(inputs[in[Operand::Step]], 0);
  }
  enc.set_output_array(out, 1);
  enc.set_bytes(scalars, 2);
  if (spec.large) {
    enc.set_bytes(static_cast<uint64_t>(size), 3);
  } else {
    enc.set_bytes(static_cast<uint32_t>(size), 3);
  }

  uint64_t threads = size;
  if (spec.contiguous) {
    threads = (size + core::work_per_thread - 1) / core::work_per_thread;
  } else {
    for (int k : {Operand::Init, Operand::End, Operand::DecaySteps}) {
      if (in.has(k)) {
        enc.set_input_array(inputs[in[k]], 3 + k);
      } else {
        enc.set_buffer(placeholder, 3 + k);
      }
    }
    // Not merged: the shader's shape is 32-bit, as MLX's.
    auto layout = common::operand_layout(*this, inputs, out, /* merge */ false);
    std::vector<int> shape(layout.shape.begin(), layout.shape.end());
    int ndim = static_cast<int>(shape.size());
    enc.set_vector_bytes(shape, 7);
    enc.set_vector_bytes(common::packed_strides(layout), 8);
    enc.set_bytes(ndim, 9);
  }
  uint64_t group =
      std::min<uint64_t>(threads, kernel->maxTotalThreadsPerThreadgroup());
  enc.dispatch_threads(grid_for(threads), MTL::Size(group, 1, 1));
}

} // namespace mlx_cosine_decay

#else // no Metal

#include "cuda/backend.h"

namespace mlx_cosine_decay {

void CosineDecay::eval_gpu(
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  if (auto eval = cuda::eval_gpu()) { // the CUDA plugin (csrc/cuda/)
    return eval(*this, inputs, out);
  }
  throw std::runtime_error(
      "[cosine_decay] This MLX build has no Metal GPU and the CUDA plugin is "
      "not loaded; use the CPU stream.");
}

} // namespace mlx_cosine_decay

#endif
