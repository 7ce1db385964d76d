// Learning-rate schedules with torch.optim.lr_scheduler's formulas: ReduceLROnPlateau, StepLR,
// MultiStepLR, ExponentialLR, CosineAnnealingLR (per epoch) and OneCycleLR (per optimizer step, so
// it runs inside the C++ epoch loop with no Python per batch; optionally cycling the momentum).
// Every parameter group has its own lr, scaled from its own base lr as torch does. The Engine
// calls after_step(); the Trainer calls after_epoch() with the monitored metric. State is a few
// numbers so a resumed run continues the same curve.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace greymatter::train {

enum class SchedulerKind { kNone, kPlateau, kStep, kMultiStep, kExponential, kCosine, kOneCycle };
enum class PlateauMode { kMin, kMax };        // whether the monitored metric should fall or rise
enum class ThresholdMode { kRel, kAbs };      // an improvement is relative to the best, or absolute
enum class AnnealStrategy { kCos, kLinear };  // OneCycleLR's curve between phases

struct SchedulerConfig {
  SchedulerKind kind = SchedulerKind::kNone;
  // plateau
  PlateauMode mode = PlateauMode::kMin;
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::kRel;
  int64_t cooldown = 0;
  double min_lr = 0.0;
  std::vector<double> min_lrs;  // one per parameter group; empty: min_lr for every group
  double eps = 1e-8;
  // step, multistep, exponential
  int64_t step_size = 1;
  std::vector<int64_t> milestones;  // multistep: epochs where lr *= gamma (a repeat counts twice)
  double gamma = 0.1;
  // cosine
  int64_t t_max = 1;
  double eta_min = 0.0;
  // onecycle
  double max_lr = 0.0;
  std::vector<double> max_lrs;  // one per parameter group; empty: max_lr for every group
  int64_t total_steps = 0;
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::kCos;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
  bool cycle_momentum = false;  // SGD's momentum / Adam's first beta, from max_momentum to base
  double base_momentum = 0.85, max_momentum = 0.95;
};

class Scheduler {
 public:
  // `base_lrs`: each parameter group's lr when training starts (ignored by onecycle, which starts
  // at max_lr / div_factor). Throws ConfigError for out-of-range values.
  Scheduler(SchedulerConfig config, std::vector<double> base_lrs);

  std::vector<double> initial_lrs() const;  // the lrs for the first step
  // onecycle with cycle_momentum: the momentum for the next step; otherwise nothing.
  std::optional<double> momentum() const;
  std::optional<std::vector<double>> after_step();  // new lrs, or nothing to change
  std::optional<std::vector<double>> after_epoch(std::optional<double> metric,
                                                 const std::vector<double>& current_lrs);
  bool per_step() const { return config_.kind == SchedulerKind::kOneCycle; }
  const SchedulerConfig& config() const { return config_; }
  size_t groups() const { return base_lrs_.size(); }

  // "epochs", "steps", "base_lr.<group>", "bad_epochs", "cooldown_left" and, once there is one,
  // "best" (plateau's best metric). load_state also takes a single "base_lr" for every group.
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  double onecycle_lr(int64_t step, size_t group) const;
  std::vector<double> closed_form_lrs() const;  // step, multistep, exponential, cosine

  SchedulerConfig config_;
  std::vector<double> base_lrs_;
  int64_t epochs_ = 0, steps_ = 0;
  // plateau
  std::optional<double> best_;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace greymatter::train
