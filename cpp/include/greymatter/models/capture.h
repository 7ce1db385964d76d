// Capture: the intermediate outputs of a greymatter model's forward pass, by layer name, for one
// call (activations for feature maps; with autograd on, still in the graph, so their gradients
// can be taken, as Grad-CAM does). Every model passes its layers' outputs through
// ModelImpl::tap(name, y); a model nested in another (a TransferClassifier's base_model) reports
// under its path ("base_model.features.18"). Outside a capture a tap costs one pointer test.
// Not here: Grad-CAM itself or pictures (Python's greymatter.plots); hooks on plain PyTorch
// modules (Python's greymatter.models.capture).
#pragma once

#include <torch/types.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "greymatter/models/model.h"

namespace greymatter::models {

struct CaptureState {
  std::set<std::string> wanted;  // empty: every tap
  std::vector<std::pair<std::string, torch::Tensor>> recorded;
  std::vector<std::string> seen;  // every tap passed, in forward order
};

// Attaches a CaptureState to `model` and every greymatter model inside it for its lifetime; one
// capture at a time per model (ConfigError otherwise). Not thread-safe: the model must not run
// elsewhere meanwhile.
class CaptureScope {
 public:
  CaptureScope(ModelImpl& model, CaptureState& state);
  ~CaptureScope();
  CaptureScope(const CaptureScope&) = delete;
  CaptureScope& operator=(const CaptureScope&) = delete;

 private:
  std::vector<ModelImpl*> attached_;
};

struct Captured {
  torch::Tensor output;
  std::vector<std::pair<std::string, torch::Tensor>> activations;  // in forward order
  std::vector<std::string> layers;                                 // every name that can be asked
};

// Runs model.forward(x) and returns the outputs of the layers named in `layers` (all when empty).
// A recorded output is a copy that stays in the autograd graph when grad mode is on: when it did
// not require grad (a frozen backbone), it becomes a leaf that does, so the gradient of the output
// with respect to it exists. A name the forward pass never tapped is a ConfigError listing the
// names it has. A layer run several times (none of the built-in models has one) keeps its last
// output.
Captured capture(ModelImpl& model, const torch::Tensor& x, const std::vector<std::string>& layers);

}  // namespace greymatter::models
