// Loader: batches of a Source in a seeded order, assembled by worker threads ahead of the
// consumer. A Loader is a reusable description; each epoch() starts an EpochIterator that owns
// the threads for one pass. Not here: what a sample is (Source) or how it is decoded.
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "greymatter/data/sampler.h"
#include "greymatter/data/source.h"

namespace greymatter::data {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t num_workers = 1;  // 0: batches are built in the consumer's thread
  int64_t prefetch = 2;     // ready batches kept ahead of the consumer, per worker
  bool pin_memory =
      false;  // page-locked batch buffers; only with a CUDA build of torch, else ignored
};

struct Batch {
  torch::Tensor images;  // float32 (B, C, H, W)
  torch::Tensor labels;  // int64 (B)
};

class EpochIterator;

class Loader {
 public:
  // indices: the dataset indices this loader visits (a subset or all of the source). sampler: when
  // given, each epoch visits the positions in `indices` that it draws (one weight per position)
  // instead of each position once; it excludes shuffle.
  Loader(std::shared_ptr<const Source> source, std::vector<int64_t> indices, LoaderOptions options,
         std::shared_ptr<const WeightedSampler> sampler = nullptr);

  // Samples per epoch: the sampler's draws, else every index once.
  int64_t num_samples() const;
  int64_t num_batches() const;
  const LoaderOptions& options() const { return options_; }
  const Source& source() const { return *source_; }
  const std::shared_ptr<const WeightedSampler>& sampler() const { return sampler_; }

  std::unique_ptr<EpochIterator> epoch(int64_t epoch) const;

 private:
  std::shared_ptr<const Source> source_;
  std::vector<int64_t> indices_;
  LoaderOptions options_;
  std::shared_ptr<const WeightedSampler> sampler_;
};

// One pass over the data. next() returns batches in order and rethrows a worker's exception;
// destroying the iterator mid-epoch stops and joins its threads. Samples a source skips (see
// Source::kSkipped) are left out, so such a batch is shorter, and a batch left empty is not
// returned.
class EpochIterator {
 public:
  // draws: for each entry of `order`, how many times its index came earlier in the epoch (a
  // sampler with replacement repeats indices, and each repeat gets its own augmentation); empty
  // when no index repeats.
  EpochIterator(std::shared_ptr<const Source> source, std::vector<int64_t> order,
                LoaderOptions options, int64_t epoch, std::vector<int64_t> draws = {});
  ~EpochIterator();
  EpochIterator(const EpochIterator&) = delete;
  EpochIterator& operator=(const EpochIterator&) = delete;

  std::optional<Batch> next();
  int64_t num_batches() const { return num_batches_; }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  void worker_loop();
  Slot build(int64_t batch_index);
  Batch take_buffer(int64_t batch_size);

  std::shared_ptr<const Source> source_;
  std::vector<int64_t> order_;  // dataset indices in visiting order
  std::vector<int64_t> draws_;  // see the constructor
  LoaderOptions options_;
  int64_t epoch_;
  int64_t num_batches_;
  std::vector<int64_t> sample_shape_;

  std::mutex mutex_;
  std::condition_variable ready_cv_;  // a batch became ready
  std::condition_variable space_cv_;  // the consumer advanced, or stop
  std::map<int64_t, Slot> ready_;
  std::vector<Batch> spare_;   // buffers handed out before; reused once nobody holds them
  std::optional<Batch> last_;  // the batch most recently returned by next()
  int64_t next_to_build_ = 0;
  int64_t consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace greymatter::data
