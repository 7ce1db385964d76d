#include "greymatter/train/engine.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <ATen/Parallel.h>

#include <cmath>

#include "greymatter/errors.h"

namespace greymatter::train {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const OptimizerConfig& c) {
  if (c.lr <= 0.0 || !std::isfinite(c.lr)) throw ConfigError("lr must be a positive number, got " + std::to_string(c.lr));
  if (c.name == "adam")
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  if (c.name == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  throw ConfigError("unknown optimizer '" + c.name + "'; choose one of: adam, sgd");
}

// Accumulates loss and correct counts on the device; one host read per epoch.
struct Meter {
  torch::Tensor loss_sum, correct;
  int64_t samples = 0, batches = 0;
  explicit Meter(torch::Device d)
      : loss_sum(torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(d))),
        correct(torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(d))) {}
  void add(const torch::Tensor& loss, const torch::Tensor& logits, const torch::Tensor& labels) {
    const int64_t b = labels.size(0);
    loss_sum.add_(loss.detach().to(torch::kFloat64) * b);
    correct.add_(logits.detach().argmax(1).eq(labels).sum());
    samples += b;
    ++batches;
  }
  EpochStats read(bool interrupted) const {
    EpochStats s;
    s.samples = samples;
    s.batches = batches;
    s.interrupted = interrupted;
    if (samples > 0) {
      s.loss = loss_sum.item<double>() / samples;
      s.accuracy = double(correct.item<int64_t>()) / samples;
    }
    return s;
  }
};

// Below this many multiply-adds per batch (forward + backward), splitting each op across threads
// costs more in synchronisation than it saves: MNISTNet at batch 64 (~21M) ran an epoch in 0.70 s on
// one thread and 1.65 s on two (docs/benchmarks.md).
constexpr double kMinMacsPerBatchForThreads = 1e8;

// Runs the loop on one intra-op thread when the model says its batches are small; restores after.
class ThreadBudget {
 public:
  ThreadBudget(const models::ModelImpl& model, int64_t batch_size, torch::Device device)
      : saved_(at::get_num_threads()) {
    const int64_t macs = model.macs_per_sample();
    if (device.is_cpu() && macs > 0 && 3.0 * double(macs) * double(batch_size) < kMinMacsPerBatchForThreads)
      at::set_num_threads(1);
  }
  ~ThreadBudget() {
    if (at::get_num_threads() != saved_) at::set_num_threads(saved_);
  }

 private:
  int saved_;
};

bool report(const ProgressFn& progress, int64_t done, int64_t total, int64_t every) {
  if (!progress || (done % every != 0 && done != total)) return true;
  return progress(done, total);
}

}  // namespace

Engine::Engine(std::shared_ptr<models::ModelImpl> model, const OptimizerConfig& optimizer, torch::Device device)
    : model_(std::move(model)), device_(device) {
  if (!model_) throw ConfigError("Engine needs a model");
  model_->to(device_);
  std::vector<torch::Tensor> trainable;
  for (auto& p : model_->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  if (trainable.empty()) throw ConfigError("the model has no trainable parameters");
  optimizer_ = make_optimizer(trainable, optimizer);
}

double Engine::lr() const {
  const auto& group = optimizer_->param_groups().front();
  return group.options().get_lr();
}

void Engine::set_lr(double lr) {
  if (lr <= 0.0 || !std::isfinite(lr)) throw ConfigError("lr must be a positive number, got " + std::to_string(lr));
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

EpochStats Engine::train_epoch(const data::Loader& loader, int64_t epoch, const ProgressFn& progress, int64_t every) {
  model_->train();
  ThreadBudget threads(*model_, loader.options().batch_size, device_);
  Meter meter(device_);
  auto it = loader.epoch(epoch);
  const int64_t total = it->num_batches();
  bool stopped = false;
  while (auto batch = it->next()) {
    auto x = batch->images.to(device_, /*non_blocking=*/true);
    auto y = batch->labels.to(device_, /*non_blocking=*/true);
    optimizer_->zero_grad();
    auto logits = model_->forward(x);
    auto loss = torch::nn::functional::cross_entropy(logits, y);
    if (device_.is_cpu() && !std::isfinite(loss.item<float>()))
      throw TrainingError("loss became " + std::to_string(loss.item<float>()) + " at epoch " + std::to_string(epoch + 1) +
                          ", batch " + std::to_string(meter.batches + 1) +
                          "; lower the learning rate or check the inputs for NaN");
    loss.backward();
    optimizer_->step();
    meter.add(loss, logits, y);
    if (!report(progress, meter.batches, total, every)) {
      stopped = true;
      break;
    }
  }
  return meter.read(stopped);
}

EpochStats Engine::evaluate(const data::Loader& loader, const ProgressFn& progress, int64_t every) {
  torch::NoGradGuard no_grad;
  model_->eval();
  ThreadBudget threads(*model_, loader.options().batch_size, device_);
  Meter meter(device_);
  auto it = loader.epoch(0);
  const int64_t total = it->num_batches();
  bool stopped = false;
  while (auto batch = it->next()) {
    auto x = batch->images.to(device_, true);
    auto y = batch->labels.to(device_, true);
    auto logits = model_->forward(x);
    meter.add(torch::nn::functional::cross_entropy(logits, y), logits, y);
    if (!report(progress, meter.batches, total, every)) {
      stopped = true;
      break;
    }
  }
  return meter.read(stopped);
}

}  // namespace greymatter::train
