#include "greymatter/train/loss.h"

#include <torch/nn/functional/embedding.h>
#include <torch/nn/functional/loss.h>

#include <cmath>
#include <limits>

#include "greymatter/errors.h"

namespace greymatter::train {

namespace F = torch::nn::functional;

Loss::Loss(LossConfig config) : config_(std::move(config)) {
  const auto& n = config_.name;
  if (n != "cross_entropy" && n != "bce" && n != "bce_with_logits" && n != "mse")
    throw ConfigError("unknown loss '" + n +
                      "'; choose one of: cross_entropy, bce, bce_with_logits, mse");
  if (!(config_.label_smoothing >= 0.0 && config_.label_smoothing <= 1.0))
    throw ConfigError("label_smoothing must be in [0, 1], got " +
                      c10::str(config_.label_smoothing));
  if (n != "cross_entropy" && (config_.label_smoothing != 0.0 || !config_.class_weights.empty()))
    throw ConfigError(
        "class_weights and label_smoothing apply to loss='cross_entropy' only, not '" + n + "'");
  for (double w : config_.class_weights)
    if (!(w >= 0.0) || !std::isfinite(w))
      throw ConfigError("class_weights must be >= 0, got " + c10::str(w));
  if (!config_.class_weights.empty())
    weight_ = torch::tensor(config_.class_weights, torch::kFloat32);
}

void Loss::check(const torch::Tensor& output, const torch::Tensor& labels) const {
  const auto& n = config_.name;
  if (output.dim() < 1 || output.size(0) != labels.size(0))
    throw ConfigError("the model returned " + c10::str(output.sizes()) + " for a batch of " +
                      std::to_string(labels.size(0)) + " samples");
  if (n == "cross_entropy") {
    if (output.dim() != 2 || output.size(1) < 2)
      throw ConfigError(
          "loss='cross_entropy' needs (B, num_classes) logits with num_classes >= 2, got " +
          c10::str(output.sizes()) +
          (output.dim() <= 2 ? "; for one sigmoid output per sample use loss='bce'" : ""));
    const int64_t classes = output.size(1);
    if (!config_.class_weights.empty() && int64_t(config_.class_weights.size()) != classes)
      throw ConfigError("class_weights has " + std::to_string(config_.class_weights.size()) +
                        " entries but the model outputs " + std::to_string(classes) + " classes");
    check_labels(labels, classes);
    return;
  }
  if (binary() && output.numel() != labels.size(0))
    throw ConfigError("loss='" + n + "' needs one output per sample, (B, 1) or (B,), got " +
                      c10::str(output.sizes()) +
                      "; for (B, num_classes) logits use loss='cross_entropy'");
  if (binary()) check_labels(labels, 1);
  if (n == "bce") {
    const auto lo = output.min().item<double>(), hi = output.max().item<double>();
    if (lo < 0.0 || hi > 1.0)
      throw ConfigError(
          "loss='bce' needs probabilities in [0, 1] (a sigmoid output), got values in [" +
          c10::str(lo) + ", " + c10::str(hi) + "]; for raw logits use loss='bce_with_logits'");
  }
  if (n == "mse" && output.dim() != 2)
    throw ConfigError(
        "loss='mse' needs (B, num_classes) outputs (one-hot targets) or (B, 1), got " +
        c10::str(output.sizes()));
}

void Loss::check_labels(const torch::Tensor& labels, int64_t outputs) const {
  if (labels.numel() == 0 || config_.name == "mse") return;
  const auto hi = labels.max().item<int64_t>(), lo = labels.min().item<int64_t>();
  if (binary()) {
    if (lo < 0 || hi > 1)
      throw ConfigError("loss='" + config_.name + "' needs labels 0 or 1, got " +
                        std::to_string(lo < 0 ? lo : hi));
  } else if (lo < 0 || hi >= outputs) {
    throw ConfigError("label " + std::to_string(lo < 0 ? lo : hi) +
                      " is out of range for a model with " + std::to_string(outputs) +
                      " outputs; set num_classes to the dataset's number of classes");
  }
}

torch::Tensor Loss::float_target(const torch::Tensor& output, const torch::Tensor& labels) const {
  if (config_.name == "mse" && output.size(1) > 1)
    return F::one_hot(labels, output.size(1)).to(output.scalar_type());  // (B, C)
  return labels.to(output.scalar_type()).view(output.sizes());
}

torch::Tensor Loss::operator()(const torch::Tensor& output, const torch::Tensor& labels) const {
  const auto& n = config_.name;
  if (n == "cross_entropy") {
    auto options = F::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing);
    if (weight_.defined()) {
      if (weight_.device() != output.device() || weight_.scalar_type() != output.scalar_type())
        weight_ = weight_.to(output.device(), output.scalar_type());
      options.weight(weight_);
    }
    return F::cross_entropy(output, labels, options);
  }
  if (n == "bce") return F::binary_cross_entropy(output, float_target(output, labels));
  if (n == "bce_with_logits")
    return F::binary_cross_entropy_with_logits(output, float_target(output, labels));
  return F::mse_loss(output, float_target(output, labels));
}

torch::Tensor Loss::correct(const torch::Tensor& output, const torch::Tensor& labels) const {
  const auto& n = config_.name;
  torch::Tensor predicted;
  if (n == "bce")
    predicted = output.reshape({-1}).gt(0.5);
  else if (n == "bce_with_logits")
    predicted = output.reshape({-1}).gt(0.0);
  else if (output.dim() == 2 && output.size(1) == 1)  // mse on one output: nearest integer
    predicted = output.reshape({-1}).round();
  else
    predicted = output.argmax(1);
  return predicted.to(torch::kInt64).eq(labels).sum();
}

torch::Tensor Loss::probabilities(const torch::Tensor& output) const {
  const auto& n = config_.name;
  if (n == "bce") return output.reshape({-1, 1});
  if (n == "bce_with_logits") return output.reshape({-1, 1}).sigmoid();
  if (n == "mse") return output;
  return output.softmax(1);
}

torch::Tensor Loss::output_for(const torch::Tensor& probabilities) const {
  const auto& n = config_.name;
  if (n == "bce" || n == "mse") return probabilities;
  // float32 resolves 1 - 1e-7, so both ends of the logit are finite; a log needs only p > 0.
  if (n == "bce_with_logits") return probabilities.logit(1e-7);
  return probabilities.clamp_min(std::numeric_limits<float>::min()).log();
}

}  // namespace greymatter::train
