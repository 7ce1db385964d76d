#include "greymatter/train/loss.h"

#include <torch/nn/functional/embedding.h>
#include <torch/nn/functional/loss.h>

#include <cmath>
#include <limits>

#include "greymatter/errors.h"

namespace greymatter::train {

namespace F = torch::nn::functional;

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::kNLL:
      return "nll";
    case LossKind::kBCE:
      return "bce";
    case LossKind::kBCEWithLogits:
      return "bce_with_logits";
    case LossKind::kMSE:
      return "mse";
    default:
      return "cross_entropy";
  }
}

Loss::Loss(LossConfig config) : config_(std::move(config)) {
  const LossKind kind = config_.kind;
  const std::string n = loss_name(kind);
  if (!(config_.label_smoothing >= 0.0 && config_.label_smoothing <= 1.0))
    throw ConfigError("label_smoothing must be in [0, 1], got " +
                      c10::str(config_.label_smoothing));
  if (kind != LossKind::kCrossEntropy && config_.label_smoothing != 0.0)
    throw ConfigError("label_smoothing applies to loss='cross_entropy' only, not '" + n + "'");
  if (!classes() && (!config_.class_weights.empty() || config_.ignore_index != -100))
    throw ConfigError(
        "class_weights and ignore_index apply to loss='cross_entropy' or 'nll' only, not '" + n +
        "'");
  if (kind != LossKind::kBCEWithLogits && !config_.pos_weight.empty())
    throw ConfigError("pos_weight applies to loss='bce_with_logits' only, not '" + n + "'");
  if (config_.pos_weight.size() > 1)
    throw ConfigError("pos_weight must be one number for a model with one output, got " +
                      std::to_string(config_.pos_weight.size()));
  for (double w : config_.class_weights)
    if (!(w >= 0.0) || !std::isfinite(w))
      throw ConfigError("class_weights must be >= 0, got " + c10::str(w));
  for (double w : config_.pos_weight)
    if (!(w >= 0.0) || !std::isfinite(w))
      throw ConfigError("pos_weight must be >= 0, got " + c10::str(w));
  if (!config_.class_weights.empty())
    weight_ = torch::tensor(config_.class_weights, torch::kFloat32);
  if (!config_.pos_weight.empty()) pos_weight_ = torch::tensor(config_.pos_weight, torch::kFloat32);
}

namespace {

torch::Tensor like(torch::Tensor& t, const torch::Tensor& output) {
  if (t.device() != output.device() || t.scalar_type() != output.scalar_type())
    t = t.to(output.device(), output.scalar_type());
  return t;
}

}  // namespace

void Loss::check(const torch::Tensor& output, const torch::Tensor& labels) const {
  const LossKind kind = config_.kind;
  const std::string n = loss_name(kind);
  if (output.dim() < 1 || output.size(0) != labels.size(0))
    throw ConfigError("the model returned " + c10::str(output.sizes()) + " for a batch of " +
                      std::to_string(labels.size(0)) + " samples");
  if (classes()) {
    if (output.dim() != 2 || output.size(1) < 2)
      throw ConfigError(
          "loss='" + n + "' needs (B, num_classes) " +
          (kind == LossKind::kNLL ? "log-probabilities" : "logits") +
          " with num_classes >= 2, got " + c10::str(output.sizes()) +
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
  if (kind == LossKind::kBCE) {
    const auto lo = output.min().item<double>(), hi = output.max().item<double>();
    if (lo < 0.0 || hi > 1.0)
      throw ConfigError(
          "loss='bce' needs probabilities in [0, 1] (a sigmoid output), got values in [" +
          c10::str(lo) + ", " + c10::str(hi) + "]; for raw logits use loss='bce_with_logits'");
  }
  if (kind == LossKind::kMSE && output.dim() != 2)
    throw ConfigError(
        "loss='mse' needs (B, num_classes) outputs (one-hot targets) or (B, 1), got " +
        c10::str(output.sizes()));
}

void Loss::check_labels(const torch::Tensor& labels, int64_t outputs) const {
  if (labels.numel() == 0 || config_.kind == LossKind::kMSE) return;
  const auto hi = labels.max().item<int64_t>(), lo = labels.min().item<int64_t>();
  if (binary()) {
    if (lo < 0 || hi > 1)
      throw ConfigError("loss='" + std::string(loss_name(config_.kind)) +
                        "' needs labels 0 or 1, got " + std::to_string(lo < 0 ? lo : hi));
    return;
  }
  auto bad_label = [&](int64_t label) {
    throw ConfigError("label " + std::to_string(label) + " is out of range for a model with " +
                      std::to_string(outputs) +
                      " outputs; set num_classes to the dataset's number of classes");
  };
  if (lo >= 0 && hi < outputs) return;
  // Slow path, on a bad batch only: labels equal to ignore_index are allowed.
  const auto ignored = labels.eq(config_.ignore_index);
  const auto bad = labels.lt(0).logical_or(labels.ge(outputs)).logical_and(ignored.logical_not());
  if (bad.any().item<bool>()) bad_label(labels.masked_select(bad)[0].item<int64_t>());
}

torch::Tensor Loss::float_target(const torch::Tensor& output, const torch::Tensor& labels) const {
  if (config_.kind == LossKind::kMSE && output.size(1) > 1)
    return F::one_hot(labels, output.size(1)).to(output.scalar_type());  // (B, C)
  return labels.to(output.scalar_type()).view(output.sizes());
}

torch::Tensor Loss::operator()(const torch::Tensor& output, const torch::Tensor& labels) const {
  const LossKind n = config_.kind;
  if (n == LossKind::kCrossEntropy) {
    auto options = F::CrossEntropyFuncOptions()
                       .label_smoothing(config_.label_smoothing)
                       .ignore_index(config_.ignore_index);
    if (weight_.defined()) options.weight(like(weight_, output));
    return F::cross_entropy(output, labels, options);
  }
  if (n == LossKind::kNLL) {
    auto options = F::NLLLossFuncOptions().ignore_index(config_.ignore_index);
    if (weight_.defined()) options.weight(like(weight_, output));
    return F::nll_loss(output, labels, options);
  }
  if (n == LossKind::kBCE) return F::binary_cross_entropy(output, float_target(output, labels));
  if (n == LossKind::kBCEWithLogits) {
    auto options = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (pos_weight_.defined()) options.pos_weight(like(pos_weight_, output));
    return F::binary_cross_entropy_with_logits(output, float_target(output, labels), options);
  }
  return F::mse_loss(output, float_target(output, labels));
}

torch::Tensor Loss::correct(const torch::Tensor& output, const torch::Tensor& labels) const {
  const LossKind n = config_.kind;
  torch::Tensor predicted;
  if (n == LossKind::kBCE)
    predicted = output.reshape({-1}).gt(0.5);
  else if (n == LossKind::kBCEWithLogits)
    predicted = output.reshape({-1}).gt(0.0);
  else if (output.dim() == 2 && output.size(1) == 1)  // mse on one output: nearest integer
    predicted = output.reshape({-1}).round();
  else
    predicted = output.argmax(1);
  return predicted.to(torch::kInt64).eq(labels).sum();
}

torch::Tensor Loss::probabilities(const torch::Tensor& output) const {
  const LossKind n = config_.kind;
  if (n == LossKind::kBCE) return output.reshape({-1, 1});
  if (n == LossKind::kBCEWithLogits) return output.reshape({-1, 1}).sigmoid();
  if (n == LossKind::kMSE) return output;
  if (n == LossKind::kNLL) return output.exp();
  return output.softmax(1);
}

torch::Tensor Loss::output_for(const torch::Tensor& probabilities) const {
  const LossKind n = config_.kind;
  if (n == LossKind::kBCE || n == LossKind::kMSE) return probabilities;
  // float32 resolves 1 - 1e-7, so both ends of the logit are finite; a log needs only p > 0.
  if (n == LossKind::kBCEWithLogits) return probabilities.logit(1e-7);
  return probabilities.clamp_min(std::numeric_limits<float>::min()).log();
}

}  // namespace greymatter::train
