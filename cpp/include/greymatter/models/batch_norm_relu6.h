// BatchNorm2d followed by an in-place ReLU6 (MobileNetV2's Conv2dNormActivation tail) as one
// autograd node on CPU: the same ATen kernels and the same numbers as BatchNorm2d ->
// ReLU6(inplace=True), without the copy that autograd's in-place hardtanh_ makes. Updates the
// module's running statistics and num_batches_tracked exactly as BatchNorm2d's forward does.
// Elsewhere (CUDA: cuDNN's batch norm) and while the JIT tracer records the forward (ONNX export)
// it calls the module and hardtanh_ as they are.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/types.h>

namespace greymatter::models {

torch::Tensor batch_norm_relu6(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

}  // namespace greymatter::models
