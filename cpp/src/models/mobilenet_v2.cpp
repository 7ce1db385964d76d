// MobileNetV2 (see mobilenet_v2.h). Block settings, channel rounding and init follow torchvision's
// mobilenetv2.py and ops/misc.py. Each BatchNorm -> ReLU6 pair runs as one autograd node
// (batch_norm_relu6.h).
#include "greymatter/models/mobilenet_v2.h"

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>

#include "greymatter/errors.h"
#include "greymatter/models/batch_norm_relu6.h"
#include "greymatter/models/layers.h"

namespace greymatter::models {
namespace {

// torchvision.models._utils._make_divisible: round to the nearest multiple of `divisor`, never
// more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t rounded =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

struct BlockSetting {
  int64_t expand, channels, repeats, stride;  // t, c, n, s in the paper
};
constexpr BlockSetting kSettings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                      {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

}  // namespace

Conv2dNormActivationImpl::Conv2dNormActivationImpl(int64_t in, int64_t out, int64_t kernel_size,
                                                   int64_t stride, int64_t groups) {
  conv_ = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel_size)
                                                     .stride(stride)
                                                     .padding((kernel_size - 1) / 2)
                                                     .groups(groups)
                                                     .bias(false)));
  bn_ = register_module("1", torch::nn::BatchNorm2d(out));
  act_ = register_module("2", torch::nn::ReLU6(torch::nn::ReLU6Options().inplace(true)));
}

torch::Tensor Conv2dNormActivationImpl::forward(torch::Tensor x) {
  return batch_norm_relu6(*bn_, conv_->forward(x));
}

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t stride,
                                           int64_t expand_ratio)
    : use_res_connect_(stride == 1 && in == out) {
  const auto hidden = static_cast<int64_t>(std::round(static_cast<double>(in * expand_ratio)));
  conv_ = torch::nn::Sequential();
  if (expand_ratio != 1) conv_->push_back(Conv2dNormActivation(in, hidden, 1));
  conv_->push_back(
      Conv2dNormActivation(hidden, hidden, 3, stride, /*groups=*/hidden));  // depthwise
  conv_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out, 1).bias(false)));
  conv_->push_back(torch::nn::BatchNorm2d(out));
  register_module("conv", conv_);
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor x) {
  // In place on the block's fresh output: its BatchNorm saved its input, not its output, for
  // backward.
  return use_res_connect_ ? conv_->forward(x).add_(x) : conv_->forward(x);
}

MobileNetV2Impl::MobileNetV2Impl(MobileNetV2Options options) : options_(options) {
  const auto& o = options_;
  if (o.num_classes < 1)
    throw ConfigError("MobileNetV2: num_classes must be >= 1, got " +
                      std::to_string(o.num_classes));
  if (!(o.width_mult > 0.0) || o.width_mult > 10.0)
    throw ConfigError("MobileNetV2: width_mult must be in (0, 10], got " +
                      std::to_string(o.width_mult));
  if (o.dropout < 0.0 || o.dropout >= 1.0)
    throw ConfigError("MobileNetV2: dropout must be in [0, 1), got " + std::to_string(o.dropout));
  int64_t in = make_divisible(32 * o.width_mult);
  last_channel_ = make_divisible(1280 * std::max(1.0, o.width_mult));
  features_ = torch::nn::Sequential();
  features_->push_back(Conv2dNormActivation(3, in, 3, 2));
  for (const auto& s : kSettings) {
    const int64_t out = make_divisible(static_cast<double>(s.channels) * o.width_mult);
    for (int64_t i = 0; i < s.repeats; ++i) {
      features_->push_back(InvertedResidual(in, out, i == 0 ? s.stride : 1, s.expand));
      in = out;
    }
  }
  features_->push_back(Conv2dNormActivation(in, last_channel_, 1));
  register_module("features", features_);
  for (size_t i = 0; i < features_->size(); ++i) {
    blocks_.push_back(std::dynamic_pointer_cast<BlockImpl>(features_->ptr(i)));
    block_names_.push_back("features." + std::to_string(i));
  }
  if (o.classifier) {
    classifier_ = torch::nn::Sequential(torch::nn::Dropout(o.dropout),
                                        torch::nn::Linear(last_channel_, o.num_classes));
    register_module("classifier", classifier_);
  } else {
    register_module("classifier", torch::nn::Identity());
  }
  init_like_torchvision(*this);

  // The network is a chain (residuals keep the size), so walking the convs in order tracks the map.
  MapSize size{224, 224};
  for (const auto& m : features_->modules(/*include_self=*/false))
    if (const auto* conv = m->as<torch::nn::Conv2d>()) macs_ += conv_macs(*conv, size);
  if (classifier_) macs_ += last_channel_ * o.num_classes;
}

torch::Tensor MobileNetV2Impl::forward_features(torch::Tensor x) {
  check_input(x, {-1, 3, -1, -1}, "MobileNetV2", "(B, 3, H, W)");
  for (size_t i = 0; i < blocks_.size(); ++i) x = tap(block_names_[i], blocks_[i]->forward(x));
  // (B, last_channel, H/32, W/32)
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);  // (B, last_channel)
}

torch::Tensor MobileNetV2Impl::forward(torch::Tensor x) {
  x = forward_features(x);
  return classifier_ ? tap("classifier", classifier_->forward(x)) : x;
}

}  // namespace greymatter::models
