// ConvNet (see conv_net.h): construction checks every option and names the model in its errors.
#include "greymatter/models/conv_net.h"

#include "greymatter/errors.h"
#include "greymatter/models/layers.h"

namespace greymatter::models {
namespace {

void check_options(const ConvNetOptions& o) {
  auto fail = [&](const std::string& what) { throw ConfigError(o.name + ": " + what); };
  if (o.in_channels < 1) fail("in_channels must be >= 1, got " + std::to_string(o.in_channels));
  if (o.num_classes < 1) fail("num_classes must be >= 1, got " + std::to_string(o.num_classes));
  if (o.channels.empty() || o.channels.size() > 16)
    fail("channels needs 1 to 16 entries, got " + std::to_string(o.channels.size()));
  for (auto c : o.channels)
    if (c < 1) fail("channels must all be >= 1, got " + std::to_string(c));
  if (o.hidden < 0) fail("hidden must be >= 0, got " + std::to_string(o.hidden));
  if (o.dropout < 0.0 || o.dropout >= 1.0)
    fail("dropout must be in [0, 1), got " + std::to_string(o.dropout));
  if (o.image_size < 1 || o.image_size % o.size_multiple != 0) {
    const int64_t m = o.size_multiple;
    fail("image_size must be a positive multiple of " + std::to_string(m) + " (" +
         std::to_string(o.channels.size()) + " blocks halve it), e.g. " + std::to_string(2 * m) +
         ", " + std::to_string(4 * m) + ", " + std::to_string(7 * m) + "; got " +
         std::to_string(o.image_size));
  }
}

}  // namespace

ConvNetImpl::ConvNetImpl(ConvNetOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check_options(o);
  MapSize size{o.image_size, o.image_size};
  int64_t in = o.in_channels;
  for (size_t i = 0; i < o.channels.size(); ++i) {
    const auto id = std::to_string(i + 1);
    auto conv = register_module(
        "conv" + id,
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(in, o.channels[i], o.kernel_size).padding(o.padding)));
    macs_ += conv_macs(*conv, size);
    size = pooled(size, 2, 2);
    if (size.h < 1 || size.w < 1)
      throw ConfigError(o.name + ": image_size " + std::to_string(o.image_size) +
                        " is too small for " + std::to_string(o.channels.size()) +
                        " conv + pool blocks");
    convs_.push_back(conv);
    conv_names_.push_back("conv" + id);
    if (o.batch_norm) {
      norms_.push_back(register_module("bn" + id, torch::nn::BatchNorm2d(o.channels[i])));
      norm_names_.push_back("bn" + id);
    }
    in = o.channels[i];
  }
  pool_ = register_module("pool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
  const int64_t flat = in * size.h * size.w;
  fc1_ = register_module("fc1", torch::nn::Linear(flat, o.hidden > 0 ? o.hidden : o.num_classes));
  macs_ += linear_macs(*fc1_);
  if (o.hidden > 0) {
    if (o.dropout > 0.0) dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
    fc2_ = register_module("fc2", torch::nn::Linear(o.hidden, o.num_classes));
    macs_ += linear_macs(*fc2_);
  }
}

torch::Tensor ConvNetImpl::forward(torch::Tensor x) {
  const auto& o = options_;
  const auto s = std::to_string(o.image_size);
  check_input(
      x, {-1, o.in_channels, o.image_size, o.image_size}, o.name,
      "(B, " + std::to_string(o.in_channels) + ", " + s + ", " + s + ") (image_size=" + s + ")");
  // On CPU, oneDNN's 3x3 convolutions (forward and backward) run ~20% faster on channels-last maps
  // than on NCHW ones, which they reorder on every call; BatchNorm and max-pool have channels-last
  // kernels too (bench/models.py). Only the layout changes: flatten below reads the logical (C, H,
  // W) order.
  if (x.is_cpu()) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = tap(conv_names_[i], convs_[i]->forward(x));
    if (o.batch_norm) x = tap(norm_names_[i], norms_[i]->forward(x));
    // ReLU after the pool: max and ReLU commute (both are monotone), so values and gradients are
    // those of conv -> ReLU -> pool, on a map 4x smaller.
    x = pool_->forward(x).relu_();
  }
  x = tap("fc1", fc1_->forward(x.flatten(1)));  // (B, C * H * W) -> (B, hidden or classes)
  if (fc2_) {
    x = x.relu_();
    if (dropout_) x = dropout_->forward(x);
    x = tap("fc2", fc2_->forward(x));
  }
  return o.sigmoid ? torch::sigmoid(x) : x;
}

}  // namespace greymatter::models
