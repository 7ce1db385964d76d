#include "greymatter/train/loop_checks.h"

#include <string>

#include "greymatter/errors.h"

namespace greymatter::train {

void check_accumulate(int64_t accumulate) {
  if (accumulate < 1)
    throw ConfigError("accumulate must be >= 1, got " + std::to_string(accumulate));
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
