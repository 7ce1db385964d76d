#include "greymatter/train/optimizer.h"

#include <ATen/Functions.h>
#include <torch/autograd.h>

#include <cmath>

#include "greymatter/errors.h"

namespace greymatter::train {
namespace {

std::vector<torch::Tensor> pick(const std::vector<torch::Tensor>& all, const std::vector<size_t>& slots) {
  std::vector<torch::Tensor> out;
  out.reserve(slots.size());
  for (size_t s : slots) out.push_back(all[s]);
  return out;
}

void check_range(const std::string& name, double v, double lo, double hi, bool hi_open) {
  if (!std::isfinite(v) || v < lo || (hi_open ? v >= hi : v > hi))
    throw ConfigError(name + " must be in [" + c10::str(lo) + ", " + c10::str(hi) + (hi_open ? ")" : "]") +
                      ", got " + c10::str(v));
}

}  // namespace

void validate(const OptimizerConfig& c) {
  if (c.name != "adam" && c.name != "adamw" && c.name != "sgd")
    throw ConfigError("unknown optimizer '" + c.name + "'; choose one of: adam, adamw, sgd");
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) throw ConfigError("lr must be a positive number, got " + c10::str(c.lr));
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
    : params_(std::move(params)), config_(std::move(config)) {
  validate(config_);
}

void Optimizer::set_lr(double lr) {
  if (!(lr > 0.0) || !std::isfinite(lr)) throw ConfigError("lr must be a positive number, got " + c10::str(lr));
  config_.lr = lr;
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
  std::vector<size_t> slots;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].requires_grad() && params_[i].grad().defined()) slots.push_back(i);
  if (slots.empty()) return;
  ++steps_;
  if (config_.name == "sgd")
    sgd_step(slots);
  else
    adam_step(slots);
}

// torch.optim.Adam/AdamW (amsgrad=False, maximize=False), the foreach formulation.
void Optimizer::adam_step(const std::vector<size_t>& slots) {
  const auto& c = config_;
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
    if (c.name == "adamw")
      at::_foreach_mul_(params, 1.0 - c.lr * c.weight_decay);
    else
      grads = at::_foreach_add(grads, params, c.weight_decay);
  }
  at::_foreach_mul_(m, c.beta1);
  at::_foreach_add_(m, grads, 1.0 - c.beta1);
  at::_foreach_mul_(v, c.beta2);
  at::_foreach_addcmul_(v, grads, grads, 1.0 - c.beta2);

  const double bias1 = 1.0 - std::pow(c.beta1, double(steps_));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(c.beta2, double(steps_)));
  auto denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, bias2_sqrt);
  at::_foreach_add_(denom, c.eps);
  at::_foreach_addcdiv_(params, m, denom, -c.lr / bias1);
}

// torch.optim.SGD: the momentum buffer starts as a copy of the first (decayed) gradient.
void Optimizer::sgd_step(const std::vector<size_t>& slots) {
  const auto& c = config_;
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
  at::_foreach_add_(params, grads, -c.lr);
}

std::map<std::string, torch::Tensor> Optimizer::state() const {
  std::map<std::string, torch::Tensor> out;
  out["step"] = torch::tensor(steps_, torch::kInt64);
  for (const auto& [name, tensors] : buffers_)
    for (size_t s = 0; s < tensors.size(); ++s)
      if (tensors[s].defined()) out[name + "." + std::to_string(s)] = tensors[s];
  return out;
}

void Optimizer::load_state(const std::map<std::string, torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::vector<torch::Tensor>> loaded;
  int64_t steps = 0;
  for (const auto& [key, t] : state) {
    if (key == "step") {
      steps = t.item<int64_t>();
      continue;
    }
    const auto dot = key.rfind('.');
    const std::string name = key.substr(0, dot);
    if (dot == std::string::npos || (name != "exp_avg" && name != "exp_avg_sq" && name != "momentum_buffer"))
      throw ConfigError("optimizer state has an unknown entry '" + key + "'");
    const size_t slot = std::stoul(key.substr(dot + 1));
    if (slot >= params_.size() || !t.sizes().equals(params_[slot].sizes()))
      throw ConfigError("optimizer state '" + key + "' does not fit this model (parameter " + std::to_string(slot) +
                        " has shape " + c10::str(slot < params_.size() ? params_[slot].sizes() : at::IntArrayRef{}) +
                        ")");
    auto& v = loaded[name];
    v.resize(params_.size());
    v[slot] = t.to(params_[slot].options()).clone();
  }
  buffers_ = std::move(loaded);
  steps_ = steps;
}

}  // namespace greymatter::train
