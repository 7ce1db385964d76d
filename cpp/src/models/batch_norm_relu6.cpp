// BatchNorm2d + ReLU6 as one autograd node (see batch_norm_relu6.h). The backward is ReLU6's
// (hardtanh_backward on the saved output: 0 < y < 6 exactly where 0 < pre-activation < 6) followed
// by BatchNorm's native backward, the two kernels autograd would run for the unfused pair.
#include "greymatter/models/batch_norm_relu6.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <array>

namespace greymatter::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class BatchNormReLU6Function : public torch::autograd::Function<BatchNormReLU6Function> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               bool training, double momentum, double eps) {
    auto [y, save_mean, save_invstd] =
        at::native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
    at::hardtanh_(y, 0.0, 6.0);
    // Training backward uses the batch statistics only; the running ones are saved for eval mode.
    ctx->save_for_backward({x, weight, training ? torch::Tensor() : running_mean,
                            training ? torch::Tensor() : running_var, save_mean, save_invstd, y});
    ctx->saved_data["training"] = training;
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto grad_z = at::hardtanh_backward(grads[0], s[6], 0.0, 6.0);
    const std::array<bool, 3> wanted = {ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                                        ctx->needs_input_grad(2)};
    auto [gx, gw, gb] = at::native_batch_norm_backward(grad_z, s[0], s[1], s[2], s[3], s[4], s[5],
                                                       ctx->saved_data["training"].toBool(),
                                                       ctx->saved_data["eps"].toDouble(), wanted);
    return {gx,
            gw,
            gb,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor batch_norm_relu6(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  const auto& o = bn.options;
  // A trace (ONNX export) records the unfused pair: exporters know batch_norm and hardtanh, not
  // native_batch_norm inside a custom autograd node.
  if (!x.is_cpu() || !o.affine() || x.dim() != 4 || torch::jit::tracer::isTracing()) {
    auto y = bn.forward(x);
    return at::hardtanh_(y, 0.0, 6.0);
  }
  // BatchNorm2d's own bookkeeping (torch/nn/modules/batchnorm.h), before the kernel.
  double momentum = o.momentum().value_or(0.0);
  if (bn.is_training() && o.track_running_stats()) {
    bn.num_batches_tracked += 1;
    if (!o.momentum())
      momentum = 1.0 / bn.num_batches_tracked.item<double>();  // cumulative average
  }
  const bool batch_stats = bn.is_training() || !o.track_running_stats();
  return BatchNormReLU6Function::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                       batch_stats, momentum, o.eps());
}

}  // namespace greymatter::models
