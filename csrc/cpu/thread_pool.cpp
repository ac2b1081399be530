// Copyright © 2026 mlx-cosine-decay authors.

#include "cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#endif

namespace mlx_cosine_decay::cpu {

namespace {

class ThreadPool {
 public:
  // Grows the pool towards n workers; returns how many there are.
  int reserve(int n) {
    std::lock_guard lock(mutex_);
#if defined(__unix__) || defined(__APPLE__)
    // Workers start with every signal blocked (a thread inherits its
    // creator's mask): a process-directed SIGINT or SIGTERM must reach the
    // main thread, where Python handles it, not wake nothing in a worker
    // while the main thread sleeps on.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
#endif
    while (static_cast<int>(workers_.size()) < n) {
      try {
        workers_.emplace_back([this] { work(); });
      } catch (const std::exception&) { // std::system_error, std::bad_alloc
        break;
      }
    }
#if defined(__unix__) || defined(__APPLE__)
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
#endif
    return static_cast<int>(workers_.size());
  }

  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
};

// Never destroyed: joining workers during static destruction can hang an
// exiting process; its workers wait on a condition variable until exit.
ThreadPool& pool() {
  static auto* p = new ThreadPool;
  return *p;
}

// One parallel_for: the indices not yet taken, and the helpers still out.
struct Batch {
  const std::function<void(int)>* f;
  int n;
  std::atomic<int> next{0};
  std::mutex mutex;
  std::condition_variable done;
  int helpers_out = 0;
  std::exception_ptr error;

  // Runs indices until none are left; safe from any thread.
  void drain() {
    for (int i; (i = next.fetch_add(1)) < n;) {
      try {
        (*f)(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) {
          error = std::current_exception();
        }
      }
    }
  }
};

} // namespace

void parallel_for(int n, const std::function<void(int)>& f) {
  if (n <= 1) {
    if (n == 1) {
      f(0);
    }
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->f = &f;
  batch->n = n;
  // Helpers that start late (the pool is busy with another batch) find no
  // index left and return at once: the caller runs whatever they do not.
  int helpers = std::min(n - 1, pool().reserve(n - 1));
  batch->helpers_out = helpers;
  auto helper_done = [](Batch& b) {
    std::lock_guard lock(b.mutex);
    if (--b.helpers_out == 0) {
      b.done.notify_all();
    }
  };
  for (int h = 0; h < helpers; ++h) {
    try {
      pool().submit([batch, helper_done] {
        batch->drain();
        helper_done(*batch);
      });
    } catch (const std::exception&) { // the caller does the work
      helper_done(*batch);
    }
  }
  batch->drain();
  std::unique_lock lock(batch->mutex);
  batch->done.wait(lock, [&] { return batch->helpers_out == 0; });
  if (batch->error) {
    std::rethrow_exception(batch->error);
  }
}

} // namespace mlx_cosine_decay::cpu
