// Learning-rate schedules with torch.optim.lr_scheduler's formulas: ReduceLROnPlateau, StepLR,
// CosineAnnealingLR (per epoch) and OneCycleLR (per optimizer step, so it runs inside the C++ epoch
// loop with no Python per batch). The Engine calls after_step(); the Trainer calls after_epoch()
// with the monitored metric. State is a few numbers so a resumed run continues the same curve.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace greymatter::train {

enum class SchedulerKind { kNone, kPlateau, kStep, kCosine, kOneCycle };
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
  double eps = 1e-8;
  // step
  int64_t step_size = 1;
  double gamma = 0.1;
  // cosine
  int64_t t_max = 1;
  double eta_min = 0.0;
  // onecycle
  double max_lr = 0.0;
  int64_t total_steps = 0;
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::kCos;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

class Scheduler {
 public:
  // `base_lr` is the optimizer's lr when training starts (ignored by onecycle, which starts at
  // max_lr / div_factor). Throws ConfigError for out-of-range values.
  Scheduler(SchedulerConfig config, double base_lr);

  double initial_lr() const;           // the lr for the first step
  std::optional<double> after_step();  // a new lr, or nothing to change
  std::optional<double> after_epoch(std::optional<double> metric, double current_lr);
  bool per_step() const { return config_.kind == SchedulerKind::kOneCycle; }
  const SchedulerConfig& config() const { return config_; }

  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  double onecycle_lr(int64_t step) const;

  SchedulerConfig config_;
  double base_lr_;
  int64_t epochs_ = 0, steps_ = 0;
  // plateau
  std::optional<double> best_;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace greymatter::train
