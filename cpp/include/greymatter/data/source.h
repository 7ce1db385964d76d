// A Source is what a loader reads samples from: a fixed number of samples, each written as
// normalized float32 of one fixed shape, plus an integer label. Sources are immutable once built
// and are called from several worker threads at once.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace greymatter::data {

// Identifies one draw of one sample: random augmentations are a pure function of this key.
struct SampleKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t index = 0;  // dataset index (not the position in the epoch)
  int64_t draw = 0;   // how many times this index came earlier in the epoch (weighted sampling)
};

class Source {
 public:
  virtual ~Source() = default;
  virtual int64_t size() const = 0;
  // Shape of one sample as written by load(), e.g. {C, H, W}.
  virtual std::vector<int64_t> sample_shape() const = 0;
  // Writes sample key.index into `out` (product of sample_shape() floats) and returns its label, or
  // kSkipped when the sample is unusable and the source's policy is to skip such samples (the
  // loader then leaves it out of its batch). Throws DataError naming the file when the sample
  // cannot be read.
  virtual int64_t load(const SampleKey& key, float* out) const = 0;

  // One sample as its own tensor, for ds[i]. Sources whose samples may differ in size (an image
  // folder resized by the shorter side) override this; the default uses sample_shape() and load().
  virtual torch::Tensor load_tensor(const SampleKey& key, int64_t* label) const {
    auto out = torch::empty(sample_shape(), torch::kFloat32);
    *label = load(key, out.data_ptr<float>());
    return out;
  }

  static constexpr int64_t kSkipped = -1;
};

}  // namespace greymatter::data
