#include "greymatter/train/loop_checks.h"

#include "greymatter/errors.h"

namespace greymatter::train {

void check_loop_options(int64_t accumulate, const std::string& non_finite) {
  if (accumulate < 1)
    throw ConfigError("accumulate must be >= 1, got " + std::to_string(accumulate));
  if (non_finite != "raise" && non_finite != "skip")
    throw ConfigError("non_finite must be 'raise' or 'skip', got '" + non_finite + "'");
}

void check_trainable(const std::vector<torch::Tensor>& parameters) {
  for (const auto& p : parameters)
    if (p.requires_grad()) return;
  throw ConfigError("the model has no trainable parameters (is everything frozen?)");
}

void throw_non_finite_loss(double value, int64_t epoch, int64_t batch) {
  throw TrainingError("loss became " + std::to_string(value) + " at epoch " +
                      std::to_string(epoch + 1) + ", batch " + std::to_string(batch) +
                      "; lower the learning rate or check the inputs for NaN");
}

}  // namespace greymatter::train
