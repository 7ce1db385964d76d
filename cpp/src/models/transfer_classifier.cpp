// TransferClassifier (see transfer_classifier.h).
#include "greymatter/models/transfer_classifier.h"

#include "greymatter/errors.h"
#include "greymatter/models/layers.h"

namespace greymatter::models {

TransferClassifierImpl::TransferClassifierImpl(TransferClassifierOptions options)
    : options_(std::move(options)) {
  const auto& o = options_;
  if (o.num_classes < 1)
    throw ConfigError("TransferClassifier: num_classes must be >= 1, got " +
                      std::to_string(o.num_classes));
  if (o.size_inner < 0)
    throw ConfigError(
        "TransferClassifier: size_inner must be >= 1 (or None for no inner layer), got " +
        std::to_string(o.size_inner));
  if (o.dropout < 0.0 || o.dropout >= 1.0)
    throw ConfigError("TransferClassifier: dropout must be in [0, 1), got " +
                      std::to_string(o.dropout));
  MobileNetV2Options backbone;
  backbone.classifier = false;
  base_model_ = register_module("base_model", MobileNetV2(backbone));
  int64_t width = base_model_->last_channel();
  if (o.size_inner > 0) {
    inner_ = register_module("inner", torch::nn::Linear(width, o.size_inner));
    relu_ = register_module("relu", torch::nn::ReLU());
    width = o.size_inner;
  }
  if (o.dropout > 0.0) dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  output_layer_ = register_module("output_layer", torch::nn::Linear(width, o.num_classes));
  if (o.freeze) freeze();
}

torch::Tensor TransferClassifierImpl::forward_features(torch::Tensor x) {
  // A capture needs the graph from its layers on, even through a frozen backbone.
  if (!frozen_ || capturing()) return base_model_->forward_features(x);
  torch::NoGradGuard no_grad;  // nothing below needs gradients: no graph, no saved activations
  return base_model_->forward_features(x);
}

torch::Tensor TransferClassifierImpl::forward_head(torch::Tensor f) {
  check_input(f, {-1, feature_dim()}, "TransferClassifier.forward_head",
              "(B, " + std::to_string(feature_dim()) + ") (pooled backbone features)");
  if (inner_) f = tap("relu", relu_->forward(tap("inner", inner_->forward(f))));
  if (dropout_) f = dropout_->forward(f);
  return tap("output_layer", output_layer_->forward(f));
}

torch::Tensor TransferClassifierImpl::forward(torch::Tensor x) {
  return forward_head(forward_features(x));
}

int64_t TransferClassifierImpl::macs_per_sample() const {
  int64_t macs = base_model_->macs_per_sample() + linear_macs(*output_layer_);
  if (inner_) macs += linear_macs(*inner_);
  return macs;
}

void TransferClassifierImpl::train(bool on) {
  ModelImpl::train(on);
  if (frozen_) base_model_->eval();
}

void TransferClassifierImpl::freeze() {
  frozen_ = true;
  for (auto& p : base_model_->parameters()) p.requires_grad_(false);
  base_model_->eval();
}

void TransferClassifierImpl::unfreeze() {
  frozen_ = false;
  for (auto& p : base_model_->parameters()) p.requires_grad_(true);
  base_model_->train(is_training());
}

}  // namespace greymatter::models
