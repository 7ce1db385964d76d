// Engine: the training and evaluation loops over a Loader, entirely in C++ (the bindings release
// the GIL around them). Loss sums and correct counts stay on the model's device and are read once
// per epoch. Not here: schedulers, early stopping, checkpoints (the Python Trainer decides per epoch).
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>

#include "greymatter/data/loader.h"
#include "greymatter/models/model.h"

namespace greymatter::train {

struct OptimizerConfig {
  std::string name = "adam";  // "adam" | "sgd"
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.0;  // sgd only
};

struct EpochStats {
  double loss = 0.0;      // mean cross-entropy over the samples seen
  double accuracy = 0.0;  // fraction of samples whose argmax equals the label
  int64_t samples = 0;
  int64_t batches = 0;
  bool interrupted = false;  // the progress callback asked to stop
};

// Called after every `every` batches (and after the last) with (batches done, batches in epoch).
// Returning false stops the loop after the current batch.
using ProgressFn = std::function<bool(int64_t, int64_t)>;

class Engine {
 public:
  Engine(std::shared_ptr<models::ModelImpl> model, const OptimizerConfig& optimizer, torch::Device device);

  // `epoch` is 0-based (it seeds the shuffle); messages count epochs from 1, as History does.
  EpochStats train_epoch(const data::Loader& loader, int64_t epoch, const ProgressFn& progress = {},
                         int64_t every = 50);
  EpochStats evaluate(const data::Loader& loader, const ProgressFn& progress = {}, int64_t every = 50);

  double lr() const;
  void set_lr(double lr);
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

 private:
  std::shared_ptr<models::ModelImpl> model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  torch::Device device_;
};

}  // namespace greymatter::train
