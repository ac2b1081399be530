// Evaluates a cosine-decay schedule over a step array and prints
// "lr <step> <value>" lines, then the error for decay_steps = 0.

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
  mx::eval(lr);
  for (int i = 0; i < steps.size(); ++i) {
    // 9 significant digits round-trip a float32 exactly.
    std::printf("lr %d %.9g\n", steps.data<int>()[i], lr.data<float>()[i]);
  }

  try {
    mlx_cosine_decay::cosine_decay(steps, 0.1, /* decay_steps = */ 0);
  } catch (const std::invalid_argument& e) {
    std::printf("error %s\n", e.what());
  }
  return 0;
}
