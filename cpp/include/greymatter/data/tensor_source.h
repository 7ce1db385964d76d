// An in-memory Source over a uint8 image tensor (N, C, H, W) and int64 labels (N): the IDX
// datasets (MNIST, Fashion-MNIST) and any decoded-and-cached image set. Normalization is
// ToTensor + Normalize(mean, std) folded into one 256-entry lookup table per channel.
#pragma once

#include <torch/types.h>

#include <array>
#include <vector>

#include "greymatter/data/source.h"

namespace greymatter::data {

class TensorSource : public Source {
 public:
  // images: uint8 (N, C, H, W) or (N, H, W); labels: integer (N). mean/std: one value per channel,
  // or one value for all channels; empty means ToTensor alone (x / 255).
  TensorSource(torch::Tensor images, torch::Tensor labels, std::vector<double> mean = {},
               std::vector<double> std = {});

  int64_t size() const override { return images_.size(0); }
  std::vector<int64_t> sample_shape() const override;
  int64_t load(const SampleKey& key, float* out) const override;

  const torch::Tensor& images() const { return images_; }  // uint8 (N, C, H, W)
  const torch::Tensor& labels() const { return labels_; }  // int64 (N)

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
  std::vector<std::array<float, 256>> lut_;  // per channel: uint8 value -> normalized float
};

}  // namespace greymatter::data
