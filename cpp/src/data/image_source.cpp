// ImageFileSource: per-sample decode + transform on the worker thread that asks for it. The only
// shared mutable state is the fill-once cache and the skipped-files list.
#include "greymatter/data/image_source.h"

#include <algorithm>
#include <thread>

#include "greymatter/data/decode.h"
#include "greymatter/data/image_header.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

// Each worker thread reuses one file buffer; a rare huge file does not pin its memory forever.
std::vector<uint8_t>& file_buffer() {
  thread_local std::vector<uint8_t> bytes;
  if (bytes.capacity() > (size_t(64) << 20)) std::vector<uint8_t>().swap(bytes);
  return bytes;
}

std::string naming(const std::string& message, const std::string& path) {
  return message.find(path) != std::string::npos ? message : "'" + path + "': " + message;
}

std::string shape_string(const std::vector<int64_t>& s) {
  return std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]);
}

}  // namespace

ImageFileSource::ImageFileSource(std::vector<std::string> paths, std::vector<int64_t> labels,
                                 const std::vector<TransformSpec>& transform, ImageSourceOptions options)
    : paths_(std::move(paths)), labels_(std::move(labels)), options_(options) {
  if (!have_image_decoder())
    throw ConfigError("this greymatter build has no image decoder (it was built with GREYMATTER_WITH_OPENCV=OFF); "
                      "rebuild with OpenCV installed to read image files");
  if (paths_.size() != labels_.size())
    throw ConfigError(std::to_string(paths_.size()) + " paths but " + std::to_string(labels_.size()) + " labels");
  if (paths_.empty()) throw DataError("no image files to load");
  pipeline_ = std::make_unique<Pipeline>(transform, 3);  // files are read as PIL's convert("RGB")
  skipped_index_.assign(paths_.size(), false);
  shape_ = infer_shape();
}

ImageFileSource::~ImageFileSource() = default;

std::vector<int64_t> ImageFileSource::infer_shape() const {
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
      auto& bytes = file_buffer();
      read_file(paths_[size_t(i)], bytes);
      const ImageHeader h = inspect_image(bytes.data(), bytes.size(), paths_[size_t(i)]);
      Size2 full{h.height, h.width};
      if (full.width <= 0 || full.height <= 0) {
        const Image im = decode_image(bytes.data(), bytes.size(), h, paths_[size_t(i)]);
        full = {im.height, im.width};
      }
      const Size2 s = pipeline_->output_size(full);
      return {c, s.height, s.width};
    } catch (const DataError& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  throw DataError("cannot tell the sample size: none of the first images can be read, e.g. " + first_error);
}

Image ImageFileSource::prefix_image(int64_t index) const {
  const std::string& path = paths_[size_t(index)];
  auto& bytes = file_buffer();
  read_file(path, bytes);
  const ImageHeader h = inspect_image(bytes.data(), bytes.size(), path);
  Size2 full{h.height, h.width};
  int reduction = 1;
  if (options_.reduced_decode && h.format == ImageFormat::kJpeg && full.height > 0 && full.width > 0) {
    const Size2 target = pipeline_->first_resize_target(full);
    if (target.height > 0)
      reduction = jpeg_reduction_for(full.height, full.width, target.height, target.width, options_.reduce_margin);
  }
  Image im = decode_image(bytes.data(), bytes.size(), h, path, reduction);
  if (reduction == 1 || full.height <= 0) full = {im.height, im.width};
  return pipeline_->run_prefix(std::move(im), full);
}

const Image& ImageFileSource::prefix_cached(int64_t index, Image& holder) const {
  SampleCache* cache = cache_.load(std::memory_order_acquire);
  if (cache != nullptr)
    if (const Image* hit = cache->get(index)) return *hit;
  holder = prefix_image(index);
  if (cache != nullptr)
    if (const Image* kept = cache->put(index, holder)) return *kept;
  return holder;
}

Image ImageFileSource::sample_image(const SampleKey& key, std::vector<StepTrace>* trace) const {
  Image holder;
  const Image& prefix = prefix_cached(key.index, holder);
  Image im;
  if (&prefix == &holder) im = std::move(holder);
  else im = prefix;  // a cached image stays in the cache
  if (!pipeline_->has_random_steps()) return im;
  return pipeline_->run_random(std::move(im), key.seed, key.epoch, key.index, trace);
}

void ImageFileSource::record_skip(int64_t index, const std::string& reason) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (skipped_index_[size_t(index)]) return;
  skipped_index_[size_t(index)] = true;
  skipped_.emplace_back(paths_[size_t(index)], reason);
}

int64_t ImageFileSource::load(const SampleKey& key, float* out) const {
  if (key.index < 0 || key.index >= size())
    throw ConfigError("sample index " + std::to_string(key.index) + " out of range for " + std::to_string(size()) +
                      " images");
  const std::string& path = paths_[size_t(key.index)];
  if (options_.on_error == OnError::kSkip) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (skipped_index_[size_t(key.index)]) return kSkipped;  // failed before: do not decode it again
  }
  try {
    Image holder;
    const Image* im = nullptr;
    Image randomized;
    if (!pipeline_->has_random_steps()) {
      im = &prefix_cached(key.index, holder);
    } else {
      randomized = sample_image(key, nullptr);
      im = &randomized;
    }
    if (im->height != shape_[1] || im->width != shape_[2])
      throw DataError("'" + path + "' gives a " + shape_string({shape_[0], im->height, im->width}) +
                      " sample but this dataset's samples are " + shape_string(shape_) +
                      " (the first image's size): add CenterCrop or Resize((h, w)) so every image ends the same size");
    pipeline_->write(*im, out);
    return labels_[size_t(key.index)];
  } catch (const DataError& e) {
    const std::string message = naming(e.what(), path);
    if (options_.on_error == OnError::kSkip) {
      record_skip(key.index, message);
      return kSkipped;
    }
    throw DataError(message);
  }
}

torch::Tensor ImageFileSource::load_tensor(const SampleKey& key, int64_t* label) const {
  if (key.index < 0 || key.index >= size())
    throw ConfigError("sample index " + std::to_string(key.index) + " out of range for " + std::to_string(size()) +
                      " images");
  const std::string& path = paths_[size_t(key.index)];
  try {
    const Image im = sample_image(key, nullptr);
    auto out = torch::empty({pipeline_->output_channels(), im.height, im.width}, torch::kFloat32);
    pipeline_->write(im, out.data_ptr<float>());
    *label = labels_[size_t(key.index)];
    return out;
  } catch (const DataError& e) {
    throw DataError(naming(e.what(), path));
  }
}

std::vector<StepTrace> ImageFileSource::trace(const SampleKey& key) const {
  std::vector<StepTrace> out;
  sample_image(key, &out);
  return out;
}

CacheEstimate ImageFileSource::estimate_cache(const std::vector<int64_t>& indices) const {
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
  // Sizes vary: average the headers of up to 32 files spread over the indices.
  const int64_t probes = std::min<int64_t>(n, 32);
  int64_t total = 0, seen = 0;
  for (int64_t k = 0; k < probes; ++k) {
    const int64_t i = indices[size_t(k * n / probes)];
    try {
      auto& bytes = file_buffer();
      read_file(paths_[size_t(i)], bytes);
      const ImageHeader h = inspect_image(bytes.data(), bytes.size(), paths_[size_t(i)]);
      Size2 full{h.height, h.width};
      if (full.height <= 0 || full.width <= 0) {
        const Image im = decode_image(bytes.data(), bytes.size(), h, paths_[size_t(i)]);
        full = {im.height, im.width};
      }
      const Size2 s = pipeline_->prefix_output_size(full);
      total += s.height * s.width * channels + int64_t(sizeof(Image));
      ++seen;
    } catch (const DataError&) {
      // unreadable files are not cached; they do not count
    }
  }
  e.bytes = seen > 0 ? total / seen * n : 0;
  return e;
}

void ImageFileSource::enable_cache(int64_t budget_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cache_owner_) {
    cache_owner_->raise_budget(budget_bytes);
    return;
  }
  cache_owner_ = std::make_unique<SampleCache>(size(), budget_bytes);
  cache_.store(cache_owner_.get(), std::memory_order_release);
}

int64_t ImageFileSource::cache_bytes() const {
  const SampleCache* c = cache_.load();
  return c ? c->bytes() : 0;
}

int64_t ImageFileSource::cached_samples() const {
  const SampleCache* c = cache_.load();
  return c ? c->count() : 0;
}

std::vector<std::pair<std::string, std::string>> ImageFileSource::skipped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

std::vector<std::pair<int64_t, std::string>> check_image_files(const std::vector<std::string>& paths, int threads) {
  std::vector<std::string> reasons(paths.size());
  auto work = [&](size_t first, size_t step) {
    std::vector<uint8_t> bytes;
    for (size_t i = first; i < paths.size(); i += step) {
      try {
        read_file(paths[i], bytes);
        inspect_image(bytes.data(), bytes.size(), paths[i]);
      } catch (const DataError& e) {
        reasons[i] = e.what();
      }
    }
  };
  const size_t n = size_t(std::max(1, threads));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work, t, n);
  work(0, n);
  for (auto& t : pool) t.join();
  std::vector<std::pair<int64_t, std::string>> bad;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!reasons[i].empty()) bad.emplace_back(int64_t(i), reasons[i]);
  return bad;
}

}  // namespace greymatter::data
