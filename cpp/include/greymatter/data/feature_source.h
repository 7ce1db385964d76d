// An in-memory Source of float feature vectors (N, D) and labels (N): the pooled outputs of a
// frozen backbone, computed once so head-only training (and every configuration of a sweep) skips
// the backbone. Position i holds the features of the i-th sample of the loader they were computed
// from, so a Loader over positions 0..N-1 with the same seed and options yields the same batches.
#pragma once

#include <torch/types.h>

#include <vector>

#include "greymatter/data/source.h"

namespace greymatter::data {

class FeatureSource : public Source {
 public:
  FeatureSource(torch::Tensor features,
                torch::Tensor labels);  // float (N, D) on the CPU, int64 (N)

  int64_t size() const override { return features_.size(0); }
  std::vector<int64_t> sample_shape() const override { return {features_.size(1)}; }
  int64_t load(const SampleKey& key, float* out) const override;

  const torch::Tensor& features() const { return features_; }
  const torch::Tensor& labels() const { return labels_; }

 private:
  torch::Tensor features_;
  torch::Tensor labels_;
};

}  // namespace greymatter::data
