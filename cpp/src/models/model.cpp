// Shared model plumbing: the input check, the state in PyTorch's order, and a forward that works on
// any layer (Python calls sub-modules through it, since only whole models are bound with forward).
#include "greymatter/models/model.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "greymatter/errors.h"

namespace greymatter::models {

void check_input(const torch::Tensor& x, const std::vector<int64_t>& shape,
                 const std::string& model, const std::string& expected) {
  bool ok = x.dim() == static_cast<int64_t>(shape.size());
  for (size_t d = 0; ok && d < shape.size(); ++d)
    ok = shape[d] < 0 || x.size(static_cast<int64_t>(d)) == shape[d];
  if (!ok)
    throw ConfigError(model + " expects input of shape " + expected + ", got " +
                      c10::str(x.sizes()));
  if (!x.is_floating_point())
    throw ConfigError(model + " expects a floating-point tensor (T.ToTensor() makes one), got " +
                      std::string(c10::toString(x.scalar_type())));
}

namespace {

void collect_state(const torch::nn::Module& module, const std::string& prefix,
                   std::vector<std::pair<std::string, torch::Tensor>>& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    out.emplace_back(prefix + b.key(), b.value());
  for (const auto& child : module.named_children())
    collect_state(*child.value(), prefix + child.key() + ".", out);
}

// Tries each layer type in turn; returns an undefined tensor when `module` is none of them.
template <typename Layer, typename... Rest>
torch::Tensor try_forward(torch::nn::Module& module, const torch::Tensor& x) {
  if (auto* layer = dynamic_cast<Layer*>(&module)) return layer->forward(x);
  if constexpr (sizeof...(Rest) > 0) return try_forward<Rest...>(module, x);
  return {};
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> state_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  collect_state(module, "", out);
  return out;
}

torch::Tensor forward_module(torch::nn::Module& module, const torch::Tensor& x) {
  using namespace torch::nn;
  if (auto* seq = dynamic_cast<SequentialImpl*>(&module)) return seq->forward(x);
  auto y = try_forward<ModelImpl, BlockImpl, Conv2dImpl, BatchNorm2dImpl, LinearImpl, ReLUImpl,
                       ReLU6Impl, SigmoidImpl, DropoutImpl, MaxPool2dImpl, IdentityImpl,
                       FlattenImpl, AdaptiveAvgPool2dImpl>(module, x);
  if (!y.defined())
    throw ConfigError("cannot call " + module.name() + " on its own: it has no one-tensor forward");
  return y;
}

}  // namespace greymatter::models
