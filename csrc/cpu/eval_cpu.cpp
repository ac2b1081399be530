// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_cpu: output allocation (donating the step buffer where
// possible), the job description for the kernels, and the threads.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "cpu/job.h"
#include "mlx/allocator.h"
#include "mlx/backend/common/utils.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace mlx_cosine_decay {

namespace {

std::atomic<int> requested_threads{0};

// Merges axes that every operand walks contiguously and drops axes of size 1,
// so a contiguous or broadcast operand costs one long row, not many short
// ones. The output is row-contiguous, so only the inputs constrain a merge.
void collapse(
    std::vector<int64_t>& shape,
    std::vector<std::vector<int64_t>*> strides) {
  std::vector<int64_t> new_shape;
  std::vector<std::vector<int64_t>> new_strides(strides.size());
  for (size_t ax = 0; ax < shape.size(); ++ax) {
    if (shape[ax] == 1) {
      continue;
    }
    bool merge = !new_shape.empty();
    for (size_t k = 0; merge && k < strides.size(); ++k) {
      merge = new_strides[k].back() == (*strides[k])[ax] * shape[ax];
    }
    if (merge) {
      new_shape.back() *= shape[ax];
      for (size_t k = 0; k < strides.size(); ++k) {
        new_strides[k].back() = (*strides[k])[ax];
      }
    } else {
      new_shape.push_back(shape[ax]);
      for (size_t k = 0; k < strides.size(); ++k) {
        new_strides[k].push_back((*strides[k])[ax]);
      }
    }
  }
  if (new_shape.empty()) { // 0-d or all ones
    new_shape.push_back(1);
    for (auto& st : new_strides) {
      st.push_back(0);
    }
  }
  shape = std::move(new_shape);
  for (size_t k = 0; k < strides.size(); ++k) {
    *strides[k] = std::move(new_strides[k]);
  }
}

// A fresh output buffer: MLX's CPU allocator is malloc, so a large buffer is
// new anonymous memory that faults in 4 KiB pages one by one on first touch
// (transparent huge pages are often in `madvise` mode). Asking for huge pages
// before the first touch saves most of that; the memory is ours and untouched.
mx::allocator::Data fresh_buffer(size_t nbytes) {
  auto data = mx::allocator::malloc(nbytes);
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

std::vector<int64_t> strides_of(const mx::array& a) {
  return {a.strides().begin(), a.strides().end()};
}

// Splits [0, size) over threads; each writes its own slice of the output
// (which also spreads the first touch of a fresh buffer). Chunks are cache
// line aligned. Every element is computed the same way whatever the split.
template <typename F>
void parallel_for(int64_t size, F f) {
  constexpr int64_t min_per_thread = 1 << 17;
  int64_t threads = std::clamp<int64_t>(size / min_per_thread, 1, num_threads());
  if (threads == 1) {
    f(0, size);
    return;
  }
  int64_t chunk = ((size + threads - 1) / threads + 63) / 64 * 64;
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) {
    int64_t begin = std::min(size, t * chunk);
    int64_t end = std::min(size, begin + chunk);
    pool.emplace_back(f, begin, end);
  }
  f(0, std::min(size, chunk));
  for (auto& th : pool) {
    th.join();
  }
}

} // namespace

void set_num_threads(int n) {
  requested_threads = std::max(0, n);
}

int num_threads() {
  if (int n = requested_threads.load()) {
    return n;
  }
  static const int default_threads = [] {
    if (const char* env = std::getenv("MLX_COSINE_DECAY_NUM_THREADS")) {
      if (int n = std::atoi(env); n > 0) {
        return n;
      }
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return default_threads;
}

const char* cpu_isa() {
  return cpu::isa_name();
}

void CosineDecay::eval_cpu(
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  cpu::Job job{};
  job.step_type = generated_ ? mx::int64 : inputs[0].dtype();
  job.out_type = out.dtype();
  job.init_value = init_;
  job.end_value = end_;
  job.decay_steps_value = decay_steps_;
  job.start = start_;

  if (!generated_ && !array_params_ && inputs[0].flags().contiguous) {
    // Elementwise over the step buffer: the output takes its layout, and its
    // memory when the step array is donated and the item sizes match.
    auto& step = inputs[0];
    if (mx::is_donatable(step, out)) {
      out.copy_shared_buffer(step);
    } else {
      out.set_data(
          fresh_buffer(step.data_size() * out.itemsize()),
          step.data_size(),
          step.strides(),
          step.flags());
    }
    job.shape = {static_cast<int64_t>(step.data_size())};
    job.step_strides = {1};
  } else {
    out.set_data(fresh_buffer(out.nbytes()));
    job.shape = {out.shape().begin(), out.shape().end()};
    std::vector<std::vector<int64_t>*> strides;
    if (generated_) { // the step is the position along the last axis
      job.step_strides.assign(out.ndim(), 0);
      job.step_strides.back() = 1;
    } else {
      job.step_strides = strides_of(inputs[0]);
    }
    strides.push_back(&job.step_strides);
    if (array_params_) {
      int first = generated_ ? 0 : 1;
      job.init_strides = strides_of(inputs[first]);
      job.end_strides = strides_of(inputs[first + 1]);
      job.decay_steps_strides = strides_of(inputs[first + 2]);
      strides.push_back(&job.init_strides);
      strides.push_back(&job.end_strides);
      strides.push_back(&job.decay_steps_strides);
    }
    collapse(job.shape, strides);
  }
  job.size = out.size() == 0 ? 0 : out.data_size();
  if (job.size == 0) {
    return;
  }

  job.step = generated_ ? nullptr : inputs[0].data<void>();
  if (array_params_) {
    int first = generated_ ? 0 : 1;
    job.init = inputs[first].data<void>();
    job.end = inputs[first + 1].data<void>();
    job.decay_steps = inputs[first + 2].data<int64_t>();
  }
  job.out = out.data<void>();

  auto& encoder = mx::cpu::get_command_encoder(stream());
  for (auto& in : inputs) {
    encoder.set_input_array(in);
  }
  encoder.set_output_array(out);
  // The task holds the inputs so their buffers outlive it.
  encoder.dispatch([job = std::move(job), inputs]() {
    auto kernel = cpu::range_kernel();
    parallel_for(job.size, [&](int64_t begin, int64_t end) {
      kernel(job, begin, end);
    });
  });
}

} // namespace mlx_cosine_decay
