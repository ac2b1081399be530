// Copyright © 2026 mlx-cosine-decay authors.
//
// CosineDecay::eval_gpu on MLX's CUDA backend: the plugin library
// libmlx_cosine_decay_cuda. The kernels (cosine_decay.cu, embedded at build
// time) are compiled with NVRTC at first use, one module per kernel, cached
// under the source hash, the kernel (variant, types, index width) and the
// device; they are launched through MLX's command encoder, as MLX's own
// mx.fast.cuda_kernel (mlx/backend/cuda/custom_kernel.cpp) does. MLX does not
// export its JIT module cache, so the compile and cache are ours.
//
// No CUDA library is linked: libmlx has already loaded the driver
// (libcuda.so.1) and NVRTC (libnvrtc.so.12 or .13, whichever MLX was built
// with); their functions are looked up at first use.

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/eval.h"
#include "core/kernel_params.h"
#include "cuda/backend.h"
#include "cuda/kernel_source.h"
#include "mlx/backend/cuda/device.h"
#include "mlx/backend/cuda/utils.h"

namespace mlx_cosine_decay::cuda {

namespace {

namespace core = cosine_decay_core;
using core::Operand;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("[cosine_decay] CUDA: " + what);
}

void* symbol(void* library, const char* library_name, const char* name) {
  void* f = dlsym(library, name);
  if (!f) {
    fail(std::string(name) + " not found in " + library_name);
  }
  return f;
}

// The first of `names` that is loaded already (by libmlx), else the first
// that loads.
void* open_library(
    std::initializer_list<const char*> names,
    const char** found) {
  for (int flags : {RTLD_NOW | RTLD_NOLOAD, RTLD_NOW}) {
    for (const char* name : names) {
      if (void* h = dlopen(name, flags)) {
        *found = name;
        return h;
      }
    }
  }
  fail(std::string("cannot load ") + *names.begin() + ": " + dlerror());
}

// NVRTC's C API, declared here: nvrtc.h is not in the build environment.
using nvrtcProgram = struct _nvrtcProgram*;
struct Nvrtc {
  const char* library;
  const char* (*error_string)(int);
  int (*num_supported_archs)(int*);
  int (*supported_archs)(int*);
  int (*create)(
      nvrtcProgram*,
      const char*,
      const char*,
      int,
      const char* const*,
      const char* const*);
  int (*destroy)(nvrtcProgram*);
  int (*add_name_expression)(nvrtcProgram, const char*);
  int (*compile)(nvrtcProgram, int, const char* const*);
  int (*log_size)(nvrtcProgram, size_t*);
  int (*log)(nvrtcProgram, char*);
  int (*lowered_name)(nvrtcProgram, const char*, const char**);
  int (*cubin_size)(nvrtcProgram, size_t*);
  int (*cubin)(nvrtcProgram, char*);
  int (*ptx_size)(nvrtcProgram, size_t*);
  int (*ptx)(nvrtcProgram, char*);

  void check(int result, const char* what) const {
    if (result != 0) {
      fail(std::string(what) + " failed: " + error_string(result));
    }
  }
};

const Nvrtc& nvrtc() {
  static const Nvrtc api = [] {
    Nvrtc n{};
    void* h = open_library({"libnvrtc.so.13", "libnvrtc.so.12"}, &n.library);
    auto get = [&](auto& f, const char* name) {
      f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(
          symbol(h, n.library, name));
    };
    get(n.error_string, "nvrtcGetErrorString");
    get(n.num_supported_archs, "nvrtcGetNumSupportedArchs");
    get(n.supported_archs, "nvrtcGetSupportedArchs");
    get(n.create, "nvrtcCreateProgram");
    get(n.destroy, "nvrtcDestroyProgram");
    get(n.add_name_expression, "nvrtcAddNameExpression");
    get(n.compile, "nvrtcCompileProgram");
    get(n.log_size, "nvrtcGetProgramLogSize");
    get(n.log, "nvrtcGetProgramLog");
    get(n.lowered_name, "nvrtcGetLoweredName");
    get(n.cubin_size, "nvrtcGetCUBINSize");
    get(n.cubin, "nvrtcGetCUBIN");
    get(n.ptx_size, "nvrtcGetPTXSize");
    get(n.ptx, "nvrtcGetPTX");
    return n;
  }();
  return api;
}

struct Driver {
  CUresult (*module_load_data)(CUmodule*, const void*);
  CUresult (*module_get_function)(CUfunction*, CUmodule, const char*);
  CUresult (*error_string)(CUresult, const char**);

  void check(CUresult result, const char* what) const {
    if (result != CUDA_SUCCESS) {
      const char* text = "unknown error";
      error_string(result, &text);
      fail(std::string(what) + " failed: " + text);
    }
  }
};

const Driver& driver() {
  static const Driver api = [] {
    Driver d{};
    const char* name;
    void* h = open_library({"libcuda.so.1"}, &name);
    d.module_load_data = reinterpret_cast<decltype(d.module_load_data)>(
        symbol(h, name, "cuModuleLoadData"));
    d.module_get_function = reinterpret_cast<decltype(d.module_get_function)>(
        symbol(h, name, "cuModuleGetFunction"));
    d.error_string = reinterpret_cast<decltype(d.error_string)>(
        symbol(h, name, "cuGetErrorString"));
    return d;
  }();
  return api;
}

// The target NVRTC compiles for: the device's own architecture as a cubin,
// or, for one this NVRTC does not know (a GPU newer than it), PTX for the
// newest architecture it knows, which the driver compiles on load.
struct Target {
  std::string option;
  bool ptx;
};

Target target_for(int arch) {
  const auto& nv = nvrtc();
  int n = 0;
  nv.check(nv.num_supported_archs(&n), "nvrtcGetNumSupportedArchs");
  std::vector<int> archs(n);
  nv.check(nv.supported_archs(archs.data()), "nvrtcGetSupportedArchs");
  if (std::find(archs.begin(), archs.end(), arch) != archs.end()) {
    return {"--gpu-architecture=sm_" + std::to_string(arch), false};
  }
  int best = 0;
  for (int a : archs) {
    if (a <= arch) {
      best = std::max(best, a);
    }
  }
  if (best == 0) {
    fail(
        "NVRTC (" + std::string(nv.library) + ") supports no architecture " +
        "at or below sm_" + std::to_string(arch));
  }
  return {"--gpu-architecture=compute_" + std::to_string(best), true};
}

// Compiles one kernel of the embedded source; returns the image to load and
// the kernel's lowered (mangled) name.
std::pair<std::string, std::string> compile(
    const std::string& expression,
    int arch) {
  const auto& nv = nvrtc();
  Target target = target_for(arch);
  nvrtcProgram program = nullptr;
  nv.check(
      nv.create(
          &program, cuda_source(), "cosine_decay.cu", 0, nullptr, nullptr),
      "nvrtcCreateProgram");
  struct Destroy {
    const Nvrtc& nv;
    nvrtcProgram& p;
    ~Destroy() {
      nv.destroy(&p);
    }
  } destroy{nv, program};
  nv.check(
      nv.add_name_expression(program, expression.c_str()),
      "nvrtcAddNameExpression");
  // --fmad=false: no multiply-add contraction the CPU does not do (the math
  // uses explicit fma where it wants one), so results equal the CPU's.
  const char* options[] = {target.option.c_str(), "--fmad=false", "-std=c++17"};
  int result = nv.compile(program, 3, options);
  if (result != 0) {
    size_t size = 0;
    nv.log_size(program, &size);
    std::string log(size, '\0');
    nv.log(program, log.data());
    fail(
        "NVRTC failed to compile " + expression + " (" + target.option +
        "):\n" + log);
  }
  const char* lowered = nullptr;
  nv.check(
      nv.lowered_name(program, expression.c_str(), &lowered),
      "nvrtcGetLoweredName");
  std::string name = lowered;
  size_t size = 0;
  std::string image;
  if (target.ptx) {
    nv.check(nv.ptx_size(program, &size), "nvrtcGetPTXSize");
    image.resize(size);
    nv.check(nv.ptx(program, image.data()), "nvrtcGetPTX");
  } else {
    nv.check(nv.cubin_size(program, &size), "nvrtcGetCUBINSize");
    image.resize(size);
    nv.check(nv.cubin(program, image.data()), "nvrtcGetCUBIN");
  }
  return {std::move(image), std::move(name)};
}

// The kernel for `spec` on `device`, compiled and loaded at first use. The
// modules stay loaded for the life of the process.
CUfunction get_kernel(mx::cu::Device& device, const KernelSpec& spec) {
  static std::mutex mutex;
  static std::unordered_map<std::string, CUfunction> kernels;
  int arch = device.compute_capability_major() * 10 +
      device.compute_capability_minor();
  std::string expression = kernel_expression(spec);
  std::string key = std::string(cuda_source_hash()) + " " + expression +
      " sm_" + std::to_string(arch) + " device " +
      std::to_string(device.cuda_device());
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = kernels.find(key); it != kernels.end()) {
    return it->second;
  }
  auto [image, name] = compile(expression, arch);
  device.make_current();
  const auto& cu = driver();
  CUmodule module = nullptr;
  cu.check(cu.module_load_data(&module, image.data()), "cuModuleLoadData");
  CUfunction kernel = nullptr;
  cu.check(
      cu.module_get_function(&kernel, module, name.c_str()),
      "cuModuleGetFunction");
  kernels.emplace(std::move(key), kernel);
  return kernel;
}

// The operands of a strided kernel, by value: axes merged where every
// operand allows (at most core::max_ndim remain).
core::StridedLayout strided_layout(const common::OperandLayout& operands) {
  int ndim = static_cast<int>(operands.shape.size());
  if (ndim > core::max_ndim) {
    throw std::invalid_argument(
        "[cosine_decay] On the CUDA GPU the operands may have at most " +
        std::to_string(core::max_ndim) +
        " axes that cannot be merged, but got " + std::to_string(ndim) +
        "; make them contiguous or use the CPU stream.");
  }
  core::StridedLayout layout{};
  layout.ndim = ndim;
  std::copy(operands.shape.begin(), operands.shape.end(), layout.shape);
  auto strides = common::packed_strides(operands);
  std::copy(strides.begin(), strides.end(), layout.strides);
  return layout;
}

void eval(
    CosineDecay& node,
    const std::vector<mx::array>& inputs,
    mx::array& out) {
  if (out.dtype() == mx::float64) {
    throw std::invalid_argument("float64 is not supported on the GPU");
  }
  const auto& state = node.state();
  if (!runs_on_cuda(state.family)) { // the op puts them on the CPU
    throw std::invalid_argument(
        "[cosine_decay] this member of the cosine family has no CUDA kernel; "
        "use the CPU stream.");
  }
  auto in = node.input_index();
  bool generated = state.steps == StepSource::Generated;
  bool array_params = state.params == ParamSource::Array;
  auto* elementwise = common::elementwise_step(node, inputs);
  // Generated steps of a 1-d output with scalar parameters run contiguous
  // too: the step is start + the element index.
  KernelSpec spec{
      /* contiguous */ elementwise ||
          (generated && !array_params && out.ndim() <= 1),
      generated,
      array_params,
      /* step */ generated ? mx::int64 : inputs[in[Operand::Step]].dtype(),
      out.dtype(),
      /* large */ false};
  uint64_t size = common::set_output_data(elementwise, out);
  if (size == 0) {
    return;
  }
  // Index arithmetic must not wrap past the last block's elements.
  uint64_t per_thread = spec.contiguous ? core::work_per_thread : 1;
  uint64_t per_block = threads_per_block * per_thread;
  spec.large = size > std::numeric_limits<uint32_t>::max() - per_block;
  uint64_t blocks = (size + per_block - 1) / per_block;
  if (blocks > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    fail("too many elements for one launch");
  }

  auto& encoder = mx::cu::get_command_encoder(node.stream());
  CUfunction kernel = get_kernel(encoder.device(), spec);

  const void* step_ptr =
      generated ? nullptr : mx::gpu_ptr<void>(inputs[in[Operand::Step]]);
  void* out_ptr = mx::gpu_ptr<void>(out);
  auto scalars = common::kernel_scalars<double>(state);
  uint32_t size32 = static_cast<uint32_t>(size);
  void* size_arg =
      spec.large ? static_cast<void*>(&size) : static_cast<void*>(&size32);
  const void* param_ptrs[3] = {nullptr, nullptr, nullptr};
  core::StridedLayout layout{};
  std::vector<void*> args = {&step_ptr, &out_ptr, &scalars, size_arg};
  if (!spec.contiguous) {
    for (int k : {Operand::Init, Operand::End, Operand::DecaySteps}) {
      if (in.has(k)) {
        param_ptrs[k - Operand::Init] = mx::gpu_ptr<void>(inputs[in[k]]);
      }
    }
    layout = strided_layout(
        common::operand_layout(node, inputs, out, /* merge */ true));
    for (auto& p : param_ptrs) {
      args.push_back(&p);
    }
    args.push_back(&layout);
  }

  for (auto& a : inputs) {
    encoder.set_input_array(a);
  }
  encoder.set_output_array(out);
  encoder.add_kernel_node_raw(
      kernel,
      dim3(static_cast<unsigned>(blocks)),
      dim3(threads_per_block),
      dim3(),
      0,
      args.data());
}

// Registers eval with the main library as this plugin is loaded.
[[maybe_unused]] const bool registered = (set_eval_gpu(&eval), true);

} // namespace

} // namespace mlx_cosine_decay::cuda
