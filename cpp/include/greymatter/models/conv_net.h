// ConvNet: the plain CNN every tutorial model below MobileNetV2 is an instance of:
//   [conv{i} (-> bn{i}) -> ReLU -> MaxPool(2)] per entry of `channels`, flatten,
//   fc1 (-> ReLU -> dropout -> fc2) (-> sigmoid).
// Layers carry the tutorials' names (conv1.., bn1.., pool, fc1, dropout, fc2) so their state_dicts
// load unchanged. The named models (SimpleCNN, MNISTCNN, ExamModel, BrainTumorCNN) are in cnns.h.
// Not here: residual or depthwise blocks (mobilenet_v2.h).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "greymatter/models/model.h"

namespace greymatter::models {

struct ConvNetOptions {
  std::string name = "ConvNet";  // used in error messages
  int64_t in_channels = 1;
  int64_t image_size = 28;  // square inputs; fc1's width depends on it
  std::vector<int64_t> channels = {8};
  int64_t kernel_size = 3;
  int64_t padding = 1;  // 1 keeps the size through a 3x3 conv; 0 is Keras' "valid"
  bool batch_norm = false;
  int64_t hidden = 0;  // 0: fc1 maps the flattened features straight to the classes
  double dropout = 0.0;
  int64_t num_classes = 10;
  bool sigmoid = false;       // apply a sigmoid to the output (binary models trained with BCE)
  int64_t size_multiple = 1;  // image_size must be a multiple of this
};

class ConvNetImpl : public ModelImpl {
 public:
  explicit ConvNetImpl(ConvNetOptions options);
  torch::Tensor forward(torch::Tensor x) override;  // (B, C, S, S) -> (B, num_classes)
  int64_t macs_per_sample() const override { return macs_; }
  const ConvNetOptions& options() const { return options_; }

 private:
  ConvNetOptions options_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  torch::nn::MaxPool2d pool_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  std::vector<std::string> conv_names_, norm_names_;  // taps: "conv1", "bn1", ...
  int64_t macs_ = 0;
};

}  // namespace greymatter::models
