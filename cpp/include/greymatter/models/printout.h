// A layer as PyTorch shows it. The printout in PyTorch's format, so `print(model)` in a notebook
// reads exactly as the tutorial's torch.nn model does:  Conv2d(3, 32, kernel_size=(3, 3),
// stride=(1, 1), padding=(1, 1)). Knows the torch::nn layers greymatter uses; any other module
// prints as its class name (less namespace and "Impl") with its children.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace greymatter::models {

std::string pytorch_repr(const torch::nn::Module& module);

// The class name PyTorch would show: "greymatter::models::MobileNetV2Impl" -> "MobileNetV2".
std::string class_name(const torch::nn::Module& module);

// The constructor attributes PyTorch's layer of the same kind has (Linear: in_features,
// out_features; Conv2d: in_channels, out_channels, kernel_size, stride, padding, dilation, groups;
// BatchNorm2d: num_features, eps, momentum, ...), so Python code reading
// `model.classifier[1].in_features` works. Empty for other modules. Sizes are lists where PyTorch
// has tuples.
using LayerAttribute = std::variant<bool, int64_t, double, std::vector<int64_t>>;
std::map<std::string, LayerAttribute> layer_attributes(const torch::nn::Module& module);

// A double as Python's repr() writes it (1e-05, 0.1, 2.0): PyTorch printouts are Python strings.
std::string python_float(double value);

}  // namespace greymatter::models
