// Copyright © 2026 mlx-cosine-decay authors.
//
// What the backends' eval_cpu / eval_gpu share (host code, as MLX's
// backend/common/): which node is elementwise over its steps, output
// allocation and donation, the operands' strides along the output, merged
// where every operand allows, and what a GPU kernel receives by value.
// Header only: the CUDA plugin uses it too.

#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/kernel_params.h"
#include "mlx/allocator.h"
#include "mlx/backend/common/unary.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace mlx_cosine_decay::common {

using cosine_decay_core::Operand;

/**
 * The step array when the node is elementwise over it (steps from a
 * contiguous array, scalar parameters): the output then takes the step
 * buffer's layout, and its memory when the step array is donated. Else null.
 */
inline const mx::array* elementwise_step(
    const CosineDecay& node,
    const std::vector<mx::array>& inputs) {
  const auto& state = node.state();
  if (state.steps != StepSource::Array || state.params != ParamSource::Scalar) {
    return nullptr;
  }
  const auto& step = inputs[node.input_index()[Operand::Step]];
  return step.flags().contiguous ? &step : nullptr;
}

/**
 * Allocates `out` as MLX's unary ops do (set_unary_output_data): over the
 * step buffer where the node is elementwise (see elementwise_step), else
 * fresh and row-contiguous. Returns the number of elements to compute.
 */
inline size_t set_output_data(
    const mx::array* elementwise,
    mx::array& out,
    std::function<mx::allocator::Data(size_t)> mallocfn =
        mx::allocator::malloc) {
  if (elementwise) {
    mx::set_unary_output_data(*elementwise, out, std::move(mallocfn));
    return out.size() == 0 ? 0 : elementwise->data_size();
  }
  out.set_data(mallocfn(out.nbytes()));
  return out.size();
}

/**
 * A row-contiguous output's shape and, by Operand, each operand's strides
 * along it in elements: 0 where broadcast, empty where the operand is not an
 * array, and 0, ..., 0, 1 for generated steps (the position along the last
 * axis).
 */
struct OperandLayout {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides[Operand::Count];
};

/**
 * Merges axes that every operand walks contiguously and drops axes of size 1,
 * so a contiguous or broadcast operand costs one long row, not many short
 * ones (at least one axis remains). The output is row-contiguous, so only the
 * operands constrain a merge. Not MLX's collapse_contiguous_dims: libmlx
 * 0.32.4 does not export it (`nm -D`), and its shapes are 32-bit.
 */
inline void collapse(OperandLayout& layout) {
  OperandLayout merged;
  for (size_t ax = 0; ax < layout.shape.size(); ++ax) {
    if (layout.shape[ax] == 1) {
      continue;
    }
    bool merge = !merged.shape.empty();
    for (int k = 0; merge && k < Operand::Count; ++k) {
      auto& st = layout.strides[k];
      merge =
          st.empty() || merged.strides[k].back() == st[ax] * layout.shape[ax];
    }
    if (merge) {
      merged.shape.back() *= layout.shape[ax];
    } else {
      merged.shape.push_back(layout.shape[ax]);
    }
    for (int k = 0; k < Operand::Count; ++k) {
      auto& st = layout.strides[k];
      if (st.empty()) {
        continue;
      } else if (merge) {
        merged.strides[k].back() = st[ax];
      } else {
        merged.strides[k].push_back(st[ax]);
      }
    }
  }
  if (merged.shape.empty()) { // 0-d or all ones
    merged.shape.push_back(1);
    for (int k = 0; k < Operand::Count; ++k) {
      if (!layout.strides[k].empty()) {
        merged.strides[k].push_back(0);
      }
    }
  }
  layout = std::move(merged);
}

/** The operands of `node` along `out` (row-contiguous), merged if `merge`. */
inline OperandLayout operand_layout(
    const CosineDecay& node,
    const std::vector<mx::array>& inputs,
    const mx::array& out,
    bool merge) {
  OperandLayout layout;
  layout.shape.assign(out.shape().begin(), out.shape().end());
  auto in = node.input_index();
  for (int k = 0; k < Operand::Count; ++k) {
    if (in.has(k)) {
      auto& st = inputs[in[k]].strides();
      layout.strides[k].assign(st.begin(), st.end());
    }
  }
  if (node.state().steps == StepSource::Generated) { // ndim >= 1
    auto& st = layout.strides[Operand::Step];
    st.assign(out.ndim(), 0);
    st.back() = 1;
  }
  if (out.ndim() == 0) { // as one axis of length 1
    layout.shape = {1};
    for (int k = 0; k < Operand::Count; ++k) {
      if (in.has(k)) {
        layout.strides[k] = {0};
      }
    }
  }
  if (merge) {
    collapse(layout);
  }
  return layout;
}

/**
 * The strides of all operands in one array, as the GPU kernels take them:
 * operand k along axis ax at cosine_decay_core::stride_index(k, ax, ndim),
 * 0 where the operand is not an array.
 */
inline std::vector<int64_t> packed_strides(const OperandLayout& layout) {
  int ndim = static_cast<int>(layout.shape.size());
  std::vector<int64_t> packed(Operand::Count * ndim, 0);
  for (int k = 0; k < Operand::Count; ++k) {
    for (int ax = 0; ax < ndim && !layout.strides[k].empty(); ++ax) {
      packed[cosine_decay_core::stride_index(k, ax, ndim)] =
          layout.strides[k][ax];
    }
  }
  return packed;
}

/**
 * What the GPU kernels receive by value: the parameters in T (float for Metal,
 * which has no double; double for CUDA, which computes as the CPU does), the
 * start, the family member.
 */
template <typename T>
cosine_decay_core::KernelScalars<T> kernel_scalars(
    const CosineDecay::State& state) {
  auto& f = state.family;
  return {
      {static_cast<T>(state.scalars.init),
       static_cast<T>(state.scalars.end),
       state.scalars.decay_steps},
      state.start,
      {f.kind,
       f.output,
       f.warmup_steps,
       static_cast<T>(f.warmup_init),
       static_cast<T>(f.exponent),
       static_cast<T>(f.t_mul),
       static_cast<T>(f.m_mul)}};
}

} // namespace mlx_cosine_decay::common
