// Evaluates a cosine-decay schedule over a step array and prints
// "lr <step> <value>" lines, the same for a linear warmup then the decay
// ("warmup") and for warm restarts ("restarts"), then the error for
// decay_steps = 0.

#include <cstdio>
#include <stdexcept>

#include "mlx/mlx.h"
#include "mlx_cosine_decay/cosine_decay.h"

namespace mx = mlx::core;
using mlx_cosine_decay::Schedule;

int main() {
  Schedule schedule(
      /* init = */ 0.1, /* decay_steps = */ 1000, /* end = */ 1e-3);
  auto steps = mx::array({0, 1, 250, 500, 999, 1000, 5000});
  auto lr = schedule(steps);
  // The family: options after end (DecayOptions or RestartOptions).
  auto warmup = mlx_cosine_decay::cosine_decay(
      steps,
      0.1,
      1000,
      1e-3,
      mlx_cosine_decay::DecayOptions{.warmup_steps = 100});
  auto restarts = mlx_cosine_decay::cosine_decay_restarts(
      steps, 0.1, 1000, 1e-3, {.t_mul = 1.5, .m_mul = 0.5});
  mx::eval(lr, warmup, restarts);
  auto print = [&](const char* name, const mx::array& values) {
    for (int i = 0; i < steps.size(); ++i) {
      // 9 significant digits round-trip a float32 exactly.
      std::printf(
          "%s %d %.9g\n", name, steps.data<int>()[i], values.data<float>()[i]);
    }
  };
  print("lr", lr);
  print("warmup", warmup);
  print("restarts", restarts);

  try {
    mlx_cosine_decay::cosine_decay(steps, 0.1, /* decay_steps = */ 0);
  } catch (const std::invalid_argument& e) {
    std::printf("error %s\n", e.what());
  }
  return 0;
}
