// Capture (see capture.h): attaching the state to every model inside the captured one, recording
// at the taps, and the check that every asked-for name was passed.
#include "greymatter/models/capture.h"

#include <c10/core/GradMode.h>

#include <algorithm>

#include "greymatter/errors.h"
#include "greymatter/models/printout.h"

namespace greymatter::models {

torch::Tensor ModelImpl::record(const std::string& name, torch::Tensor y) {
  auto& state = *capture_;
  const std::string full = tap_prefix_ + name;
  state.seen.push_back(full);
  if (!state.wanted.empty() && !state.wanted.count(full)) return y;
  if (!y.requires_grad() && c10::GradMode::is_enabled() && y.is_floating_point())
    y = y.detach().requires_grad_();
  // The rest of the forward gets a copy: layers after this one may work in place (ReLU after the
  // pool) and must not change what was recorded.
  auto kept = std::find_if(state.recorded.begin(), state.recorded.end(),
                           [&](const auto& entry) { return entry.first == full; });
  if (kept != state.recorded.end())
    kept->second = y;
  else
    state.recorded.emplace_back(full, y);
  return y.clone();
}

CaptureScope::CaptureScope(ModelImpl& model, CaptureState& state) {
  for (const auto& item : model.named_modules("", /*include_self=*/true)) {
    auto* inner = dynamic_cast<ModelImpl*>(item.value().get());
    if (!inner) continue;
    if (inner->capture_) {
      for (auto* m : attached_) m->capture_ = nullptr;
      throw ConfigError(class_name(model) + " is already being captured");
    }
    inner->capture_ = &state;
    inner->tap_prefix_ = item.key().empty() ? "" : item.key() + ".";
    attached_.push_back(inner);
  }
}

CaptureScope::~CaptureScope() {
  for (auto* m : attached_) m->capture_ = nullptr;
}

Captured capture(ModelImpl& model, const torch::Tensor& x, const std::vector<std::string>& layers) {
  CaptureState state;
  state.wanted.insert(layers.begin(), layers.end());
  Captured out;
  {
    CaptureScope scope(model, state);
    out.output = model.forward(x);
  }
  std::vector<std::string> missing;
  for (const auto& name : layers)
    if (std::find(state.seen.begin(), state.seen.end(), name) == state.seen.end())
      missing.push_back(name);
  std::vector<std::string> names;
  for (const auto& name : state.seen)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  if (!missing.empty()) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    throw ConfigError(class_name(model) + " has no layer '" + missing.front() +
                      "' to capture; its layers: " + list);
  }
  out.activations = std::move(state.recorded);
  out.layers = std::move(names);
  return out;
}

}  // namespace greymatter::models
