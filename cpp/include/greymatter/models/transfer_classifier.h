// TransferClassifier: the transfer-learning tutorials' model (ClothingClassifierMobileNet):
//   base_model (MobileNetV2, classifier = Identity) -> pooled features (B, 1280)
//     -> [inner Linear(1280, size_inner) -> relu] -> [dropout] -> output_layer
// with the tutorial's key names (base_model.features.*, inner, output_layer). While frozen, the
// backbone's parameters do not require grad, it stays in eval mode whatever train() says (its
// BatchNorm statistics stay those of the pretrained weights) and it runs without autograd.
// forward_features / forward_head split the two halves so features can be cached (sweeps).
// Not here: loading weight files (Python does that).
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "greymatter/models/mobilenet_v2.h"

namespace greymatter::models {

// The pretrained networks a TransferClassifier can stand on.
enum class Backbone { kMobileNetV2 };

struct TransferClassifierOptions {
  Backbone backbone = Backbone::kMobileNetV2;
  int64_t num_classes = 10;
  int64_t size_inner = 0;  // 0: no inner layer
  double dropout = 0.0;
  bool freeze = true;
};

class TransferClassifierImpl : public ModelImpl {
 public:
  explicit TransferClassifierImpl(TransferClassifierOptions options = {});
  torch::Tensor forward(torch::Tensor x) override;  // (B, 3, H, W) -> (B, num_classes) logits
  torch::Tensor forward_features(torch::Tensor x);  // (B, 3, H, W) -> (B, feature_dim)
  torch::Tensor forward_head(torch::Tensor f);      // (B, feature_dim) -> (B, num_classes)
  int64_t macs_per_sample() const override;

  void train(bool on = true) override;  // keeps a frozen backbone in eval mode
  void freeze();
  void unfreeze();
  bool frozen() const { return frozen_; }
  int64_t feature_dim() const { return base_model_->last_channel(); }
  const TransferClassifierOptions& options() const { return options_; }
  MobileNetV2Impl& base_model() { return *base_model_; }

 private:
  TransferClassifierOptions options_;
  MobileNetV2 base_model_{nullptr};
  torch::nn::Linear inner_{nullptr};
  torch::nn::ReLU relu_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear output_layer_{nullptr};
  bool frozen_ = false;
};
TORCH_MODULE(TransferClassifier);

}  // namespace greymatter::models
