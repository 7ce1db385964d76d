// Ordered prefetching: workers claim batch numbers in order, at most `prefetch * workers` ahead of
// the consumer, and park finished batches in `ready_` until the consumer asks for that number.
#include "greymatter/data/loader.h"

#include <ATen/Context.h>

#include "greymatter/data/random.h"
#include "greymatter/errors.h"

namespace greymatter::data {

Loader::Loader(std::shared_ptr<const Source> source, std::vector<int64_t> indices,
               LoaderOptions options, std::shared_ptr<const WeightedSampler> sampler)
    : source_(std::move(source)),
      indices_(std::move(indices)),
      options_(options),
      sampler_(std::move(sampler)) {
  if (!source_) throw ConfigError("Loader needs a dataset");
  if (options_.batch_size < 1)
    throw ConfigError("batch_size must be >= 1, got " + std::to_string(options_.batch_size));
  if (options_.num_workers < 0)
    throw ConfigError("num_workers must be >= 0, got " + std::to_string(options_.num_workers));
  if (options_.prefetch < 1)
    throw ConfigError("prefetch must be >= 1, got " + std::to_string(options_.prefetch));
  for (int64_t i : indices_)
    if (i < 0 || i >= source_->size())
      throw ConfigError("index " + std::to_string(i) + " out of range for a dataset of " +
                        std::to_string(source_->size()) + " samples");
  if (sampler_) {
    if (options_.shuffle)
      throw ConfigError("a sampler decides the order itself: it excludes shuffle=True");
    if (sampler_->size() != static_cast<int64_t>(indices_.size()))
      throw ConfigError("the sampler has " + std::to_string(sampler_->size()) +
                        " weights for a dataset of " + std::to_string(indices_.size()) +
                        " samples: give one weight per sample");
  }
}

int64_t Loader::num_samples() const {
  return sampler_ ? sampler_->num_samples() : static_cast<int64_t>(indices_.size());
}

int64_t Loader::num_batches() const {
  const int64_t n = num_samples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::unique_ptr<EpochIterator> Loader::epoch(int64_t epoch) const {
  // Drawn here, in the consumer's thread: the order never depends on the workers.
  const auto positions = sampler_
                             ? sampler_->draw(options_.seed, epoch)
                             : epoch_order(num_samples(), options_.shuffle, options_.seed, epoch);
  std::vector<int64_t> order(positions.size());
  for (size_t i = 0; i < positions.size(); ++i)
    order[i] = indices_[static_cast<size_t>(positions[i])];
  if (options_.drop_last) order.resize(static_cast<size_t>(num_batches() * options_.batch_size));
  std::vector<int64_t> draws;
  if (sampler_ && sampler_->replacement()) {
    std::vector<int64_t> seen(indices_.size(), 0);
    draws.resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) draws[i] = seen[size_t(positions[i])]++;
  }
  return std::make_unique<EpochIterator>(source_, std::move(order), options_, epoch,
                                         std::move(draws));
}

EpochIterator::EpochIterator(std::shared_ptr<const Source> source, std::vector<int64_t> order,
                             LoaderOptions options, int64_t epoch, std::vector<int64_t> draws)
    : source_(std::move(source)),
      order_(std::move(order)),
      draws_(std::move(draws)),
      options_(options),
      epoch_(epoch),
      num_batches_((static_cast<int64_t>(order_.size()) + options.batch_size - 1) /
                   options.batch_size),
      sample_shape_(source_->sample_shape()) {
  for (int64_t w = 0; w < options_.num_workers; ++w)
    workers_.emplace_back([this] { worker_loop(); });
}

EpochIterator::~EpochIterator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

Batch EpochIterator::take_buffer(int64_t batch_size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = spare_.begin(); it != spare_.end(); ++it) {
      // use_count() == 1: nobody outside the iterator still holds this batch, so it can be
      // overwritten.
      if (it->images.size(0) == batch_size && it->images.use_count() == 1 &&
          it->labels.use_count() == 1) {
        Batch b = std::move(*it);
        spare_.erase(it);
        return b;
      }
    }
  }
  std::vector<int64_t> shape{batch_size};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  const bool pin = options_.pin_memory && at::hasCUDA();
  return {
      torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin)),
      torch::empty({batch_size}, torch::TensorOptions().dtype(torch::kInt64).pinned_memory(pin))};
}

EpochIterator::Slot EpochIterator::build(int64_t batch_index) {
  Slot slot;
  try {
    const int64_t begin = batch_index * options_.batch_size;
    const int64_t end =
        std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order_.size()));
    slot.batch = take_buffer(end - begin);
    float* images = slot.batch.images.data_ptr<float>();
    int64_t* labels = slot.batch.labels.data_ptr<int64_t>();
    const int64_t stride = slot.batch.images[0].numel();
    int64_t filled = 0;
    for (int64_t i = begin; i < end; ++i) {
      const SampleKey key{options_.seed, epoch_, order_[static_cast<size_t>(i)],
                          draws_.empty() ? 0 : draws_[static_cast<size_t>(i)]};
      const int64_t label = source_->load(key, images + filled * stride);
      if (label == Source::kSkipped) continue;
      labels[filled++] = label;
    }
    if (filled < end - begin) {
      slot.batch.images = slot.batch.images.narrow(0, 0, filled);
      slot.batch.labels = slot.batch.labels.narrow(0, 0, filled);
    }
  } catch (...) {
    slot.error = std::current_exception();
  }
  return slot;
}

void EpochIterator::worker_loop() {
  const int64_t depth = options_.prefetch * std::max<int64_t>(options_.num_workers, 1);
  while (true) {
    int64_t k = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] {
        return stop_ || (next_to_build_ < num_batches_ && next_to_build_ < consumed_ + depth);
      });
      if (stop_) return;
      k = next_to_build_++;
    }
    Slot slot = build(k);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(k, std::move(slot));
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> EpochIterator::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (last_) {
    spare_.push_back(std::move(*last_));
    last_.reset();
    // Buffers a consumer keeps (a Python loop holding every batch) are not ours to reuse; forget
    // the oldest so their memory goes when the consumer drops them.
    const auto cap =
        static_cast<size_t>(options_.prefetch * std::max<int64_t>(options_.num_workers, 1) + 2);
    if (spare_.size() > cap) spare_.erase(spare_.begin());
  }
  while (consumed_ < num_batches_) {
    Slot slot;
    if (workers_.empty()) {
      const int64_t k = next_to_build_++;
      lock.unlock();
      slot = build(k);
      lock.lock();
    } else {
      ready_cv_.wait(lock, [&] { return ready_.count(consumed_) > 0; });
      auto it = ready_.find(consumed_);
      slot = std::move(it->second);
      ready_.erase(it);
    }
    ++consumed_;
    if (slot.error) {
      // The epoch cannot continue past a failed batch: stop the workers, then report.
      stop_ = true;
      consumed_ = num_batches_;
      lock.unlock();
      space_cv_.notify_all();
      std::rethrow_exception(slot.error);
    }
    if (slot.batch.labels.size(0) == 0) {  // every sample of this batch was skipped
      lock.unlock();
      space_cv_.notify_all();
      lock.lock();
      continue;
    }
    last_ = slot.batch;
    lock.unlock();
    space_cv_.notify_all();
    return slot.batch;
  }
  return std::nullopt;
}

}  // namespace greymatter::data
