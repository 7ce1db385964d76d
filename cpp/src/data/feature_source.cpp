#include "greymatter/data/feature_source.h"

#include <cstring>

#include "greymatter/errors.h"

namespace greymatter::data {

FeatureSource::FeatureSource(torch::Tensor features, torch::Tensor labels) {
  if (features.dim() != 2)
    throw ConfigError("features must be (N, D), got " + c10::str(features.sizes()));
  if (labels.dim() != 1 || labels.size(0) != features.size(0))
    throw ConfigError("labels must be (N) with N = " + std::to_string(features.size(0)) + ", got " +
                      c10::str(labels.sizes()));
  features_ = features.to(torch::kCPU, torch::kFloat32).contiguous();
  labels_ = labels.to(torch::kCPU, torch::kInt64).contiguous();
}

int64_t FeatureSource::load(const SampleKey& key, float* out) const {
  const int64_t d = features_.size(1);
  std::memcpy(out, features_.data_ptr<float>() + key.index * d, sizeof(float) * size_t(d));
  return labels_.data_ptr<int64_t>()[key.index];
}

}  // namespace greymatter::data
