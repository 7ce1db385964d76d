// A fill-once, lock-free cache of per-sample uint8 images (the output of the deterministic part of
// a transform chain), shared by every worker thread and every loader over the same source. Each
// slot is written at most once; entries live until the cache is destroyed, so readers never see a
// freed image. A byte budget bounds it: once full, further samples are simply not kept.
// Not here: deciding whether to cache (the Python DataLoader) or what a sample is (image_source.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "greymatter/data/image.h"

namespace greymatter::data {

class SampleCache {
 public:
  SampleCache(int64_t num_samples, int64_t budget_bytes);
  ~SampleCache();
  SampleCache(const SampleCache&) = delete;
  SampleCache& operator=(const SampleCache&) = delete;

  // nullptr when sample i is not cached (yet).
  const Image* get(int64_t i) const { return slots_[size_t(i)].load(std::memory_order_acquire); }
  // Keeps a copy of `im` for sample i if the budget allows and no other thread stored it first.
  // Returns the cached image, or nullptr when it was not kept.
  const Image* put(int64_t i, const Image& im);

  void raise_budget(int64_t budget_bytes);
  int64_t bytes() const { return bytes_.load(); }
  int64_t budget() const { return budget_.load(); }
  int64_t count() const { return count_.load(); }
  int64_t num_samples() const { return n_; }

  static int64_t footprint(const Image& im) { return int64_t(im.pixels.size() + sizeof(Image)); }

 private:
  int64_t n_;
  std::unique_ptr<std::atomic<const Image*>[]> slots_;
  std::atomic<int64_t> bytes_{0}, budget_{0}, count_{0};
};

// MemAvailable from /proc/meminfo (Linux), or free physical pages elsewhere; 0 when unknown.
int64_t available_memory_bytes();

}  // namespace greymatter::data
