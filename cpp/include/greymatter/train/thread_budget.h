// How many intra-op threads one pass of the Engine gets, decided when the pass starts and restored
// when it ends, for torch's pool and OpenBLAS's own. Two rules lower the setting (never raise it):
//  - a small model runs on one thread: below ~1e8 multiply-adds per batch (forward + backward) the
//    fork/join per op costs more than it saves;
//  - threads are capped to the cores other processes leave free: OpenMP threads that share a core
//    with a busy process wait for each other at every op (two threads on a 2-core machine with one
//    busy core ran ~10x slower than one thread).
// Not here: OpenMP's wait policy (libgomp reads OMP_WAIT_POLICY once, at start-up, so a library
// cannot change it for the process it is loaded into).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace greymatter::train {

// Cores this process may use (its CPU affinity) that no other process's runnable task occupies
// right now, at least 1. Read from /proc (runnable tasks system-wide minus this process's own);
// without /proc it returns the affinity count.
int free_cores();

class ThreadBudget {
 public:
  // macs_per_sample < 0: unknown cost (only the free-core cap applies).
  ThreadBudget(int64_t macs_per_sample, int64_t batch_size, torch::Device device);
  ~ThreadBudget();
  ThreadBudget(const ThreadBudget&) = delete;
  ThreadBudget& operator=(const ThreadBudget&) = delete;

  int threads() const { return threads_; }

 private:
  int saved_, threads_;
  int saved_blas_ = -1;  // OpenBLAS's thread count before, when this process uses OpenBLAS
};

}  // namespace greymatter::train
