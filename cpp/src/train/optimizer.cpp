#include "greymatter/train/optimizer.h"

#include <ATen/Functions.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>

#include "greymatter/errors.h"

namespace greymatter::train {
namespace {

std::vector<torch::Tensor> pick(const std::vector<torch::Tensor>& all,
                                const std::vector<size_t>& slots) {
  std::vector<torch::Tensor> out;
  out.reserve(slots.size());
  for (size_t s : slots) out.push_back(all[s]);
  return out;
}

// The same 0-dim tensor once per list entry: the _foreach_ list overloads broadcast it, which is
// how a device-side scalar (lr, bias correction) reaches every parameter without a host read.
std::vector<torch::Tensor> repeat(const torch::Tensor& scalar, size_t n) {
  return std::vector<torch::Tensor>(n, scalar);
}

// Positions in `slots` grouped by their step count: slots in one group share a bias correction.
std::vector<std::vector<size_t>> by_step_count(const std::vector<size_t>& slots,
                                               const std::vector<int64_t>& counts) {
  std::map<int64_t, std::vector<size_t>> groups;
  for (size_t k = 0; k < slots.size(); ++k) groups[counts[slots[k]]].push_back(k);
  std::vector<std::vector<size_t>> out;
  for (auto& [count, positions] : groups) out.push_back(std::move(positions));
  return out;
}

void check_range(const std::string& name, double v, double lo, double hi, bool hi_open) {
  if (!std::isfinite(v) || v < lo || (hi_open ? v >= hi : v > hi))
    throw ConfigError(name + " must be in [" + c10::str(lo) + ", " + c10::str(hi) +
                      (hi_open ? ")" : "]") + ", got " + c10::str(v));
}

}  // namespace

void validate(const OptimizerConfig& c) {
  if (!(c.lr > 0.0) || !std::isfinite(c.lr))
    throw ConfigError("lr must be a positive number, got " + c10::str(c.lr));
  check_range("weight_decay", c.weight_decay, 0.0, 1e6, false);
  check_range("momentum", c.momentum, 0.0, 1.0, true);
  check_range("dampening", c.dampening, 0.0, 1.0, false);
  check_range("betas[0]", c.beta1, 0.0, 1.0, true);
  check_range("betas[1]", c.beta2, 0.0, 1.0, true);
  if (!(c.eps > 0.0)) throw ConfigError("eps must be positive, got " + c10::str(c.eps));
  if (c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0))
    throw ConfigError("nesterov needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)");
}

Optimizer::Optimizer(std::vector<torch::Tensor> params, OptimizerConfig config)
    : params_(std::move(params)), config_(std::move(config)), slot_steps_(params_.size(), 0) {
  validate(config_);
  if (config_.capturable) {
    const auto on =
        torch::TensorOptions()
            .dtype(torch::kFloat64)
            .device(params_.empty() ? torch::Device(torch::kCPU) : params_.front().device());
    device_steps_ = torch::zeros({int64_t(params_.size())}, on);
  }
  ParamGroup all{{}, config_};
  for (size_t i = 0; i < params_.size(); ++i) all.slots.push_back(int64_t(i));
  set_groups({std::move(all)});
}

void Optimizer::set_groups(std::vector<ParamGroup> groups) {
  if (groups.empty()) throw ConfigError("the optimizer needs at least one parameter group");
  std::vector<bool> seen(params_.size(), false);
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& options = groups[g].options;
    options.kind = config_.kind;
    options.capturable = config_.capturable;
    validate(options);
    for (int64_t slot : groups[g].slots) {
      if (slot < 0 || slot >= int64_t(params_.size()))
        throw ConfigError("parameter group " + std::to_string(g) + " names parameter " +
                          std::to_string(slot) + "; the model has " +
                          std::to_string(params_.size()));
      if (seen[size_t(slot)])
        throw ConfigError("parameter " + std::to_string(slot) +
                          " appears in more than one parameter group");
      seen[size_t(slot)] = true;
    }
  }
  groups_ = std::move(groups);
  device_lrs_.clear();
  if (config_.capturable)
    for (const auto& g : groups_)
      device_lrs_.push_back(torch::full({}, g.options.lr, device_steps_.options()));
}

std::vector<double> Optimizer::lrs() const {
  std::vector<double> out;
  for (const auto& g : groups_) out.push_back(g.options.lr);
  return out;
}

void Optimizer::set_lr(double lr) { set_lrs(std::vector<double>(groups_.size(), lr)); }

void Optimizer::set_lrs(const std::vector<double>& lrs) {
  if (lrs.size() != groups_.size())
    throw ConfigError(std::to_string(lrs.size()) + " learning rates for " +
                      std::to_string(groups_.size()) + " parameter groups");
  for (double lr : lrs)  // 0 is allowed, as in torch.optim: a cosine schedule ends there
    if (!(lr >= 0.0) || !std::isfinite(lr))
      throw ConfigError("lr must be a non-negative number, got " + c10::str(lr));
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].options.lr = lrs[g];
    if (config_.capturable) device_lrs_[g].fill_(lrs[g]);
  }
}

void Optimizer::set_momenta(const std::vector<double>& momenta) {
  if (momenta.size() != groups_.size())
    throw ConfigError(std::to_string(momenta.size()) + " momentum values for " +
                      std::to_string(groups_.size()) + " parameter groups");
  for (size_t g = 0; g < groups_.size(); ++g) {
    auto& o = groups_[g].options;
    const bool sgd = o.kind == OptimizerKind::kSGD;
    check_range(sgd ? "momentum" : "betas[0]", momenta[g], 0.0, 1.0, true);
    (sgd ? o.momentum : o.beta1) = momenta[g];
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().reset();
}

std::vector<torch::Tensor>& Optimizer::buffer(const std::string& name) {
  auto& b = buffers_[name];
  if (b.size() != params_.size()) b.resize(params_.size());
  return b;
}

void Optimizer::step() {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<size_t>> active(groups_.size());  // per group: slots with a gradient
  std::vector<size_t> slots;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (int64_t s : groups_[g].slots) {
      const auto& p = params_[size_t(s)];
      if (p.requires_grad() && p.grad().defined()) active[g].push_back(size_t(s));
    }
  for (const auto& a : active) slots.insert(slots.end(), a.begin(), a.end());
  if (slots.empty()) return;
  ++steps_;
  std::sort(slots.begin(), slots.end());
  count_step(slots);
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (active[g].empty()) continue;
    if (config_.kind == OptimizerKind::kSGD)
      sgd_step(active[g], g);
    else
      adam_step(active[g], g);
  }
}

// torch.optim.Adam/AdamW (amsgrad=False, maximize=False), the foreach formulation.
void Optimizer::adam_step(const std::vector<size_t>& slots, size_t group) {
  const auto& c = groups_[group].options;
  const auto& device_lr = c.capturable ? device_lrs_[group] : torch::Tensor();
  auto& m_all = buffer("exp_avg");
  auto& v_all = buffer("exp_avg_sq");
  for (size_t s : slots)
    if (!m_all[s].defined()) {
      m_all[s] = torch::zeros_like(params_[s], at::MemoryFormat::Preserve);
      v_all[s] = torch::zeros_like(params_[s], at::MemoryFormat::Preserve);
    }
  auto params = pick(params_, slots);
  auto m = pick(m_all, slots);
  auto v = pick(v_all, slots);
  std::vector<torch::Tensor> grads;
  grads.reserve(slots.size());
  for (auto& p : params) grads.push_back(p.grad());

  if (c.weight_decay != 0.0) {
    if (c.kind != OptimizerKind::kAdamW)
      grads = at::_foreach_add(grads, params, c.weight_decay);
    else if (c.capturable)
      at::_foreach_mul_(params, repeat(device_lr.mul(-c.weight_decay).add_(1.0), params.size()));
    else
      at::_foreach_mul_(params, 1.0 - c.lr * c.weight_decay);
  }
  at::_foreach_mul_(m, c.beta1);
  at::_foreach_add_(m, grads, 1.0 - c.beta1);
  at::_foreach_mul_(v, c.beta2);
  at::_foreach_addcmul_(v, grads, grads, 1.0 - c.beta2);

  // p -= lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps), per group of slots with one step count.
  for (const auto& group : by_step_count(slots, slot_steps_)) {
    auto p_g = pick(params, group), m_g = pick(m, group), v_g = pick(v, group);
    auto denom = at::_foreach_sqrt(v_g);
    const size_t first = slots[group.front()];
    if (c.capturable) {
      const auto step = device_steps_.select(0, int64_t(first));
      const auto bias2_sqrt = (1.0 - at::pow(c.beta2, step)).sqrt();
      const auto neg_step_size = device_lr.neg().div(1.0 - at::pow(c.beta1, step));
      at::_foreach_div_(denom, repeat(bias2_sqrt, denom.size()));
      at::_foreach_add_(denom, c.eps);
      at::_foreach_div_(denom, repeat(neg_step_size, denom.size()));
      at::_foreach_addcdiv_(p_g, m_g, denom);
    } else {
      const double n = double(slot_steps_[first]);
      const double bias1 = 1.0 - std::pow(c.beta1, n);
      const double bias2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, n));
      at::_foreach_div_(denom, bias2_sqrt);
      at::_foreach_add_(denom, c.eps);
      at::_foreach_addcdiv_(p_g, m_g, denom, -c.lr / bias1);
    }
  }
}

void Optimizer::count_step(const std::vector<size_t>& slots) {
  for (size_t s : slots) ++slot_steps_[s];
  if (!config_.capturable) return;
  if (slots.size() == params_.size()) {
    device_steps_.add_(1.0);
    return;
  }
  if (slots != counted_slots_) {  // the trainable set changed (freeze/unfreeze): a new index
    counted_slots_ = slots;
    std::vector<int64_t> index(slots.begin(), slots.end());
    device_index_ = torch::tensor(index, torch::kInt64).to(device_steps_.device());
  }
  device_steps_.index_add_(0, device_index_,
                           torch::ones({int64_t(slots.size())}, device_steps_.options()));
}

// torch.optim.SGD: the momentum buffer starts as a copy of the first (decayed) gradient.
void Optimizer::sgd_step(const std::vector<size_t>& slots, size_t group) {
  const auto& c = groups_[group].options;
  const auto& device_lr = c.capturable ? device_lrs_[group] : torch::Tensor();
  auto params = pick(params_, slots);
  std::vector<torch::Tensor> grads;
  for (auto& p : params) grads.push_back(p.grad());
  if (c.weight_decay != 0.0) grads = at::_foreach_add(grads, params, c.weight_decay);
  if (c.momentum != 0.0) {
    auto& buf_all = buffer("momentum_buffer");
    std::vector<torch::Tensor> bufs;
    for (size_t k = 0; k < slots.size(); ++k) {
      auto& b = buf_all[slots[k]];
      if (!b.defined()) {
        b = grads[k].clone().detach();
      } else {
        b.mul_(c.momentum).add_(grads[k], 1.0 - c.dampening);
      }
      bufs.push_back(b);
    }
    if (c.nesterov)
      grads = at::_foreach_add(grads, bufs, c.momentum);
    else
      grads = bufs;
  }
  if (c.capturable)
    at::_foreach_addcmul_(params, grads, repeat(device_lr.neg(), params.size()));
  else
    at::_foreach_add_(params, grads, -c.lr);
}

std::map<std::string, torch::Tensor> Optimizer::state() const {
  std::map<std::string, torch::Tensor> out;
  out["step"] = torch::tensor(steps_, torch::kInt64);
  for (size_t s = 0; s < slot_steps_.size(); ++s)
    if (slot_steps_[s] > 0)
      out["step." + std::to_string(s)] = torch::tensor(slot_steps_[s], torch::kInt64);
  for (const auto& [name, tensors] : buffers_)
    for (size_t s = 0; s < tensors.size(); ++s)
      if (tensors[s].defined()) out[name + "." + std::to_string(s)] = tensors[s];
  return out;
}

void Optimizer::load_state(const std::map<std::string, torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::vector<torch::Tensor>> loaded;
  std::vector<int64_t> slot_steps(params_.size(), 0);
  bool has_slot_steps = false;
  int64_t steps = 0;
  for (const auto& [key, t] : state) {
    if (key == "step") {
      steps = t.item<int64_t>();
      continue;
    }
    const auto dot = key.rfind('.');
    const std::string name = key.substr(0, dot);
    if (dot == std::string::npos ||
        (name != "step" && name != "exp_avg" && name != "exp_avg_sq" && name != "momentum_buffer"))
      throw ConfigError("optimizer state has an unknown entry '" + key + "'");
    const size_t slot = std::stoul(key.substr(dot + 1));
    if (slot >= params_.size())
      throw ConfigError("optimizer state '" + key + "' does not fit this model (it has " +
                        std::to_string(params_.size()) + " parameters)");
    if (name == "step") {
      slot_steps[slot] = t.item<int64_t>();
      has_slot_steps = true;
      continue;
    }
    if (!t.sizes().equals(params_[slot].sizes()))
      throw ConfigError("optimizer state '" + key + "' does not fit this model (parameter " +
                        std::to_string(slot) + " has shape " + c10::str(params_[slot].sizes()) +
                        ")");
    auto& v = loaded[name];
    v.resize(params_.size());
    v[slot] = t.to(params_[slot].options()).clone();
  }
  if (!has_slot_steps)  // written before per-slot counts: every slot with state had taken every
                        // step
    for (const auto& [name, tensors] : loaded)
      for (size_t s = 0; s < tensors.size(); ++s)
        if (tensors[s].defined()) slot_steps[s] = steps;
  buffers_ = std::move(loaded);
  steps_ = steps;
  slot_steps_ = std::move(slot_steps);
  if (config_.capturable) {
    std::vector<double> counts(slot_steps_.begin(), slot_steps_.end());
    device_steps_.copy_(torch::tensor(counts, torch::kFloat64));
    counted_slots_.clear();
  }
}

}  // namespace greymatter::train
