#include "greymatter/train/scheduler.h"

#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "greymatter/errors.h"

namespace greymatter::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

double anneal(AnnealStrategy strategy, double start, double end, double pct) {
  if (strategy == AnnealStrategy::kLinear) return (end - start) * pct + start;
  return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1.0);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw ConfigError(message);
}

}  // namespace

Scheduler::Scheduler(SchedulerConfig config, double base_lr)
    : config_(std::move(config)), base_lr_(base_lr) {
  const auto& c = config_;
  if (c.kind == SchedulerKind::kPlateau) {
    require(c.factor > 0.0 && c.factor < 1.0,
            "ReduceLROnPlateau factor must be in (0, 1), got " + c10::str(c.factor));
    require(c.patience >= 0 && c.cooldown >= 0,
            "ReduceLROnPlateau patience and cooldown must be >= 0");
  } else if (c.kind == SchedulerKind::kStep) {
    require(c.step_size >= 1, "StepLR step_size must be >= 1, got " + std::to_string(c.step_size));
    require(c.gamma > 0.0, "StepLR gamma must be > 0, got " + c10::str(c.gamma));
  } else if (c.kind == SchedulerKind::kCosine) {
    require(c.t_max >= 1, "CosineAnnealingLR T_max must be >= 1, got " + std::to_string(c.t_max));
  } else if (c.kind == SchedulerKind::kOneCycle) {
    require(c.max_lr > 0.0, "OneCycleLR max_lr must be > 0, got " + c10::str(c.max_lr));
    require(c.total_steps >= 2, "OneCycleLR needs total_steps >= 2 (epochs x batches), got " +
                                    std::to_string(c.total_steps));
    require(c.pct_start > 0.0 && c.pct_start < 1.0, "OneCycleLR pct_start must be in (0, 1)");
  }
}

double Scheduler::initial_lr() const { return per_step() ? onecycle_lr(0) : base_lr_; }

// torch.optim.lr_scheduler.OneCycleLR.get_lr for optimizer step `step` (0-based).
double Scheduler::onecycle_lr(int64_t step) const {
  const auto& c = config_;
  const double initial = c.max_lr / c.div_factor, min_lr = initial / c.final_div_factor;
  const double total = double(c.total_steps);
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  std::vector<Phase> phases;
  if (c.three_phase)
    phases = {{c.pct_start * total - 1, initial, c.max_lr},
              {2 * c.pct_start * total - 2, c.max_lr, initial},
              {total - 1, initial, min_lr}};
  else
    phases = {{c.pct_start * total - 1, initial, c.max_lr}, {total - 1, c.max_lr, min_lr}};
  double start_step = 0.0, lr = initial;
  for (size_t i = 0; i < phases.size(); ++i) {
    const auto& p = phases[i];
    if (double(step) <= p.end_step || i + 1 == phases.size()) {
      const double pct = (double(step) - start_step) / (p.end_step - start_step);
      lr = anneal(c.anneal_strategy, p.start_lr, p.end_lr, pct);
      break;
    }
    start_step = p.end_step;
  }
  return lr;
}

std::optional<double> Scheduler::after_step() {
  if (!per_step()) return std::nullopt;
  ++steps_;
  // Like torch, stepping past total_steps is an error rather than a silent extrapolation.
  if (steps_ > config_.total_steps)
    throw ConfigError("OneCycleLR was set up for " + std::to_string(config_.total_steps) +
                      " steps and has run out; give it the epochs you train for");
  return onecycle_lr(steps_);
}

std::optional<double> Scheduler::after_epoch(std::optional<double> metric, double current_lr) {
  const auto& c = config_;
  ++epochs_;
  if (c.kind == SchedulerKind::kStep)
    return base_lr_ * std::pow(c.gamma, double(epochs_ / c.step_size));
  if (c.kind ==
      SchedulerKind::kCosine)  // the closed form; torch's recursive form equals it up to rounding
    return c.eta_min +
           (base_lr_ - c.eta_min) * (1.0 + std::cos(kPi * double(epochs_) / double(c.t_max))) / 2.0;
  if (c.kind != SchedulerKind::kPlateau) return std::nullopt;
  if (!metric || !std::isfinite(*metric))
    throw ConfigError("ReduceLROnPlateau needs a finite metric at the end of every epoch");
  const double m = *metric;
  bool better;
  if (!best_) {
    better = true;
  } else if (c.mode == PlateauMode::kMin) {
    better = c.threshold_mode == ThresholdMode::kRel ? m < *best_ * (1.0 - c.threshold)
                                                     : m < *best_ - c.threshold;
  } else {
    better = c.threshold_mode == ThresholdMode::kRel ? m > *best_ * (1.0 + c.threshold)
                                                     : m > *best_ + c.threshold;
  }
  if (better) {
    best_ = m;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > c.patience) {
    cooldown_left_ = c.cooldown;
    bad_epochs_ = 0;
    const double reduced = std::max(current_lr * c.factor, c.min_lr);
    if (current_lr - reduced > c.eps) return reduced;
  }
  return std::nullopt;
}

std::map<std::string, double> Scheduler::state() const {
  std::map<std::string, double> s{{"epochs", double(epochs_)},
                                  {"steps", double(steps_)},
                                  {"base_lr", base_lr_},
                                  {"bad_epochs", double(bad_epochs_)},
                                  {"cooldown_left", double(cooldown_left_)}};
  if (best_) s["best"] = *best_;
  return s;
}

void Scheduler::load_state(const std::map<std::string, double>& s) {
  auto get = [&](const char* k) {
    auto it = s.find(k);
    if (it == s.end()) throw ConfigError(std::string("scheduler state is missing '") + k + "'");
    return it->second;
  };
  epochs_ = int64_t(get("epochs"));
  steps_ = int64_t(get("steps"));
  base_lr_ = get("base_lr");
  bad_epochs_ = int64_t(get("bad_epochs"));
  cooldown_left_ = int64_t(get("cooldown_left"));
  auto it = s.find("best");
  best_ = it == s.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace greymatter::train
