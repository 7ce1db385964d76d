// The base of every greymatter model: a torch::nn::Module with a one-tensor forward, so the
// engine can train any of them. Subclasses register their layers under PyTorch's key names.
// Also here: the input check every model runs first, the state in PyTorch's order, and the named
// taps through which a forward pass shows its intermediate outputs to a capture (capture.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace greymatter::models {

struct CaptureState;

class ModelImpl : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // Multiply-adds of one sample's forward pass, or -1 when unknown. The engine uses it to decide
  // whether a batch is worth splitting across threads.
  virtual int64_t macs_per_sample() const { return -1; }

 protected:
  // A forward pass hands each layer's output through tap(<the layer's PyTorch name>, y). Without
  // an active capture that is one pointer test; during one (capture.h) the output may be recorded,
  // and the tensor returned is then the one the rest of the forward must use.
  torch::Tensor tap(const std::string& name, torch::Tensor y) {
    return capture_ ? record(name, std::move(y)) : y;
  }
  bool capturing() const { return capture_ != nullptr; }

 private:
  friend class CaptureScope;
  torch::Tensor record(const std::string& name, torch::Tensor y);
  CaptureState* capture_ = nullptr;
  std::string tap_prefix_;  // where this model sits in the captured one: "", "base_model.", ...
};

// Throws a ConfigError (a ValueError in Python) when x is not a floating-point tensor of the
// expected shape; `expected` reads like "(B, 1, 28, 28)". A dimension of -1 in `shape` matches
// anything.
void check_input(const torch::Tensor& x, const std::vector<int64_t>& shape,
                 const std::string& model, const std::string& expected);

// Parameters and buffers in the order torch.nn.Module.state_dict() lists them: modules in
// registration order (pre-order), each module's own parameters before its own buffers.
std::vector<std::pair<std::string, torch::Tensor>> state_tensors(const torch::nn::Module& module);

// Runs `module` on x when it is a layer with a one-tensor forward (a greymatter model or block, or
// a torch::nn Conv2d, BatchNorm2d, Linear, ReLU, ReLU6, Sigmoid, Dropout, MaxPool2d, Identity,
// Flatten, AdaptiveAvgPool2d, Sequential); ConfigError otherwise. Lets Python call sub-modules.
torch::Tensor forward_module(torch::nn::Module& module, const torch::Tensor& x);

// A sub-module with a one-tensor forward that greymatter defines (a MobileNetV2 block, ...), so
// forward_module can run it without knowing its type.
class BlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

}  // namespace greymatter::models
