// Multiply-add counting and torchvision's weight init (see layers.h).
#include "greymatter/models/layers.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>

namespace greymatter::models {

int64_t conv_macs(const torch::nn::Conv2dImpl& conv, MapSize& size) {
  const auto& o = conv.options;
  auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) -> int64_t {
    const int64_t span = in + 2 * p - d * (k - 1) - 1;  // negative: the kernel does not fit
    return span < 0 ? 0 : span / s + 1;
  };
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  const int64_t ph = pad ? (**pad)[0] : 0,
                pw = pad ? (**pad)[1] : 0;  // kSame/kValid are not used here
  size.h = out(size.h, (*o.kernel_size())[0], (*o.stride())[0], ph, (*o.dilation())[0]);
  size.w = out(size.w, (*o.kernel_size())[1], (*o.stride())[1], pw, (*o.dilation())[1]);
  // Each output value: in_channels / groups x kernel area multiply-adds.
  return size.h * size.w * conv.weight.numel();
}

int64_t linear_macs(const torch::nn::LinearImpl& linear) { return linear.weight.numel(); }

MapSize pooled(MapSize size, int64_t kernel, int64_t stride) {
  auto out = [&](int64_t in) -> int64_t { return in < kernel ? 0 : (in - kernel) / stride + 1; };
  return {out(size.h), out(size.w)};
}

void init_like_torchvision(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m :
       module.modules(/*include_self=*/false)) {  // true would need a shared_ptr to `module`
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    } else if (auto* linear = m->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, 0.01);
      linear->bias.zero_();
    }
  }
}

}  // namespace greymatter::models
