#include "greymatter/train/engine.h"

#include <ATen/autocast_mode.h>

#include <cmath>

#include "greymatter/errors.h"
#include "greymatter/train/loop_checks.h"
#include "greymatter/train/stop.h"
#include "greymatter/train/thread_budget.h"

namespace greymatter::train {
namespace {

// Accumulates loss and correct counts on the device; one host read per epoch.
struct Meter {
  torch::Tensor loss_sum, correct;
  int64_t samples = 0, batches = 0, skipped = 0;
  explicit Meter(torch::Device d)
      : loss_sum(torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(d))),
        correct(torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(d))) {}
  void add(const Loss& loss_fn, const torch::Tensor& loss, const torch::Tensor& output,
           const torch::Tensor& labels) {
    const int64_t b = labels.size(0);
    loss_sum.add_(loss.detach().to(torch::kFloat64) * b);
    correct.add_(loss_fn.correct(output.detach(), labels));
    samples += b;
  }
  EpochStats read(bool interrupted) const {
    EpochStats s;
    s.samples = samples;
    s.batches = batches;
    s.skipped = skipped;
    s.interrupted = interrupted;
    if (samples > 0) {
      s.loss = loss_sum.item<double>() / samples;
      s.accuracy = double(correct.item<int64_t>()) / samples;
    }
    return s;
  }
};

// bf16 autocast for the forward pass and the loss on CUDA (bf16 keeps fp32's range, so no loss
// scaling); restores the previous state on exit. A no-op on CPU, so the CPU test suite never
// enters it: tests/test_cuda.py covers it, and is skipped where torch sees no GPU.
class Autocast {
 public:
  Autocast(bool on, torch::Device device) : active_(on && device.is_cuda()) {
    if (!active_) return;
    was_enabled_ = at::autocast::is_enabled();
    saved_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(saved_dtype_);
  }

 private:
  bool active_;
  bool was_enabled_ = false;
  at::ScalarType saved_dtype_ = at::kHalf;
};

// After every batch: false stops the loop. A stop request (Ctrl-C) is seen here at once; the
// progress callback, which costs a GIL round trip, runs only every `every` batches.
bool report(const ProgressFn& progress, int64_t done, int64_t total, int64_t every) {
  if (stop_requested()) return false;
  if (!progress || (every > 1 && done % every != 0 && done != total)) return true;
  return progress(done, total);
}

}  // namespace

Engine::Engine(std::shared_ptr<Network> network, EngineOptions options, torch::Device device)
    : network_(std::move(network)),
      options_(std::move(options)),
      loss_(options_.loss),
      device_(device) {
  if (!network_) throw ConfigError("Engine needs a model");
  check_accumulate(options_.accumulate);
  network_->to(device_);
  options_.optimizer.capturable = options_.capturable.value_or(device_.is_cuda());
  // All parameters: the optimizer updates those with a gradient, so freeze()/unfreeze() between
  // epochs needs no new optimizer.
  optimizer_ = std::make_unique<Optimizer>(network_->parameters(), options_.optimizer);
}

void Engine::set_scheduler(const SchedulerConfig& config) {
  if (config.kind == SchedulerKind::kNone) {
    scheduler_.reset();
    return;
  }
  scheduler_ = std::make_unique<Scheduler>(config, optimizer_->lrs());
  optimizer_->set_lrs(scheduler_->initial_lrs());
  if (auto momentum = scheduler_->momentum())
    optimizer_->set_momenta(std::vector<double>(optimizer_->groups().size(), *momentum));
}

void Engine::set_class_weights(std::vector<double> weights) {
  LossConfig config = options_.loss;
  config.class_weights = std::move(weights);
  loss_ = Loss(config);
  options_.loss = std::move(config);
}

double Engine::scheduler_epoch_end(std::optional<double> metric) {
  if (scheduler_)
    if (auto lrs = scheduler_->after_epoch(metric, optimizer_->lrs())) optimizer_->set_lrs(*lrs);
  return optimizer_->lr();
}

FeatureSplit* Engine::frozen_split() const {
  auto* split = network_->feature_split();
  return split && split->frozen() ? split : nullptr;
}

int64_t Engine::macs_per_sample(const data::Loader& loader) const {
  // On cached features only the head runs: its cost is not the model's.
  return head_only_ ? -1 : network_->macs_per_sample(loader.source().sample_shape());
}

void Engine::set_head_only(bool on) {
  if (on && !frozen_split())
    throw ConfigError(
        "feature caching needs a model with a frozen backbone (TransferClassifier, freeze=True)");
  head_only_ = on;
}

torch::Tensor Engine::forward(const torch::Tensor& input) {
  auto x = input;
  if (options_.amp && device_.is_cuda() && x.dim() == 4 &&
      network_->takes_channels_last(x.sizes().slice(1).vec()))
    x = x.contiguous(at::MemoryFormat::ChannelsLast);
  if (!head_only_) return network_->forward(x);
  auto* split = frozen_split();
  if (!split) throw ConfigError("the backbone was unfrozen: its cached features are stale");
  return split->forward_head(x);
}

torch::Tensor Engine::evaluation_output(const torch::Tensor& input) {
  if (tta_.empty()) return forward(input);
  if (head_only_)
    throw ConfigError("test-time augmentation needs images; this loop runs on cached features");
  return loss_.output_for(
      tta_.probabilities([this](const torch::Tensor& x) { return forward(x); }, loss_, input));
}

Predictions Engine::features(const data::Loader& loader, const ProgressFn& progress,
                             int64_t every) {
  auto* split = frozen_split();
  if (!split)
    throw ConfigError(
        "feature caching needs a model with a frozen backbone (TransferClassifier, freeze=True)");
  torch::NoGradGuard no_grad;
  network_->train(false);
  std::vector<torch::Tensor> feats, labels;
  auto it = loader.epoch(0);
  const int64_t total = it->num_batches();
  int64_t done = 0;
  while (auto batch = it->next()) {
    feats.push_back(
        split->forward_features(batch->images.to(device_, true)).to(torch::kCPU, torch::kFloat32));
    labels.push_back(batch->labels.clone());
    if (!report(progress, ++done, total, every))
      throw TrainingError("feature caching was interrupted");
  }
  if (feats.empty())
    return {torch::empty({0, split->feature_dim()}), torch::empty({0}, torch::kInt64)};
  return {torch::cat(feats), torch::cat(labels)};
}

void Engine::optimizer_step() {
  optimizer_->step();
  optimizer_->zero_grad();
  if (!scheduler_) return;
  if (auto lrs = scheduler_->after_step()) optimizer_->set_lrs(*lrs);
  if (auto momentum = scheduler_->momentum())
    optimizer_->set_momenta(std::vector<double>(optimizer_->groups().size(), *momentum));
}

EpochStats Engine::train_epoch(const data::Loader& loader, int64_t epoch,
                               const ProgressFn& progress, int64_t every) {
  check_trainable(network_->parameters());
  network_->train(true);
  ThreadBudget threads(macs_per_sample(loader), loader.options().batch_size, device_);
  Meter meter(device_);
  auto it = loader.epoch(epoch);
  const int64_t total = it->num_batches();
  const int64_t accumulate = options_.accumulate;
  int64_t pending = 0;  // backward passes since the last optimizer step
  bool stopped = false;
  optimizer_->zero_grad();
  while (auto batch = it->next()) {
    ++meter.batches;
    auto x = batch->images.to(device_, /*non_blocking=*/true);
    auto y = batch->labels.to(device_, /*non_blocking=*/true);
    torch::Tensor output, loss;
    {
      Autocast autocast(options_.amp, device_);
      output = forward(x);
      if (meter.batches == 1)
        loss_.check(output, y);
      else
        loss_.check_labels(batch->labels, output.dim() == 2 ? output.size(1) : 1);
      loss = loss_(output, y);
    }
    const float value = loss.item<float>();
    if (!std::isfinite(value)) {
      if (options_.non_finite == NonFinite::kRaise)
        throw_non_finite_loss(value, epoch, meter.batches);
      ++meter.skipped;  // drop this batch and whatever it would have been accumulated with
      optimizer_->zero_grad();
      pending = 0;
    } else {
      (accumulate > 1 ? loss / double(accumulate) : loss).backward();
      meter.add(loss_, loss, output, y);
      if (++pending == accumulate) {
        optimizer_step();
        pending = 0;
      }
    }
    if (!report(progress, meter.batches, total, every)) {
      stopped = true;
      break;
    }
  }
  if (pending > 0 && !stopped) optimizer_step();  // the epoch's last, shorter accumulation
  optimizer_->zero_grad();
  return meter.read(stopped);
}

EpochStats Engine::evaluate(const data::Loader& loader, const ProgressFn& progress, int64_t every) {
  torch::NoGradGuard no_grad;
  network_->train(false);
  ThreadBudget threads(macs_per_sample(loader), loader.options().batch_size, device_);
  Meter meter(device_);
  auto it = loader.epoch(0);
  const int64_t total = it->num_batches();
  bool stopped = false;
  while (auto batch = it->next()) {
    ++meter.batches;
    auto x = batch->images.to(device_, true);
    auto y = batch->labels.to(device_, true);
    Autocast autocast(options_.amp, device_);
    auto output = evaluation_output(x);
    if (meter.batches == 1)
      loss_.check(output, y);
    else
      loss_.check_labels(batch->labels, output.dim() == 2 ? output.size(1) : 1);
    meter.add(loss_, loss_(output, y), output, y);
    if (!report(progress, meter.batches, total, every)) {
      stopped = true;
      break;
    }
  }
  return meter.read(stopped);
}

Predictions Engine::predict(const data::Loader& loader, const ProgressFn& progress, int64_t every) {
  torch::NoGradGuard no_grad;
  network_->train(false);
  ThreadBudget threads(macs_per_sample(loader), loader.options().batch_size, device_);
  std::vector<torch::Tensor> probs, labels;
  auto it = loader.epoch(0);
  const int64_t total = it->num_batches();
  int64_t done = 0;
  while (auto batch = it->next()) {
    auto output = evaluation_output(batch->images.to(device_, true));
    if (done == 0) loss_.check(output, batch->labels.to(device_));
    probs.push_back(loss_.probabilities(output).to(torch::kCPU, torch::kFloat32));
    labels.push_back(batch->labels.clone());  // the batch buffer is reused by the loader
    if (!report(progress, ++done, total, every)) break;
  }
  if (probs.empty()) return {torch::empty({0, 0}), torch::empty({0}, torch::kInt64)};
  return {torch::cat(probs), torch::cat(labels)};
}

}  // namespace greymatter::train
