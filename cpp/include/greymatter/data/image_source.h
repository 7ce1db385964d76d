// ImageFileSource: a Source over image files with labels (an ImageFolder scan, or any list), each
// sample read, decoded and run through a transform Pipeline on the calling worker thread:
//   read file -> check header/structure -> decode (reduced JPEG decode when the chain starts with a
//   big downscale) -> deterministic prefix [-> cache] -> random steps keyed by (seed, epoch, index)
//   -> ToTensor + Normalize written straight into the batch.
// Errors name the file. With OnError::kSkip a sample that fails is reported (skipped()) and left out
// of its batch instead. Not here: the folder scan (image_folder.h) or the batching (loader.h).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "greymatter/data/image.h"
#include "greymatter/data/sample_cache.h"
#include "greymatter/data/source.h"
#include "greymatter/data/transforms.h"

namespace greymatter::data {

enum class OnError { kRaise, kSkip };

struct ImageSourceOptions {
  OnError on_error = OnError::kRaise;
  // JPEG DCT-scaled decoding when the chain starts with a Resize to well below the file's size.
  bool reduced_decode = true;
  // The reduced decode stays at least this many times the Resize target on both sides.
  double reduce_margin = 3.0;
};

struct CacheEstimate {
  int64_t bytes = 0;
  bool exact = false;  // false: extrapolated from the headers of a sample of the files
};

class ImageFileSource : public Source {
 public:
  // Throws ConfigError when the build has no image decoder or the chain is invalid, and DataError
  // naming the file when no sample size can be determined (fixed-size chains need no file).
  ImageFileSource(std::vector<std::string> paths, std::vector<int64_t> labels,
                  const std::vector<TransformSpec>& transform, ImageSourceOptions options = {});
  ~ImageFileSource() override;

  int64_t size() const override { return int64_t(paths_.size()); }
  std::vector<int64_t> sample_shape() const override { return shape_; }
  int64_t load(const SampleKey& key, float* out) const override;
  torch::Tensor load_tensor(const SampleKey& key, int64_t* label) const override;

  const std::string& path(int64_t i) const { return paths_.at(size_t(i)); }
  int64_t label(int64_t i) const { return labels_.at(size_t(i)); }
  const Pipeline& pipeline() const { return *pipeline_; }

  // The random parameters the chain draws for this sample (decodes it to know its size).
  std::vector<StepTrace> trace(const SampleKey& key) const;

  // Memory the cached prefix images of `indices` would take.
  CacheEstimate estimate_cache(const std::vector<int64_t>& indices) const;
  // Starts (or enlarges) the cache of deterministic-prefix images, up to budget_bytes.
  void enable_cache(int64_t budget_bytes);
  int64_t cache_bytes() const;
  int64_t cached_samples() const;

  // (file, reason) for every sample skipped under OnError::kSkip so far, in the order they failed.
  std::vector<std::pair<std::string, std::string>> skipped() const;

 private:
  Image prefix_image(int64_t index) const;  // read, decode, run the prefix (no cache)
  // The prefix image, through the cache when enabled. `holder` keeps an uncached image alive.
  const Image& prefix_cached(int64_t index, Image& holder) const;
  Image sample_image(const SampleKey& key, std::vector<StepTrace>* trace) const;
  void record_skip(int64_t index, const std::string& reason) const;
  std::vector<int64_t> infer_shape() const;

  std::vector<std::string> paths_;
  std::vector<int64_t> labels_;
  std::unique_ptr<Pipeline> pipeline_;
  ImageSourceOptions options_;
  std::vector<int64_t> shape_;  // {C, H, W} every batched sample must have

  mutable std::mutex mutex_;  // guards cache_ creation and skipped_
  std::unique_ptr<SampleCache> cache_owner_;
  std::atomic<SampleCache*> cache_{nullptr};
  mutable std::vector<std::pair<std::string, std::string>> skipped_;
  mutable std::vector<bool> skipped_index_;
};

// Reads and checks (header and stream structure, no pixel decoding) each file, on `threads` threads.
// Returns (index, reason) for every file that would fail, in index order.
std::vector<std::pair<int64_t, std::string>> check_image_files(const std::vector<std::string>& paths, int threads);

}  // namespace greymatter::data
