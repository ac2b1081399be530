// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_cpu: output allocation (donating the step buffer where
// possible), the job description for the kernels, and the threads.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "common/eval.h"
#include "cpu/eval_now.h"
#include "cpu/job.h"
#include "cpu/thread_pool.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace mlx_cosine_decay {

namespace {

using cosine_decay_core::Operand;

std::atomic<int> requested_threads{0};

// A fresh output buffer: MLX's CPU allocator is malloc, so a large buffer is
// new anonymous memory that faults in 4 KiB pages one by one on first touch
// (transparent huge pages are often in `madvise` mode). Asking for huge pages
// before the first touch saves most of that (a two-thread int32 -> float32
// cast into a fresh 40 MB buffer: 0.66 ns/element with the advice, 2.28
// without). The memory is ours and untouched. It is the allocation function
// handed to MLX's set_unary_output_data, which does the donation.
mx::allocator::Data fresh_buffer(size_t nbytes) {
  auto data = mx::allocator::malloc(nbytes);
  // MLX's CPU allocator returns null where malloc fails (the op rejects
  // results beyond MLX's memory limit; the limit may exceed what is free).
  if (data.buffer().ptr() == nullptr && nbytes > 0) {
    throw std::runtime_error(
        "[cosine_decay] cannot allocate " + std::to_string(nbytes) +
        " bytes for the result.");
  }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t huge = 2 << 20;
  if (nbytes >= 2 * huge) {
    auto ptr = reinterpret_cast<uintptr_t>(data.buffer().raw_ptr());
    auto begin = (ptr + huge - 1) & ~(huge - 1);
    auto end = (ptr + nbytes) & ~(huge - 1);
    if (end > begin) {
      madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    }
  }
#endif
  return data;
}

} // namespace

void set_num_threads(int n) {
  if (n < 0 || n > max_num_threads) {
    throw std::invalid_argument(
        "[cosine_decay] num_threads must be between 0 (the default) and " +
        std::to_string(max_num_threads) + ", but got " + std::to_string(n) +
        ".");
  }
  requested_threads = n;
}

int num_threads() {
  if (int n = requested_threads.load()) {
    return n;
  }
  static const int default_threads = [] {
    if (const char* env = std::getenv("MLX_COSINE_DECAY_NUM_THREADS")) {
      if (int n = std::atoi(env); n > 0) {
        return std::min(n, max_num_threads);
      }
    }
    int cores = static_cast<int>(std::thread::hardware_concurrency());
    return std::clamp(cores, 1, max_num_threads);
  }();
  return default_threads;
}

const char* cpu_isa() {
  return cpu::isa_name();
}

namespace {

// The job of a node on its inputs, with `out` allocated (donating the step
// buffer where MLX's rules allow).
cpu::Job describe(
    const CosineDecay& node,
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  auto in = node.input_index();
  const auto& state = node.state();
  bool generated = state.steps == StepSource::Generated;
  cpu::Job job{};
  job.step_type = generated ? mx::int64 : inputs[in[Operand::Step]].dtype();
  job.out_type = out.dtype();
  job.scalars = state.scalars;
  job.start = state.start;
  job.family = state.family;

  auto* elementwise = common::elementwise_step(node, inputs);
  job.size = common::set_output_data(elementwise, out, fresh_buffer);
  if (elementwise) { // one row over the step buffer
    job.shape = {static_cast<int64_t>(job.size)};
    job.strides[Operand::Step] = {1};
  } else {
    auto layout = common::operand_layout(node, inputs, out, /* merge */ true);
    job.shape = std::move(layout.shape);
    for (int k = 0; k < Operand::Count; ++k) {
      job.strides[k] = std::move(layout.strides[k]);
    }
  }
  for (int k = 0; k < Operand::Count; ++k) {
    job.data[k] = in.has(k) ? inputs[in[k]].data<void>() : nullptr;
  }
  job.out = out.data<void>();
  return job;
}

} // namespace

void CosineDecay::eval_cpu(
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  auto job = describe(*this, inputs, out);
  if (job.size == 0) {
    return;
  }
  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (auto& a : inputs) {
    encoder.set_input_array(a);
  }
  encoder.set_output_array(out);
  // The task holds the inputs so their buffers outlive it.
  encoder.dispatch([job = std::move(job), inputs]() {
    auto kernel = cpu::range_kernel();
    // Splits [0, size) over threads; each writes its own slice of the output
    // (which also spreads the first touch of a fresh buffer). Slices are
    // cache-line aligned; every element is computed the same way whatever
    // the split.
    constexpr int64_t min_per_thread = 1 << 17;
    int64_t threads =
        std::clamp<int64_t>(job.size / min_per_thread, 1, num_threads());
    int64_t chunk = ((job.size + threads - 1) / threads + 63) / 64 * 64;
    cpu::parallel_for(static_cast<int>(threads), [&](int t) {
      int64_t begin = std::min(job.size, t * chunk);
      kernel(job, begin, std::min(job.size, begin + chunk));
    });
  });
}

void cpu::evaluate_now(mx::array& node) {
  auto& primitive = static_cast<CosineDecay&>(node.primitive());
  auto job = describe(primitive, node.inputs(), node);
  if (job.size > 0) {
    cpu::range_kernel()(job, 0, job.size);
  }
  node.detach();
  node.set_status(mx::array::Status::available);
}

} // namespace mlx_cosine_decay
