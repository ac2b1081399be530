// Copyright © 2026 mlx-cosine-decay authors.

#include "cuda/backend.h"

#include <atomic>
#include <mutex>

#ifdef __linux__
#include <dlfcn.h>

#include <string>

#include "mlx/backend/cuda/cuda.h"
#endif

namespace mlx_cosine_decay::cuda {

namespace {

std::atomic<EvalGpu> registered{nullptr};

// Where MLX's CUDA backend is present, loads the plugin installed beside
// this library (the wheel's and a CMake install's layout), which registers
// its eval_gpu as it loads. The Python package loads it at import; this
// serves C++ apps, at the first op that asks for the GPU. A plugin that is
// missing or does not load leaves the op on the CPU stream.
void load_plugin() {
#ifdef __linux__
  static std::once_flag once;
  std::call_once(once, [] {
    if (registered.load() || !mlx::core::cu::is_available()) {
      return;
    }
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&load_plugin), &self) == 0 ||
        self.dli_fname == nullptr) {
      return;
    }
    std::string path = self.dli_fname;
    path = path.substr(0, path.rfind('/') + 1) + "libmlx_cosine_decay_cuda.so";
    dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  });
#endif
}

} // namespace

void set_eval_gpu(EvalGpu eval) {
  registered.store(eval);
}

EvalGpu eval_gpu() {
  if (!registered.load()) {
    load_plugin();
  }
  return registered.load();
}

} // namespace mlx_cosine_decay::cuda
