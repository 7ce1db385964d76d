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

Scheduler::Scheduler(SchedulerConfig config, std::vector<double> base_lrs)
    : config_(std::move(config)), base_lrs_(std::move(base_lrs)) {
  auto& c = config_;
  require(!base_lrs_.empty(), "a schedule needs at least one parameter group");
  const auto per_group = [&](const std::vector<double>& values, const char* what) {
    require(values.empty() || values.size() == base_lrs_.size(),
            std::string(what) + " has " + std::to_string(values.size()) + " values for " +
                std::to_string(base_lrs_.size()) + " parameter groups");
  };
  if (c.kind == SchedulerKind::kPlateau) {
    require(c.factor > 0.0 && c.factor < 1.0,
            "ReduceLROnPlateau factor must be in (0, 1), got " + c10::str(c.factor));
    require(c.patience >= 0 && c.cooldown >= 0,
            "ReduceLROnPlateau patience and cooldown must be >= 0");
    per_group(c.min_lrs, "ReduceLROnPlateau min_lr");
  } else if (c.kind == SchedulerKind::kStep) {
    require(c.step_size >= 1, "StepLR step_size must be >= 1, got " + std::to_string(c.step_size));
    require(c.gamma > 0.0, "StepLR gamma must be > 0, got " + c10::str(c.gamma));
  } else if (c.kind == SchedulerKind::kMultiStep) {
    require(c.gamma > 0.0, "MultiStepLR gamma must be > 0, got " + c10::str(c.gamma));
    std::sort(c.milestones.begin(), c.milestones.end());
  } else if (c.kind == SchedulerKind::kExponential) {
    require(c.gamma > 0.0, "ExponentialLR gamma must be > 0, got " + c10::str(c.gamma));
  } else if (c.kind == SchedulerKind::kCosine) {
    require(c.t_max >= 1, "CosineAnnealingLR T_max must be >= 1, got " + std::to_string(c.t_max));
  } else if (c.kind == SchedulerKind::kOneCycle) {
    per_group(c.max_lrs, "OneCycleLR max_lr");
    if (c.max_lrs.empty()) c.max_lrs.assign(base_lrs_.size(), c.max_lr);
    for (double m : c.max_lrs)
      require(m > 0.0, "OneCycleLR max_lr must be > 0, got " + c10::str(m));
    require(c.total_steps >= 2, "OneCycleLR needs total_steps >= 2 (epochs x batches), got " +
                                    std::to_string(c.total_steps));
    require(c.pct_start > 0.0 && c.pct_start < 1.0, "OneCycleLR pct_start must be in (0, 1)");
    if (c.cycle_momentum)
      require(c.base_momentum >= 0.0 && c.max_momentum < 1.0 && c.base_momentum <= c.max_momentum,
              "OneCycleLR needs 0 <= base_momentum <= max_momentum < 1");
  }
}

std::vector<double> Scheduler::initial_lrs() const {
  if (!per_step()) return base_lrs_;
  std::vector<double> out;
  for (size_t g = 0; g < base_lrs_.size(); ++g) out.push_back(onecycle_lr(steps_, g));
  return out;
}

namespace {

// torch.optim.lr_scheduler.OneCycleLR's phases: where each ends, which lr (0 initial, 1 max,
// 2 min) and which momentum (0 base, 1 max) it goes from and to.
struct Phase {
  double end_step;
  int lr_from, lr_to, momentum_from, momentum_to;
};

std::vector<Phase> onecycle_phases(const SchedulerConfig& c) {
  const double total = double(c.total_steps);
  if (c.three_phase)
    return {{c.pct_start * total - 1, 0, 1, 1, 0},
            {2 * c.pct_start * total - 2, 1, 0, 0, 1},
            {total - 1, 0, 2, 1, 1}};
  return {{c.pct_start * total - 1, 0, 1, 1, 0}, {total - 1, 1, 2, 0, 1}};
}

// The phase optimizer step `step` (0-based) falls in, and how far into it.
std::pair<Phase, double> onecycle_position(const SchedulerConfig& c, int64_t step) {
  const auto phases = onecycle_phases(c);
  double start_step = 0.0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const auto& p = phases[i];
    if (double(step) <= p.end_step || i + 1 == phases.size())
      return {p, (double(step) - start_step) / (p.end_step - start_step)};
    start_step = p.end_step;
  }
  return {phases.back(), 1.0};  // not reached
}

}  // namespace

// torch.optim.lr_scheduler.OneCycleLR.get_lr for optimizer step `step` (0-based).
double Scheduler::onecycle_lr(int64_t step, size_t group) const {
  const auto& c = config_;
  const double max_lr = c.max_lrs[group], initial = max_lr / c.div_factor;
  const double lrs[3] = {initial, max_lr, initial / c.final_div_factor};
  const auto [phase, pct] = onecycle_position(c, step);
  return anneal(c.anneal_strategy, lrs[phase.lr_from], lrs[phase.lr_to], pct);
}

std::optional<double> Scheduler::momentum() const {
  const auto& c = config_;
  if (!per_step() || !c.cycle_momentum) return std::nullopt;
  const double momenta[2] = {c.base_momentum, c.max_momentum};
  const auto [phase, pct] = onecycle_position(c, steps_);
  return anneal(c.anneal_strategy, momenta[phase.momentum_from], momenta[phase.momentum_to], pct);
}

std::optional<std::vector<double>> Scheduler::after_step() {
  if (!per_step()) return std::nullopt;
  ++steps_;
  // Like torch, stepping past total_steps is an error rather than a silent extrapolation.
  if (steps_ > config_.total_steps)
    throw ConfigError("OneCycleLR was set up for " + std::to_string(config_.total_steps) +
                      " steps and has run out; give it the epochs you train for");
  return initial_lrs();
}

std::vector<double> Scheduler::closed_form_lrs() const {
  const auto& c = config_;
  double scale = 1.0;
  if (c.kind == SchedulerKind::kStep) scale = std::pow(c.gamma, double(epochs_ / c.step_size));
  if (c.kind == SchedulerKind::kExponential) scale = std::pow(c.gamma, double(epochs_));
  if (c.kind == SchedulerKind::kMultiStep) {
    const auto passed =
        std::upper_bound(c.milestones.begin(), c.milestones.end(), epochs_) - c.milestones.begin();
    scale = std::pow(c.gamma, double(passed));
  }
  std::vector<double> out;
  // Cosine: the closed form; torch's recursive form equals it up to rounding.
  for (double base : base_lrs_)
    if (c.kind == SchedulerKind::kCosine)
      out.push_back(c.eta_min + (base - c.eta_min) *
                                    (1.0 + std::cos(kPi * double(epochs_) / double(c.t_max))) /
                                    2.0);
    else
      out.push_back(base * scale);
  return out;
}

std::optional<std::vector<double>> Scheduler::after_epoch(std::optional<double> metric,
                                                          const std::vector<double>& current_lrs) {
  const auto& c = config_;
  ++epochs_;
  if (c.kind == SchedulerKind::kNone || c.kind == SchedulerKind::kOneCycle) return std::nullopt;
  if (c.kind != SchedulerKind::kPlateau) return closed_form_lrs();
  if (!metric || !std::isfinite(*metric))
    throw ConfigError("ReduceLROnPlateau needs a finite metric at the end of every epoch");
  require(current_lrs.size() == base_lrs_.size(),
          "ReduceLROnPlateau got " + std::to_string(current_lrs.size()) + " learning rates for " +
              std::to_string(base_lrs_.size()) + " parameter groups");
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
  if (bad_epochs_ <= c.patience) return std::nullopt;
  cooldown_left_ = c.cooldown;
  bad_epochs_ = 0;
  std::vector<double> lrs = current_lrs;
  bool changed = false;
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double floor = c.min_lrs.empty() ? c.min_lr : c.min_lrs[g];
    const double reduced = std::max(lrs[g] * c.factor, floor);
    if (lrs[g] - reduced > c.eps) {
      lrs[g] = reduced;
      changed = true;
    }
  }
  if (!changed) return std::nullopt;
  return lrs;
}

std::map<std::string, double> Scheduler::state() const {
  std::map<std::string, double> s{{"epochs", double(epochs_)},
                                  {"steps", double(steps_)},
                                  {"bad_epochs", double(bad_epochs_)},
                                  {"cooldown_left", double(cooldown_left_)}};
  for (size_t g = 0; g < base_lrs_.size(); ++g) s["base_lr." + std::to_string(g)] = base_lrs_[g];
  if (best_) s["best"] = *best_;
  return s;
}

void Scheduler::load_state(const std::map<std::string, double>& s) {
  auto get = [&](const std::string& k) {
    auto it = s.find(k);
    if (it == s.end()) throw ConfigError("scheduler state is missing '" + k + "'");
    return it->second;
  };
  std::vector<double> base_lrs = base_lrs_;
  if (s.count("base_lr")) {  // one base lr for every group
    base_lrs.assign(base_lrs_.size(), get("base_lr"));
  } else {
    for (size_t g = 0; g < base_lrs.size(); ++g) base_lrs[g] = get("base_lr." + std::to_string(g));
    if (s.count("base_lr." + std::to_string(base_lrs.size())))
      throw ConfigError("scheduler state has more parameter groups than this optimizer (" +
                        std::to_string(base_lrs.size()) + ")");
  }
  epochs_ = int64_t(get("epochs"));
  steps_ = int64_t(get("steps"));
  bad_epochs_ = int64_t(get("bad_epochs"));
  cooldown_left_ = int64_t(get("cooldown_left"));
  base_lrs_ = std::move(base_lrs);
  auto it = s.find("best");
  best_ = it == s.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace greymatter::train
