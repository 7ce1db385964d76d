// MNISTNet: the tutorials' MLP, flatten -> Linear -> ReLU (-> Dropout) ... -> Linear.
// Layers are named fc1, fc2, ... so a state_dict saved from the tutorial's Python class
// (fc1 = Linear(784, 128), fc2 = Linear(128, 64), fc3 = Linear(64, 10)) loads unchanged.
#pragma once

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "greymatter/models/model.h"

namespace greymatter::models {

struct MNISTNetOptions {
  int64_t in_features = 784;
  std::vector<int64_t> hidden = {128, 64};
  int64_t num_classes = 10;
  double dropout = 0.0;
};

class MNISTNetImpl : public ModelImpl {
 public:
  explicit MNISTNetImpl(MNISTNetOptions options = {});
  torch::Tensor forward(
      torch::Tensor x) override;  // (B, ...) with 784 values per sample -> (B, classes)
  int64_t macs_per_sample() const override;

  const MNISTNetOptions& options() const { return options_; }

 private:
  MNISTNetOptions options_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<std::string> layer_names_;  // "fc1", "fc2", ...: also the taps
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(MNISTNet);

}  // namespace greymatter::models
