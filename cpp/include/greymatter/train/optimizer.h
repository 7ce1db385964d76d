// Optimizers: Adam, AdamW and SGD (momentum, nesterov), written with ATen's _foreach_ ops so a step
// is a handful of multi-tensor calls, with the same update rules as torch.optim's (tests compare).
// State is kept per parameter slot of the model (its parameters() order), created on the first step
// that parameter has a gradient: a frozen backbone never gets state, and unfreezing it later just
// adds slots. Like torch.optim, each slot counts its own steps, so a layer unfrozen later starts
// Adam's bias correction afresh.
// With `capturable`, the step counts and the lr live in tensors on the parameters' device and the
// update reads them there (as torch.optim's capturable=True): no host value enters a step, which is
// what a CUDA graph replaying the step needs. Without it they are host numbers (cheaper on CPU).
// Parameter groups (torch.optim's param_groups): each group is a set of slots with its own lr,
// weight decay, momentum and betas; one group holding every slot is the default. Slots in no group
// are never updated.
// Not here: learning-rate schedules (scheduler.h), gradient clipping, AMP scaling.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace greymatter::train {

enum class OptimizerKind { kAdam, kAdamW, kSGD };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 1e-3;
  double weight_decay = 0.0;  // adam/sgd: L2 added to the gradient; adamw: decoupled
  double momentum = 0.0;      // sgd
  double dampening = 0.0;     // sgd
  bool nesterov = false;      // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  bool capturable = false;  // step counts and lr as device tensors (see above)
};

// Throws ConfigError naming the argument when a value is out of range.
void validate(const OptimizerConfig& config);

struct ParamGroup {
  std::vector<int64_t> slots;  // positions in the optimizer's parameter list
  // This group's hyper-parameters; `kind` and `capturable` are the optimizer's, whatever set here.
  OptimizerConfig options;
};

class Optimizer {
 public:
  // `params` are all of the model's parameters; only those with a gradient are updated.
  Optimizer(std::vector<torch::Tensor> params, OptimizerConfig config);

  void zero_grad();  // drops the gradients (set to undefined, like set_to_none=True)
  void step();

  double lr() const { return groups_.front().options.lr; }  // the first group's
  void set_lr(double lr);                                   // every group's
  std::vector<double> lrs() const;                          // one per group
  void set_lrs(const std::vector<double>& lrs);
  // The momentum a schedule cycles (OneCycleLR): SGD's momentum, Adam's first beta; one per group.
  void set_momenta(const std::vector<double>& momenta);
  // Replaces the groups; every slot at most once. Throws ConfigError naming the bad value.
  void set_groups(std::vector<ParamGroup> groups);
  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t steps() const { return steps_; }  // step() calls that updated anything
  const OptimizerConfig& config() const { return config_; }

  // Checkpoint state: "step" (0-dim int64, steps()), "step.<slot>" (that slot's own count) and
  // "<buffer>.<slot>" for every created buffer, e.g. "exp_avg.3". load_state expects the same names
  // (a state without "step.<slot>" gives every slot with buffers the global count, as older
  // checkpoints meant); unknown names are a ConfigError.
  std::map<std::string, torch::Tensor> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& state);

 private:
  void adam_step(const std::vector<size_t>& slots, size_t group);
  void sgd_step(const std::vector<size_t>& slots, size_t group);
  void count_step(const std::vector<size_t>& slots);
  std::vector<torch::Tensor>& buffer(const std::string& name);

  std::vector<torch::Tensor> params_;
  OptimizerConfig config_;
  std::vector<ParamGroup> groups_;
  int64_t steps_ = 0;
  // Steps per slot. The host counts are kept in both modes: they decide which slots share a bias
  // correction (one group per distinct count, usually one), so grouping never reads the device.
  std::vector<int64_t> slot_steps_;
  // capturable only: (slots) step counts and each group's 0-dim lr on the parameters' device, in
  // float64: bias corrections from float32 counts were off by 1e-5 relative and let runs drift
  // from torch.optim's.
  torch::Tensor device_steps_;
  std::vector<torch::Tensor> device_lrs_;
  std::vector<size_t> counted_slots_;  // the slot set device_index_ holds, rebuilt when it changes
  torch::Tensor device_index_;
  // name -> per-slot tensors (undefined until the slot's first step)
  std::map<std::string, std::vector<torch::Tensor>> buffers_;
};

}  // namespace greymatter::train
