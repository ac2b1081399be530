// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_gpu. Only MLX builds with Metal (which define _METAL_)
// run it: elsewhere the op places the node on the CPU stream (see
// resolve_stream). The shader (metal/cosine_decay.metal) is embedded at build
// time; each kernel is instantiated and compiled on first use, then cached by
// MLX's Metal device under a name that includes the hash of the source.

#include "mlx_cosine_decay/cosine_decay.h"

#include <stdexcept>

#ifdef _METAL_

#include <algorithm>
#include <cstdint>
#include <limits>

#include "metal/kernel_source.h"
#include "mlx/allocator.h"
#include "mlx/backend/common/utils.h"
#include "mlx/backend/metal/device.h"

namespace mlx_cosine_decay {

namespace {

// The layout of cosine_decay_metal::Scalars in the shader.
struct Scalars {
  float init;
  float end;
  int64_t decay_steps;
  int64_t start;
};
static_assert(sizeof(Scalars) == 24, "must match the shader's Scalars");

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
  metal::KernelSpec spec{
      /* contiguous */ !generated_ && !array_params_ &&
          inputs[0].flags().contiguous,
      generated_,
      array_params_,
      /* step */ generated_ ? mx::int64 : inputs[0].dtype(),
      out.dtype(),
      /* large */ false};

  uint64_t size;
  if (spec.contiguous) {
    // Elementwise over the step buffer, as the CPU path: the output takes its
    // layout, and its memory when the step array is donated.
    auto& step = inputs[0];
    if (mx::is_donatable(step, out)) {
      out.copy_shared_buffer(step);
    } else {
      out.set_data(
          mx::allocator::malloc(step.data_size() * out.itemsize()),
          step.data_size(),
          step.strides(),
          step.flags());
    }
    size = step.data_size();
    // Index arithmetic must not wrap past the last thread's N elements.
    spec.large = size > std::numeric_limits<uint32_t>::max() -
            metal::work_per_thread;
  } else {
    out.set_data(mx::allocator::malloc(out.nbytes()));
    size = out.size();
    spec.large = size > std::numeric_limits<uint32_t>::max();
  }
  if (size == 0) {
    return;
  }

  auto& d = mx::metal::device(s.device);
  auto* lib = d.get_library(metal::library_name(spec), [&spec]() {
    return metal::library_source(spec);
  });
  auto* kernel = d.get_kernel(metal::kernel_name(spec), lib);

  Scalars scalars{
      static_cast<float>(init_),
      static_cast<float>(end_),
      decay_steps_,
      start_};

  auto& enc = mx::metal::get_command_encoder(s);
  enc.set_compute_pipeline_state(kernel);
  // Placeholder for buffers a variant does not read: Metal wants every
  // declared buffer bound.
  const MTL::Buffer* placeholder = buffer_of(out);
  if (generated_) {
    enc.set_buffer(placeholder, 0);
  } else {
    enc.set_input_array(inputs[0], 0);
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
    threads = (size + metal::work_per_thread - 1) / metal::work_per_thread;
  } else {
    int first = generated_ ? 0 : 1;
    for (int k = 0; k < 3; ++k) {
      if (array_params_) {
        enc.set_input_array(inputs[first + k], 4 + k);
      } else {
        enc.set_buffer(placeholder, 4 + k);
      }
    }
    // Strides of step, init, end and decay_steps, ndim each (0: broadcast).
    int ndim = out.ndim();
    std::vector<int64_t> strides(4 * ndim, 0);
    for (int ax = 0; ax < ndim; ++ax) {
      if (generated_) {
        strides[ax] = ax == ndim - 1 ? 1 : 0;
      } else {
        strides[ax] = inputs[0].strides()[ax];
      }
      for (int k = 0; array_params_ && k < 3; ++k) {
        strides[(k + 1) * ndim + ax] = inputs[(generated_ ? 0 : 1) + k].strides()[ax];
      }
    }
    std::vector<int> shape(out.shape().begin(), out.shape().end());
    enc.set_vector_bytes(shape, 7);
    enc.set_vector_bytes(strides, 8);
    enc.set_bytes(ndim, 9);
  }
  uint64_t group = std::min<uint64_t>(
      threads, kernel->maxTotalThreadsPerThreadgroup());
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
