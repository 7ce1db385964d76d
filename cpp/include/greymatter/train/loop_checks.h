// The checks and messages every training loop shares, in one place: the C++ Engine calls them, and
// the Python loop for what the Engine cannot run (a custom loss, another optimizer) calls the same
// functions through the bindings, so both refuse the same inputs with the same words.
#pragma once

#include <torch/types.h>

#include <vector>

namespace greymatter::train {

// ConfigError unless accumulate >= 1.
void check_accumulate(int64_t accumulate);
// ConfigError when no parameter requires a gradient.
void check_trainable(const std::vector<torch::Tensor>& parameters);
// The TrainingError for a NaN/inf loss; `epoch` is 0-based, `batch` 1-based.
[[noreturn]] void throw_non_finite_loss(double value, int64_t epoch, int64_t batch);

}  // namespace greymatter::train
