// Helpers the model files share: multiply-add counts that follow a feature map's size through
// conv and pool layers, and torchvision's weight initialisation. Not layers themselves.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

namespace greymatter::models {

// A feature map's spatial size as it goes through the network.
struct MapSize {
  int64_t h = 0, w = 0;
};

// Multiply-adds of `conv` on a map of size `size` (per sample); updates `size` to the output's.
int64_t conv_macs(const torch::nn::Conv2dImpl& conv, MapSize& size);
// Multiply-adds of a Linear layer per sample.
int64_t linear_macs(const torch::nn::LinearImpl& linear);
// The output size of a max pool with this kernel and stride (no padding, floor), as MaxPool2d.
MapSize pooled(MapSize size, int64_t kernel, int64_t stride);

// torchvision's classification-model init: Conv2d kaiming_normal (fan_out) with zero bias,
// BatchNorm weight 1 and bias 0, Linear normal(0, 0.01) with zero bias. Applied to every
// sub-module of `module`.
void init_like_torchvision(torch::nn::Module& module);

}  // namespace greymatter::models
