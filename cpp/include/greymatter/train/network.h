// Network: what the Engine trains. A model with a one-tensor forward, a train/eval switch, its
// parameters (the optimizer's slots, in parameters() order), its cost per sample (for the thread
// budget) and, where it has one, a frozen backbone that can be split from its head (feature
// caching). greymatter's C++ models are Networks through model_network(); the bindings adapt a
// Python torch.nn.Module to the same interface, so both train in one loop.
// Not here: the loop itself (engine.h), or anything that knows Python.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "greymatter/models/model.h"

namespace greymatter::train {

// A model whose backbone can be run once and cached, its head trained on the cached features.
class FeatureSplit {
 public:
  virtual ~FeatureSplit() = default;
  virtual bool frozen() const = 0;
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;  // (B, ...) -> (B, D)
  virtual torch::Tensor forward_head(const torch::Tensor& f) = 0;      // (B, D) -> output
  virtual int64_t feature_dim() const = 0;
};

class Network {
 public:
  virtual ~Network() = default;
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual void train(bool on) = 0;
  virtual std::vector<torch::Tensor> parameters() = 0;
  // Multiply-adds of one sample's forward pass for samples of `sample_shape` (e.g. {1, 28, 28}),
  // or -1 when unknown.
  virtual int64_t macs_per_sample(const std::vector<int64_t>& sample_shape) = 0;
  // Whether forward() takes (B, C, H, W) batches in channels_last memory format, which the engine
  // gives it on CUDA with amp. A Python module that view()s a convolution's output does not.
  virtual bool takes_channels_last(const std::vector<int64_t>& sample_shape) { return true; }
  virtual void to(torch::Device device) = 0;
  virtual std::string name() const = 0;
  // The frozen-backbone split, or nullptr when the model has none.
  virtual FeatureSplit* feature_split() { return nullptr; }
};

// A greymatter C++ model as a Network (TransferClassifier also as a FeatureSplit).
std::shared_ptr<Network> model_network(std::shared_ptr<models::ModelImpl> model);

}  // namespace greymatter::train
