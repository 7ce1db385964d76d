// ImageSource: the chain around read(); the only shared mutable state is the fill-once cache and
// the skipped-samples list.
#include "greymatter/data/image_source.h"

#include <algorithm>

#include "greymatter/data/random.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

std::string naming(const std::string& message, const std::string& name) {
  return message.find(name) != std::string::npos ? message : "'" + name + "': " + message;
}

std::string shape_string(const std::vector<int64_t>& s) {
  return std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]);
}

}  // namespace

ImageSource::ImageSource(std::vector<int64_t> labels, const std::vector<TransformSpec>& transform,
                         int64_t input_channels, OnError on_error)
    : pipeline_(std::make_unique<Pipeline>(transform, input_channels)),
      on_error_(on_error),
      labels_(std::move(labels)) {
  skipped_index_.assign(labels_.size(), false);
}

ImageSource::~ImageSource() = default;

void ImageSource::finish_construction() {
  if (labels_.empty()) throw DataError("no images to load");
  shape_ = infer_shape();
}

std::vector<int64_t> ImageSource::infer_shape() const {
  const int64_t c = pipeline_->output_channels();
  if (pipeline_->output_size_fixed()) {
    const Size2 s = pipeline_->output_size({1, 1});
    return {c, s.height, s.width};
  }
  // The size depends on the images (Resize by the shorter side): take the first readable one's. A
  // bad file among the first is reported when it is loaded, like any other.
  std::string first_error;
  for (int64_t i = 0; i < std::min<int64_t>(size(), 16); ++i) {
    try {
      const Size2 s = pipeline_->output_size(peek_size(i));
      return {c, s.height, s.width};
    } catch (const DataError& e) {
      if (first_error.empty()) first_error = naming(e.what(), name(i));
    }
  }
  throw DataError("cannot tell the sample size: none of the first images can be read, e.g. " +
                  first_error);
}

Image ImageSource::prefix_image(int64_t index) const {
  Size2 full;
  Image im = read(index, &full);
  return pipeline_->run_prefix(std::move(im), full);
}

const Image& ImageSource::prefix_cached(int64_t index, Image& holder) const {
  SampleCache* cache = cache_.load(std::memory_order_acquire);
  if (cache != nullptr)
    if (const Image* hit = cache->get(index)) return *hit;
  holder = prefix_image(index);
  if (cache != nullptr)
    if (const Image* kept = cache->put(index, holder)) return *kept;
  return holder;
}

Image ImageSource::sample_image(const SampleKey& key, std::vector<StepTrace>* trace) const {
  Image holder;
  const Image& prefix = prefix_cached(key.index, holder);
  Image im;
  if (&prefix == &holder)
    im = std::move(holder);
  else
    im = prefix;  // a cached image stays in the cache
  if (!pipeline_->has_random_steps()) return im;
  // A sample drawn again in the same epoch gets fresh augmentation draws; the first draw keeps the
  // key's own seed, so loaders without a sampler are unchanged.
  const uint64_t seed = key.draw == 0 ? key.seed : mix64(key.seed ^ mix64(uint64_t(key.draw)));
  return pipeline_->run_random(std::move(im), seed, key.epoch, key.index, trace);
}

void ImageSource::record_skip(int64_t index, const std::string& reason) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (skipped_index_[size_t(index)]) return;
  skipped_index_[size_t(index)] = true;
  skipped_.emplace_back(name(index), reason);
}

int64_t ImageSource::load(const SampleKey& key, float* out) const {
  if (key.index < 0 || key.index >= size())
    throw ConfigError("sample index " + std::to_string(key.index) + " out of range for " +
                      std::to_string(size()) + " images");
  if (on_error_ == OnError::kSkip) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (skipped_index_[size_t(key.index)]) return kSkipped;  // failed before: do not read it again
  }
  try {
    Image holder, randomized;
    const Image* im = nullptr;
    if (!pipeline_->has_random_steps()) {
      im = &prefix_cached(key.index, holder);  // straight from the cache, no copy
    } else {
      randomized = sample_image(key, nullptr);
      im = &randomized;
    }
    if (im->height != shape_[1] || im->width != shape_[2])
      throw DataError("'" + name(key.index) + "' gives a " +
                      shape_string({shape_[0], im->height, im->width}) +
                      " sample but this dataset's samples are " + shape_string(shape_) +
                      " (the first image's size): add CenterCrop or Resize((h, w)) so every image "
                      "ends the same size");
    pipeline_->write(*im, out);
    return labels_[size_t(key.index)];
  } catch (const DataError& e) {
    const std::string message = naming(e.what(), name(key.index));
    if (on_error_ == OnError::kSkip) {
      record_skip(key.index, message);
      return kSkipped;
    }
    throw DataError(message);
  }
}

torch::Tensor ImageSource::load_tensor(const SampleKey& key, int64_t* label) const {
  if (key.index < 0 || key.index >= size())
    throw ConfigError("sample index " + std::to_string(key.index) + " out of range for " +
                      std::to_string(size()) + " images");
  try {
    const Image im = sample_image(key, nullptr);
    auto out = torch::empty({pipeline_->output_channels(), im.height, im.width}, torch::kFloat32);
    pipeline_->write(im, out.data_ptr<float>());
    *label = labels_[size_t(key.index)];
    return out;
  } catch (const DataError& e) {
    throw DataError(naming(e.what(), name(key.index)));
  }
}

std::vector<StepTrace> ImageSource::trace(const SampleKey& key) const {
  std::vector<StepTrace> out;
  sample_image(key, &out);
  return out;
}

CacheEstimate ImageSource::estimate_cache(const std::vector<int64_t>& indices) const {
  CacheEstimate e;
  if (indices.empty()) return e;
  const int64_t channels = pipeline_->prefix_output_channels();
  const auto n = int64_t(indices.size());
  if (pipeline_->prefix_size_fixed()) {
    const Size2 s = pipeline_->prefix_output_size({1, 1});
    e.bytes = n * (s.height * s.width * channels + int64_t(sizeof(Image)));
    e.exact = true;
    return e;
  }
  // Sizes vary: average the sizes of up to 32 images spread over the indices.
  const int64_t probes = std::min<int64_t>(n, 32);
  int64_t total = 0, seen = 0;
  for (int64_t k = 0; k < probes; ++k) {
    try {
      const Size2 s = pipeline_->prefix_output_size(peek_size(indices[size_t(k * n / probes)]));
      total += s.height * s.width * channels + int64_t(sizeof(Image));
      ++seen;
    } catch (const DataError&) {
      // unreadable images are not cached; they do not count
    }
  }
  e.bytes = seen > 0 ? total / seen * n : 0;
  return e;
}

void ImageSource::enable_cache(int64_t budget_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cache_owner_) {
    cache_owner_->raise_budget(budget_bytes);
    return;
  }
  cache_owner_ = std::make_unique<SampleCache>(size(), budget_bytes);
  cache_.store(cache_owner_.get(), std::memory_order_release);
}

int64_t ImageSource::cache_bytes() const {
  const SampleCache* c = cache_.load();
  return c ? c->bytes() : 0;
}

int64_t ImageSource::cached_samples() const {
  const SampleCache* c = cache_.load();
  return c ? c->count() : 0;
}

std::vector<std::pair<std::string, std::string>> ImageSource::skipped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

}  // namespace greymatter::data
