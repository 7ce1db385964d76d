// ImageSource: a Source whose samples are uint8 images run through a transform Pipeline on the
// calling worker thread:
//   read(index) (decode a file, or slice a tensor) -> deterministic prefix [-> cache] -> random
//   steps keyed by (seed, epoch, index) -> ToTensor + Normalize written straight into the batch.
// Subclasses say where images come from (image_file_source.h, image_tensor_source.h). Errors name
// the sample (its file). With OnError::kSkip a sample that fails is reported (skipped()) and left
// out of its batch instead. Not here: folder scanning (image_folder.h) or batching (loader.h).
#pragma once

#include <atomic>
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

struct CacheEstimate {
  int64_t bytes = 0;
  bool exact = false;  // false: extrapolated from the sizes of a sample of the images
};

class ImageSource : public Source {
 public:
  ~ImageSource() override;

  int64_t size() const override { return int64_t(labels_.size()); }
  std::vector<int64_t> sample_shape() const override { return shape_; }
  int64_t load(const SampleKey& key, float* out) const override;
  torch::Tensor load_tensor(const SampleKey& key, int64_t* label) const override;

  int64_t label(int64_t i) const { return labels_.at(size_t(i)); }
  const Pipeline& pipeline() const { return *pipeline_; }

  // The random parameters the chain draws for this sample.
  std::vector<StepTrace> trace(const SampleKey& key) const;

  // Memory the cached prefix images of `indices` would take.
  CacheEstimate estimate_cache(const std::vector<int64_t>& indices) const;
  // Starts (or enlarges) the cache of deterministic-prefix images, up to budget_bytes.
  void enable_cache(int64_t budget_bytes);
  int64_t cache_bytes() const;
  int64_t cached_samples() const;

  // (sample name, reason) for every sample skipped under OnError::kSkip so far, in the order they
  // failed.
  std::vector<std::pair<std::string, std::string>> skipped() const;

 protected:
  // input_channels: 3 for image files (PIL's convert("RGB")), 1 for MNIST-style grey data (mode
  // "L").
  ImageSource(std::vector<int64_t> labels, const std::vector<TransformSpec>& transform,
              int64_t input_channels, OnError on_error);
  // Called at the end of a subclass constructor: works out the batch shape (may read an image).
  void finish_construction();

  // The image of sample i as it enters the chain; `full` receives the size the chain must assume
  // for it (a reduced JPEG decode is smaller than the file's full size). Throws DataError.
  virtual Image read(int64_t index, Size2* full) const = 0;
  // The size of sample i without reading its pixels when possible. Throws DataError.
  virtual Size2 peek_size(int64_t index) const = 0;
  // How errors and skip reports name sample i (its path).
  virtual std::string name(int64_t index) const = 0;

  std::unique_ptr<Pipeline> pipeline_;
  OnError on_error_;

 private:
  Image prefix_image(int64_t index) const;
  // The prefix image, through the cache when enabled. `holder` keeps an uncached image alive.
  const Image& prefix_cached(int64_t index, Image& holder) const;
  Image sample_image(const SampleKey& key, std::vector<StepTrace>* trace) const;
  void record_skip(int64_t index, const std::string& reason) const;
  std::vector<int64_t> infer_shape() const;

  std::vector<int64_t> labels_;
  std::vector<int64_t> shape_;  // {C, H, W} every batched sample must have

  mutable std::mutex mutex_;  // guards cache creation and the skip records
  std::unique_ptr<SampleCache> cache_owner_;
  std::atomic<SampleCache*> cache_{nullptr};
  mutable std::vector<std::pair<std::string, std::string>> skipped_;
  mutable std::vector<bool> skipped_index_;
};

}  // namespace greymatter::data
