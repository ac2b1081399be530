// A deliberate signed overflow, built with the sanitizer flags of run.sh:
// probe_ub.py calls it under pytest to prove that a report cannot pass
// unseen (pytest's fd capture once swallowed them and the suite passed).
#include <climits>

extern "C" int overflow(int x) {
  return x + INT_MAX; // undefined for x > 0
}
