// Engine: the training and evaluation loops over a Loader, entirely in C++ (the bindings release
// the GIL around them): forward, loss, backward, optimizer step (with gradient accumulation), the
// per-step part of a schedule, and metrics kept on the model's device and read once per epoch.
// It trains a Network (network.h): a greymatter model, or whatever the bindings adapt to one.
// Not here: per-epoch decisions (plateau LR, early stopping, checkpoints) — the Python Trainer
// makes them between epochs.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "greymatter/data/loader.h"
#include "greymatter/models/model.h"
#include "greymatter/train/loss.h"
#include "greymatter/train/network.h"
#include "greymatter/train/optimizer.h"
#include "greymatter/train/scheduler.h"
#include "greymatter/train/tta.h"

namespace greymatter::train {

// What a batch with a NaN/inf loss does: raise a TrainingError, or skip the batch (no update).
enum class NonFinite { kRaise, kSkip };

struct EngineOptions {
  OptimizerConfig optimizer;
  LossConfig loss;
  int64_t accumulate = 1;  // optimizer step every N batches (and after the last)
  NonFinite non_finite = NonFinite::kRaise;
  bool amp = true;  // on CUDA: bf16 autocast around forward + loss, channels_last inputs; not CPU
  // Optimizer step counts and lr as device tensors (OptimizerConfig::capturable); unset: on CUDA
  // only.
  std::optional<bool> capturable;
};

struct EpochStats {
  double loss = 0.0;      // mean loss over the samples seen
  double accuracy = 0.0;  // fraction of samples the loss's rule counts as correct
  int64_t samples = 0;
  int64_t batches = 0;
  int64_t skipped = 0;       // batches dropped for a non-finite loss (NonFinite::kSkip)
  bool interrupted = false;  // the progress callback or a stop request (stop.h) ended it early
};

struct Predictions {
  torch::Tensor probabilities;  // (N, C) float32 on the CPU; (N, 1) for a binary model
  torch::Tensor labels;         // (N) int64
};

// Called after every `every` batches (and after the last) with (batches done, batches in epoch).
// Returning false stops the loop after the current batch. Independently of it, every loop checks
// the stop request of stop.h after each batch.
using ProgressFn = std::function<bool(int64_t, int64_t)>;

class Engine {
 public:
  Engine(std::shared_ptr<Network> network, EngineOptions options, torch::Device device);
  Engine(std::shared_ptr<models::ModelImpl> model, EngineOptions options, torch::Device device)
      : Engine(model_network(std::move(model)), std::move(options), device) {}

  // `epoch` is 0-based (it seeds the shuffle); messages count epochs from 1, as History does.
  EpochStats train_epoch(const data::Loader& loader, int64_t epoch, const ProgressFn& progress = {},
                         int64_t every = 50);
  EpochStats evaluate(const data::Loader& loader, const ProgressFn& progress = {},
                      int64_t every = 50);
  Predictions predict(const data::Loader& loader, const ProgressFn& progress = {},
                      int64_t every = 50);

  // Feature caching for a model with a frozen backbone (TransferClassifier): features() runs the
  // backbone once over `loader` (in its order, eval mode, no autograd); with head_only set, the
  // loops above take such features as their input and run only the model's head.
  Predictions features(const data::Loader& loader, const ProgressFn& progress = {},
                       int64_t every = 50);
  void set_head_only(bool on);
  bool head_only() const { return head_only_; }

  // Test-time augmentation for evaluate() and predict() (not training): their outputs become the
  // mean probabilities over the views (tta.h), and evaluate's loss and accuracy score that mean.
  void set_tta(TestTimeAugmentation tta) { tta_ = std::move(tta); }
  const TestTimeAugmentation& tta() const { return tta_; }

  double lr() const { return optimizer_->lr(); }  // the first parameter group's
  void set_lr(double lr) { optimizer_->set_lr(lr); }
  // Replaces the schedule; the optimizer's lrs (one per parameter group) become the schedule's
  // base lrs, and the schedule's starting lrs (and momentum) become the optimizer's.
  void set_scheduler(const SchedulerConfig& config);
  Scheduler* scheduler() { return scheduler_.get(); }
  // End of an epoch: lets the schedule change the lrs (plateau reads `metric`). Returns the first
  // group's lr.
  double scheduler_epoch_end(std::optional<double> metric);

  Optimizer& optimizer() { return *optimizer_; }
  const Loss& loss() const { return loss_; }
  // Replaces the loss's class weights (checked as at construction): weights computed from the
  // training labels are known only when training starts.
  void set_class_weights(std::vector<double> weights);
  const EngineOptions& options() const { return options_; }

 private:
  void optimizer_step();
  torch::Tensor forward(const torch::Tensor& input);
  torch::Tensor evaluation_output(const torch::Tensor& input);  // forward, with TTA when set
  FeatureSplit* frozen_split() const;  // the network's split when its backbone is frozen, else null
  int64_t macs_per_sample(const data::Loader& loader) const;

  std::shared_ptr<Network> network_;
  EngineOptions options_;
  Loss loss_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Scheduler> scheduler_;
  torch::Device device_;
  bool head_only_ = false;
  TestTimeAugmentation tta_;
};

}  // namespace greymatter::train
