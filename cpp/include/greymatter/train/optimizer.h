// Optimizers: Adam, AdamW and SGD (momentum, nesterov), written with ATen's _foreach_ ops so a step
// is a handful of multi-tensor calls, with the same update rules as torch.optim's (tests compare).
// State is kept per parameter slot of the model (its parameters() order), created on the first step
// that parameter has a gradient: a frozen backbone never gets state, and unfreezing it later just
// adds slots. Not here: learning-rate schedules (scheduler.h), gradient clipping, AMP scaling.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace greymatter::train {

struct OptimizerConfig {
  std::string name = "adam";  // "adam" | "adamw" | "sgd"
  double lr = 1e-3;
  double weight_decay = 0.0;  // adam/sgd: L2 added to the gradient; adamw: decoupled
  double momentum = 0.0;      // sgd
  double dampening = 0.0;     // sgd
  bool nesterov = false;      // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
};

// Throws ConfigError naming the argument when a value is out of range or the name is unknown.
void validate(const OptimizerConfig& config);

class Optimizer {
 public:
  // `params` are all of the model's parameters; only those with a gradient are updated.
  Optimizer(std::vector<torch::Tensor> params, OptimizerConfig config);

  void zero_grad();  // drops the gradients (set to undefined, like set_to_none=True)
  void step();

  double lr() const { return config_.lr; }
  void set_lr(double lr);
  int64_t steps() const { return steps_; }
  const OptimizerConfig& config() const { return config_; }

  // Checkpoint state: "step" (a 0-dim int64 tensor) and "<buffer>.<slot>" for every created buffer,
  // e.g. "exp_avg.3". load_state expects the same names; unknown names are a ConfigError.
  std::map<std::string, torch::Tensor> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& state);

 private:
  void adam_step(const std::vector<size_t>& slots);
  void sgd_step(const std::vector<size_t>& slots);
  std::vector<torch::Tensor>& buffer(const std::string& name);

  std::vector<torch::Tensor> params_;
  OptimizerConfig config_;
  int64_t steps_ = 0;
  // name -> per-slot tensors (undefined until the slot's first step)
  std::map<std::string, std::vector<torch::Tensor>> buffers_;
};

}  // namespace greymatter::train
