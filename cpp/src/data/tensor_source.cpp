#include "greymatter/data/tensor_source.h"

#include <string>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

std::vector<double> per_channel(const std::vector<double>& v, int64_t channels, double fill,
                                const char* name) {
  if (v.empty()) return std::vector<double>(static_cast<size_t>(channels), fill);
  if (v.size() == 1) return std::vector<double>(static_cast<size_t>(channels), v[0]);
  if (static_cast<int64_t>(v.size()) != channels)
    throw ConfigError(std::string("Normalize ") + name + " has " + std::to_string(v.size()) +
                      " values but the images have " + std::to_string(channels) + " channels");
  return v;
}

}  // namespace

TensorSource::TensorSource(torch::Tensor images, torch::Tensor labels, std::vector<double> mean,
                           std::vector<double> std) {
  if (images.scalar_type() != torch::kUInt8)
    throw ConfigError("images must be uint8, got " +
                      std::string(c10::toString(images.scalar_type())));
  if (images.dim() == 3) images = images.unsqueeze(1);  // (N, H, W) -> (N, 1, H, W)
  if (images.dim() != 4)
    throw ConfigError("images must be (N, C, H, W) or (N, H, W), got " +
                      std::to_string(images.dim()) + "D");
  if (labels.dim() != 1 || labels.size(0) != images.size(0))
    throw ConfigError("labels must be 1D with " + std::to_string(images.size(0)) +
                      " entries, got shape " + c10::str(labels.sizes()));
  images_ = images.contiguous();
  labels_ = labels.to(torch::kInt64).contiguous();

  const int64_t channels = images_.size(1);
  const auto m = per_channel(mean, channels, 0.0, "mean");
  const auto s = per_channel(std, channels, 1.0, "std");
  lut_.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    if (s[c] == 0.0)
      throw ConfigError("Normalize std must be non-zero (channel " + std::to_string(c) + ")");
    for (int v = 0; v < 256; ++v) lut_[c][v] = static_cast<float>((v / 255.0 - m[c]) / s[c]);
  }
}

std::vector<int64_t> TensorSource::sample_shape() const {
  return {images_.size(1), images_.size(2), images_.size(3)};
}

int64_t TensorSource::load(const SampleKey& key, float* out) const {
  if (key.index < 0 || key.index >= size())
    throw ConfigError("sample index " + std::to_string(key.index) + " out of range for " +
                      std::to_string(size()) + " samples");
  const int64_t channels = images_.size(1);
  const int64_t plane = images_.size(2) * images_.size(3);
  const uint8_t* src = images_.data_ptr<uint8_t>() + key.index * channels * plane;
  for (int64_t c = 0; c < channels; ++c) {
    const float* lut = lut_[c].data();
    for (int64_t p = 0; p < plane; ++p) out[c * plane + p] = lut[src[c * plane + p]];
  }
  return labels_.data_ptr<int64_t>()[key.index];
}

}  // namespace greymatter::data
