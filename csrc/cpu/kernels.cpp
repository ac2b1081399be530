// Copyright © 2026 mlx-cosine-decay authors.
//
// The CPU kernels. This file is compiled once per instruction set (CMake
// defines COSINE_DECAY_ISA and the target flags); isa.cpp picks one at run
// time. Three layers: `decay_row` is the kernel on raw pointers, `run_range`
// walks rows of an N-d job, `dispatch` switches on dtypes once per call.

#include <algorithm>
#include <type_traits>

#include "cosine_decay_math.h"
#include "cpu/job.h"
#include "mlx/types/bf16.h"
#include "mlx/types/fp16.h"

#ifndef COSINE_DECAY_ISA
#error "COSINE_DECAY_ISA must name the instruction set this file is built for"
#endif

namespace mlx_cosine_decay::cpu::COSINE_DECAY_ISA {

namespace math = cosine_decay_math;
using mlx::core::bfloat16_t;
using mlx::core::float16_t;

// Where a row's steps come from: memory (contiguous or strided) or the
// arithmetic sequence start, start + stride, ... (no step array at all).
template <typename In, bool Contiguous>
struct Loaded {
  const In* ptr;
  int64_t stride;
  In operator[](int64_t i) const {
    return ptr[Contiguous ? i : i * stride];
  }
};

// The step "type" of jobs whose steps are generated.
struct GeneratedSteps {};

template <typename I, bool Unit>
struct Generated {
  I start;
  I stride;
  I operator[](int64_t i) const {
    return start + static_cast<I>(i) * (Unit ? I{1} : stride);
  }
};

// Half-precision steps are widened to float before any arithmetic.
template <typename In>
inline auto widen(In x) {
  if constexpr (
      std::is_same_v<In, float16_t> || std::is_same_v<In, bfloat16_t>) {
    return static_cast<float>(x);
  } else {
    return x;
  }
}

// The kernel: n outputs from n steps with one set of parameters, in blocks.
// Each block is computed in one branch-free pass that the compiler vectorizes
// and that also finds the block's lowest step; steps below -D (rare: they
// need the period reduction) make the block be computed again, per step, from
// a copy of its steps: `out` may be the step buffer itself (donation), which
// is safe for the one pass since each element is read before it is written.
template <typename R, typename T, typename Out, typename Src>
void decay_row(Src src, Out* __restrict out, int64_t n, math::Params<R, T> p) {
  constexpr int64_t block = 1024;
  // The series length for T and the output's precision (see sin2_series).
  constexpr int terms = std::is_same_v<Out, double> ? 10
      : std::is_same_v<T, double>                   ? 7
                                                    : 6;
  R steps[block];
  for (int64_t i0 = 0; i0 < n; i0 += block) {
    int64_t m = std::min(block, n - i0);
    R lowest = p.d;
    for (int64_t i = 0; i < m; ++i) {
      R a = math::clamp_step<R>(widen(src[i0 + i]), p.d);
      steps[i] = a;
      lowest = std::min(lowest, a);
      R m_fast = math::magnitude(std::max(a, static_cast<R>(-p.d)));
      out[i0 + i] = static_cast<Out>(math::decay_at<terms>(m_fast, p));
    }
    if (!math::in_first_period(lowest, p)) {
      for (int64_t i = 0; i < m; ++i) {
        out[i0 + i] = static_cast<Out>(
            math::decay_at<terms>(math::reduce_period(steps[i], p), p));
      }
    }
  }
}

// Chooses the compute type T and the reduction type R (exact for 2D and
// every clamped step) for one row and runs the kernel. float32 and float64
// results are computed in double and rounded once (correctly rounded but for
// 1e-3 ulp); float16/bfloat16 results in float32, whose few-ulp error is far
// below a half-precision ulp, and rounded once.
template <typename In, typename Out, typename Src>
void row(Src src, Out* out, int64_t n, double init, double end, int64_t d) {
  using T = std::conditional_t<
      std::is_same_v<Out, float16_t> || std::is_same_v<Out, bfloat16_t>,
      float,
      double>;
  if (d < 1) { // only reachable through array-valued decay_steps
    std::fill_n(out, n, static_cast<Out>(NAN));
    return;
  }
  auto run = [&](auto r) {
    using R = decltype(r);
    auto p = math::make_params<R, T>(T(init), T(end), d);
    decay_row(src, out, n, p);
  };
  constexpr bool is_float = std::is_floating_point_v<In> ||
      std::is_same_v<In, float16_t> || std::is_same_v<In, bfloat16_t>;
  if constexpr (std::is_same_v<In, double>) {
    run(double{});
  } else if constexpr (is_float) {
    // float holds every clamped float step and 2D exactly while 2D <= 2^24.
    (2 * d <= (int64_t{1} << 24)) ? run(float{}) : run(double{});
  } else if constexpr (sizeof(In) == 8) {
    run(int64_t{});
  } else {
    (2 * d <= INT32_MAX) ? run(int32_t{}) : run(int64_t{});
  }
}

// Output elements [begin, end) of the job. Rows are walked with one counter
// per axis, so the strided path pays no division per element; the parameters
// are set up once per row, or per element where they vary along the row.
template <typename In, typename Out>
void run_range(const Job& job, int64_t begin, int64_t end) {
  int ndim = job.shape.size();
  int64_t row_len = job.shape.back();
  bool per_element = (job.init && job.init_strides.back() != 0) ||
      (job.end && job.end_strides.back() != 0) ||
      (job.decay_steps && job.decay_steps_strides.back() != 0);

  const std::vector<int64_t>* strides[4] = {
      &job.step_strides,
      &job.init_strides,
      &job.end_strides,
      &job.decay_steps_strides};
  int64_t offset[4] = {0, 0, 0, 0};
  std::vector<int64_t> pos(ndim, 0);
  int64_t row_index = begin / row_len;
  int64_t r = row_index;
  for (int ax = ndim - 2; ax >= 0; --ax) {
    pos[ax] = r % job.shape[ax];
    r /= job.shape[ax];
    for (int k = 0; k < 4; ++k) {
      if (!strides[k]->empty()) {
        offset[k] += pos[ax] * (*strides[k])[ax];
      }
    }
  }

  auto* out = static_cast<Out*>(job.out);
  auto step_stride = job.step_strides.back();
  auto* init = static_cast<const Out*>(job.init);
  auto* end_ = static_cast<const Out*>(job.end);
  auto run = [&](int64_t col, int64_t n, int64_t o) {
    auto col_off = [&](int k) {
      return offset[k] + col * (*strides[k]).back();
    };
    double i = init ? double(init[col_off(1)]) : job.init_value;
    double e = end_ ? double(end_[col_off(2)]) : job.end_value;
    int64_t d = job.decay_steps ? job.decay_steps[col_off(3)]
                                : job.decay_steps_value;
    if constexpr (std::is_same_v<In, GeneratedSteps>) {
      // int32 steps where they fit: AVX2 converts only those in SIMD.
      int64_t first = job.start + col_off(0);
      int64_t last = first + (n - 1) * step_stride;
      bool fits = std::min(first, last) >= INT32_MIN && std::max(first, last) <= INT32_MAX;
      if (fits && step_stride == 1) { // values(): the common case
        auto src = Generated<int32_t, true>{int32_t(first), 1};
        row<int32_t>(src, out + o, n, i, e, d);
      } else if (fits) {
        auto src = Generated<int32_t, false>{int32_t(first), int32_t(step_stride)};
        row<int32_t>(src, out + o, n, i, e, d);
      } else {
        auto src = Generated<int64_t, false>{first, step_stride};
        row<int64_t>(src, out + o, n, i, e, d);
      }
    } else if (step_stride == 1) {
      auto* s = static_cast<const In*>(job.step) + col_off(0);
      row<In>(Loaded<In, true>{s, 1}, out + o, n, i, e, d);
    } else {
      auto* s = static_cast<const In*>(job.step) + col_off(0);
      row<In>(Loaded<In, false>{s, step_stride}, out + o, n, i, e, d);
    }
  };

  int64_t col = begin - row_index * row_len;
  for (int64_t o = begin; o < end;) {
    int64_t n = std::min(row_len - col, end - o);
    if (per_element) {
      for (int64_t j = 0; j < n; ++j) {
        run(col + j, 1, o + j);
      }
    } else {
      run(col, n, o);
    }
    o += n;
    col = 0;
    // Next row: advance the counters of the leading axes.
    for (int ax = ndim - 2; ax >= 0; --ax) {
      for (int k = 0; k < 4; ++k) {
        if (!strides[k]->empty()) {
          offset[k] += (*strides[k])[ax];
        }
      }
      if (++pos[ax] < job.shape[ax]) {
        break;
      }
      for (int k = 0; k < 4; ++k) {
        if (!strides[k]->empty()) {
          offset[k] -= pos[ax] * (*strides[k])[ax];
        }
      }
      pos[ax] = 0;
    }
  }
}

template <typename In>
void dispatch_out(const Job& job, int64_t begin, int64_t end) {
  switch (job.out_type) {
    case mlx::core::float32:
      return run_range<In, float>(job, begin, end);
    case mlx::core::float16:
      return run_range<In, float16_t>(job, begin, end);
    case mlx::core::bfloat16:
      return run_range<In, bfloat16_t>(job, begin, end);
    case mlx::core::float64:
      return run_range<In, double>(job, begin, end);
    default:
      throw std::invalid_argument("[cosine_decay] Unsupported output type.");
  }
}

void dispatch(const Job& job, int64_t begin, int64_t end) {
  if (!job.step) {
    return dispatch_out<GeneratedSteps>(job, begin, end);
  }
  switch (job.step_type) {
    case mlx::core::bool_:
      return dispatch_out<bool>(job, begin, end);
    case mlx::core::uint8:
      return dispatch_out<uint8_t>(job, begin, end);
    case mlx::core::uint16:
      return dispatch_out<uint16_t>(job, begin, end);
    case mlx::core::uint32:
      return dispatch_out<uint32_t>(job, begin, end);
    case mlx::core::uint64:
      return dispatch_out<uint64_t>(job, begin, end);
    case mlx::core::int8:
      return dispatch_out<int8_t>(job, begin, end);
    case mlx::core::int16:
      return dispatch_out<int16_t>(job, begin, end);
    case mlx::core::int32:
      return dispatch_out<int32_t>(job, begin, end);
    case mlx::core::int64:
      return dispatch_out<int64_t>(job, begin, end);
    case mlx::core::float16:
      return dispatch_out<float16_t>(job, begin, end);
    case mlx::core::bfloat16:
      return dispatch_out<bfloat16_t>(job, begin, end);
    case mlx::core::float32:
      return dispatch_out<float>(job, begin, end);
    case mlx::core::float64:
      return dispatch_out<double>(job, begin, end);
    default:
      throw std::invalid_argument("[cosine_decay] Unsupported step type.");
  }
}

} // namespace mlx_cosine_decay::cpu::COSINE_DECAY_ISA
