#include "greymatter/train/thread_budget.h"

#include <ATen/Parallel.h>
#include <dirent.h>
#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

namespace greymatter::train {
namespace {

// Below this many multiply-adds per batch (forward + backward), splitting each op across threads
// costs more in synchronisation than it saves: MNISTNet at batch 64 (~21M) ran an epoch in 0.70 s
// on one thread and 1.65 s on two (docs/benchmarks.md).
constexpr double kMinMacsPerBatchForThreads = 1e8;

// OpenBLAS (Debian's torch does its matrix products there) keeps a thread pool of its own that
// at::set_num_threads does not reach, and it spins as badly under load: an MNISTNet epoch with one
// busy process took 7.0 s with its two threads and 0.4 s with one. Found through the functions
// OpenBLAS exports, in the libraries this process has loaded; with another BLAS (MKL follows
// at::set_num_threads) or none, only torch's threads are set.
struct BlasThreads {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
  BlasThreads() {
    get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (!get || !set) get = nullptr, set = nullptr;
  }
};

const BlasThreads& blas() {
  static const BlasThreads found;
  return found;
}

int affinity_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return int(std::thread::hardware_concurrency());
  return std::max(1, CPU_COUNT(&set));
}

struct SystemLoad {
  int64_t runnable = -1;  // procs_running: runnable tasks on all CPUs, this process's included
  int cpus = 0;           // cpuN lines: the CPUs those tasks run on
};

SystemLoad read_proc_stat() {
  SystemLoad load;
  std::ifstream f("/proc/stat");
  std::string key;
  while (f >> key) {
    if (key.rfind("cpu", 0) == 0 && key.size() > 3) ++load.cpus;
    if (key == "procs_running") f >> load.runnable;
    f.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return load;
}

// Threads of this process that are running or waiting for a core (state R).
int64_t own_runnable_threads() {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return 0;
  int64_t n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + entry->d_name + "/stat");
    std::string line;
    std::getline(f, line);
    const auto paren = line.rfind(')');  // the name in parentheses may itself hold spaces
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'R') ++n;
  }
  closedir(dir);
  return n;
}

// Other processes' runnable tasks, as seen by one read; -1 without /proc.
double others_runnable(int cores) {
  const auto load = read_proc_stat();
  if (load.runnable < 0) return -1;
  double others = double(std::max<int64_t>(0, load.runnable - own_runnable_threads()));
  // In a container on a larger machine /proc/stat counts the host's tasks: take our cores' share.
  if (load.cpus > cores) others *= double(cores) / double(load.cpus);
  return others;
}

}  // namespace

int free_cores() {
  const int cores = affinity_cores();
  // The median of three reads a millisecond apart: a busy process is runnable in all of them, a
  // task that wakes briefly (a browser tab, a Jupyter heartbeat) in one.
  double reads[3];
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    reads[i] = others_runnable(cores);
    if (reads[i] < 0) return cores;
  }
  std::sort(reads, reads + 3);
  const int busy = int(std::lround(reads[1]));
  return std::clamp(cores - busy, 1, cores);
}

ThreadBudget::ThreadBudget(int64_t macs_per_sample, int64_t batch_size, torch::Device device)
    : saved_(at::get_num_threads()), threads_(saved_) {
  if (!device.is_cpu()) return;
  if (macs_per_sample > 0 &&
      3.0 * double(macs_per_sample) * double(batch_size) < kMinMacsPerBatchForThreads)
    threads_ = 1;
  if (threads_ > 1) threads_ = std::min(threads_, free_cores());
  if (threads_ != saved_) at::set_num_threads(threads_);
  if (blas().get) {
    saved_blas_ = blas().get();
    if (saved_blas_ > threads_) blas().set(threads_);
  }
}

ThreadBudget::~ThreadBudget() {
  if (at::get_num_threads() != saved_) at::set_num_threads(saved_);
  if (saved_blas_ > 0 && blas().get() != saved_blas_) blas().set(saved_blas_);
}

}  // namespace greymatter::train
