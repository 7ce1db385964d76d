// A model's printout in PyTorch's format, so `print(model)` in a notebook reads exactly as the
// tutorial's torch.nn model does:  Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)).
// Knows the torch::nn layers greymatter uses; any other module prints as its class name (less
// namespace and "Impl") with its children.
#pragma once

#include <torch/nn/module.h>

#include <string>

namespace greymatter::models {

std::string pytorch_repr(const torch::nn::Module& module);

// A double as Python's repr() writes it (1e-05, 0.1, 2.0): PyTorch printouts are Python strings.
std::string python_float(double value);

}  // namespace greymatter::models
