// Private to the data library: the uint8 steps a Pipeline chains. Each step knows its output size
// and channel count without pixels (so shapes and cache sizes are known before decoding), and
// random steps draw their parameters from the sample's CounterRng in torchvision's order
// (get_params), so each draw's distribution is torchvision's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "greymatter/data/image.h"
#include "greymatter/data/random.h"
#include "greymatter/data/resample.h"
#include "greymatter/data/transforms.h"

namespace greymatter::data {

enum class SizeEffect {
  kKeeps,    // output size == input size (flip, rotation, colour)
  kFixed,    // output size set by the step (CenterCrop, Resize((h, w)), RandomResizedCrop)
  kDepends,  // output size depends on the input's (Resize(int) keeps the aspect ratio)
};

class Step {
 public:
  virtual ~Step() = default;
  virtual std::string describe() const = 0;
  virtual bool random() const { return false; }
  virtual SizeEffect size_effect() const { return SizeEffect::kKeeps; }
  virtual Size2 output_size(Size2 in) const { return in; }
  // torchvision's channel count after this step (the image may physically stay one grey channel).
  virtual int64_t output_channels(int64_t in) const { return in; }
  // rng is non-null for random steps; params, when non-null, receives the values drawn.
  virtual Image apply(Image im, CounterRng* rng, std::vector<double>* params) const = 0;
};

class ResizeStep : public Step {
 public:
  ResizeStep(std::vector<int64_t> size, Interpolation mode, int64_t max_size);
  std::string describe() const override;
  SizeEffect size_effect() const override {
    return size_.size() == 2 ? SizeEffect::kFixed : SizeEffect::kDepends;
  }
  Size2 output_size(Size2 in) const override;
  Image apply(Image im, CounterRng* rng, std::vector<double>* params) const override;
  // Resizes to `target` (computed from the full-size image when the decode was reduced).
  Image apply_to(const Image& im, Size2 target) const;
  Interpolation mode() const { return mode_; }

 private:
  std::vector<int64_t> size_;  // {shorter side} or {h, w}
  Interpolation mode_;
  int64_t max_size_;  // 0: none
};

// Builds one step from its description; `channels` is torchvision's channel count at that point.
// Throws ConfigError for unknown steps and bad or unsupported arguments.
std::unique_ptr<Step> make_step(const TransformSpec& spec, int64_t channels);

}  // namespace greymatter::data
