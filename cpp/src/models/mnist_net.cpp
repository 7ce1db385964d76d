#include "greymatter/models/mnist_net.h"

#include <torch/nn/functional/activation.h>

#include "greymatter/errors.h"

namespace greymatter::models {

MNISTNetImpl::MNISTNetImpl(MNISTNetOptions options) : options_(std::move(options)) {
  if (options_.in_features < 1 || options_.num_classes < 1)
    throw ConfigError("MNISTNet needs in_features >= 1 and num_classes >= 1");
  if (options_.dropout < 0.0 || options_.dropout >= 1.0)
    throw ConfigError("MNISTNet dropout must be in [0, 1), got " +
                      std::to_string(options_.dropout));
  int64_t width = options_.in_features;
  auto sizes = options_.hidden;
  sizes.push_back(options_.num_classes);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 1)
      throw ConfigError("MNISTNet hidden sizes must be >= 1, got " + std::to_string(sizes[i]));
    layer_names_.push_back("fc" + std::to_string(i + 1));
    layers_.push_back(register_module(layer_names_.back(), torch::nn::Linear(width, sizes[i])));
    width = sizes[i];
  }
  if (options_.dropout > 0.0)
    dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
}

torch::Tensor MNISTNetImpl::forward(torch::Tensor x) {
  if (x.dim() < 2 || c10::multiply_integers(x.sizes().slice(1)) != options_.in_features)
    throw ConfigError("MNISTNet expects input of shape (B, " +
                      std::to_string(options_.in_features) + ") or (B, 1, 28, 28) with " +
                      std::to_string(options_.in_features) + " values per sample, got " +
                      c10::str(x.sizes()));
  if (!x.is_floating_point())
    throw ConfigError("MNISTNet expects a floating-point tensor (T.ToTensor() makes one), got " +
                      std::string(c10::toString(x.scalar_type())));
  x = x.flatten(1);  // (B, in_features)
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    x = torch::relu(tap(layer_names_[i], layers_[i]->forward(x)));
    if (dropout_) x = dropout_->forward(x);
  }
  return tap(layer_names_.back(), layers_.back()->forward(x));  // (B, num_classes) logits
}

int64_t MNISTNetImpl::macs_per_sample() const {
  int64_t macs = 0;
  for (const auto& layer : layers_) macs += layer->weight.numel();
  return macs;
}

}  // namespace greymatter::models
