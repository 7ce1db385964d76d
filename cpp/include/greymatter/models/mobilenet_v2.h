// MobileNetV2 as torchvision builds it (torchvision/models/mobilenetv2.py): the same blocks, the
// same parameter and buffer names (features.0.0.weight, features.1.conv.0.1.running_mean, ...,
// classifier.1.weight) and the same weight init, so a torchvision state_dict loads strictly and
// training from scratch starts from the same distribution. Not here: reading .pth files (Python
// does that) or other backbones.
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "greymatter/models/model.h"

namespace greymatter::models {

// torchvision.ops.Conv2dNormActivation with BatchNorm2d and ReLU6: children "0", "1", "2".
class Conv2dNormActivationImpl : public BlockImpl {
 public:
  Conv2dNormActivationImpl(int64_t in, int64_t out, int64_t kernel_size = 3, int64_t stride = 1,
                           int64_t groups = 1);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::ReLU6 act_{nullptr};
};
TORCH_MODULE(Conv2dNormActivation);

// [1x1 expand conv-bn-ReLU6] -> 3x3 depthwise conv-bn-ReLU6 -> 1x1 project conv -> bn, under
// "conv"; adds the input back when stride is 1 and the channel count is kept.
class InvertedResidualImpl : public BlockImpl {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential conv_{nullptr};
  bool use_res_connect_;
};
TORCH_MODULE(InvertedResidual);

struct MobileNetV2Options {
  int64_t num_classes = 1000;
  double width_mult = 1.0;
  double dropout = 0.2;
  // false: "classifier" is an Identity and forward returns the pooled features, as in the transfer
  // tutorial after `base_model.classifier = nn.Identity()`.
  bool classifier = true;
};

class MobileNetV2Impl : public ModelImpl {
 public:
  explicit MobileNetV2Impl(MobileNetV2Options options = {});
  torch::Tensor forward(torch::Tensor x) override;  // (B, 3, H, W) -> (B, num_classes), or features
  // features -> global average pool -> flatten: (B, 3, H, W) -> (B, last_channel).
  torch::Tensor forward_features(torch::Tensor x);
  // Estimated at 224x224, the size the ImageNet weights were trained at.
  int64_t macs_per_sample() const override { return macs_; }
  int64_t last_channel() const { return last_channel_; }
  const MobileNetV2Options& options() const { return options_; }

 private:
  MobileNetV2Options options_;
  torch::nn::Sequential features_{nullptr};
  // features_' blocks, run one by one so each output passes its tap ("features.0", ...).
  std::vector<std::shared_ptr<BlockImpl>> blocks_;
  std::vector<std::string> block_names_;
  torch::nn::Sequential classifier_{nullptr};
  int64_t last_channel_ = 0;
  int64_t macs_ = 0;
};
TORCH_MODULE(MobileNetV2);

}  // namespace greymatter::models
