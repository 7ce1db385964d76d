// The base of every greymatter model: a torch::nn::Module with a one-tensor forward, so the
// engine can train any of them. Subclasses register their layers under PyTorch's key names.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>

namespace greymatter::models {

class ModelImpl : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // Multiply-adds of one sample's forward pass, or -1 when unknown. The engine uses it to decide
  // whether a batch is worth splitting across threads.
  virtual int64_t macs_per_sample() const { return -1; }
};

// Throws a ConfigError (a ValueError in Python) when x is not of the expected shape; `expected`
// reads like "(B, 1, 28, 28)". A dimension of -1 in `shape` matches anything.
void check_input(const torch::Tensor& x, const std::vector<int64_t>& shape, const std::string& model,
                 const std::string& expected);

}  // namespace greymatter::models
