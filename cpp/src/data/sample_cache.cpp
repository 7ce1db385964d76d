// Lock-free slots: put() publishes with compare-exchange from nullptr, so two workers decoding the
// same sample (two loaders over one dataset) keep exactly one copy.
#include "greymatter/data/sample_cache.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace greymatter::data {

SampleCache::SampleCache(int64_t num_samples, int64_t budget_bytes)
    : n_(num_samples),
      slots_(new std::atomic<const Image*>[size_t(num_samples)]),
      budget_(budget_bytes) {
  for (int64_t i = 0; i < n_; ++i) slots_[size_t(i)].store(nullptr, std::memory_order_relaxed);
}

SampleCache::~SampleCache() {
  for (int64_t i = 0; i < n_; ++i) delete slots_[size_t(i)].load();
}

const Image* SampleCache::put(int64_t i, const Image& im) {
  if (const Image* existing = get(i)) return existing;
  const int64_t size = footprint(im);
  if (bytes_.fetch_add(size) + size > budget_.load()) {
    bytes_.fetch_sub(size);
    return nullptr;
  }
  auto* copy = new Image(im);
  const Image* expected = nullptr;
  if (!slots_[size_t(i)].compare_exchange_strong(expected, copy, std::memory_order_acq_rel)) {
    delete copy;  // another thread stored it first
    bytes_.fetch_sub(size);
    return expected;
  }
  count_.fetch_add(1);
  return copy;
}

void SampleCache::raise_budget(int64_t budget_bytes) {
  int64_t current = budget_.load();
  while (budget_bytes > current && !budget_.compare_exchange_weak(current, budget_bytes)) {
  }
}

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      int64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
#ifdef _SC_AVPHYS_PAGES
  const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return int64_t(pages) * int64_t(page);
#endif
  return 0;
}

}  // namespace greymatter::data
