// Losses the tutorials use, with the target conversions they get wrong by hand: the loader's labels
// are int64 class indices; BCE wants float targets shaped like the output; cross-entropy wants
// (B, C) logits. A mismatch is a ConfigError that says what to change, raised on the first batch.
// Each loss also says what "correct" means for its output (argmax, or a 0.5 / 0 threshold).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace greymatter::train {

// NLL takes log-probabilities, BCE sigmoid probabilities, BCE-with-logits raw logits; MSE compares
// with one-hot targets.
enum class LossKind { kCrossEntropy, kNLL, kBCE, kBCEWithLogits, kMSE };

// The name users write for a loss ("cross_entropy", "bce", ...), for messages.
const char* loss_name(LossKind kind);

struct LossConfig {
  LossKind kind = LossKind::kCrossEntropy;
  std::vector<double> class_weights;  // cross_entropy, nll; empty = unweighted
  double label_smoothing = 0.0;       // cross_entropy only
  int64_t ignore_index = -100;        // cross_entropy, nll: samples with this label add no loss
  std::vector<double> pos_weight;     // bce_with_logits: weight of the positive class; empty = 1
};

class Loss {
 public:
  explicit Loss(LossConfig config);

  // Throws ConfigError when `output` (B, ...) and `labels` (B) int64 cannot go together. The
  // engine calls it on an epoch's first batch; check_labels (cheap, on the CPU labels) on every
  // batch.
  void check(const torch::Tensor& output, const torch::Tensor& labels) const;
  void check_labels(const torch::Tensor& labels, int64_t outputs) const;
  torch::Tensor operator()(const torch::Tensor& output,
                           const torch::Tensor& labels) const;  // mean, 0-dim
  torch::Tensor correct(const torch::Tensor& output,
                        const torch::Tensor& labels) const;  // count, 0-dim
  // Class probabilities for predict(): softmax for logits, the output itself for BCE's sigmoid.
  torch::Tensor probabilities(const torch::Tensor& output) const;
  // The inverse: an output whose probabilities() are `probabilities` (log-probabilities as logits
  // for cross-entropy, their logits for BCE with logits), so a loss and accuracy can be computed
  // for averaged probabilities (test-time augmentation). Probabilities are clamped away from 0
  // and 1 first, so the loss stays finite.
  torch::Tensor output_for(const torch::Tensor& probabilities) const;

  const LossConfig& config() const { return config_; }

 private:
  bool binary() const {
    return config_.kind == LossKind::kBCE || config_.kind == LossKind::kBCEWithLogits;
  }
  bool classes() const {
    return config_.kind == LossKind::kCrossEntropy || config_.kind == LossKind::kNLL;
  }
  torch::Tensor float_target(const torch::Tensor& output, const torch::Tensor& labels) const;

  LossConfig config_;
  // class weights and pos_weight, moved to the output's device and type on first use
  mutable torch::Tensor weight_, pos_weight_;
};

}  // namespace greymatter::train
