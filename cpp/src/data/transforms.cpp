// Pipeline: validation of the chain's order, shape bookkeeping, the per-sample RNG, and the final
// ToTensor + Normalize write.
#include "greymatter/data/transforms.h"

#include <variant>

#include "greymatter/errors.h"
#include "transform_steps.h"

namespace greymatter::data {
namespace {

// Augmentation draws use their own stream so they never coincide with the shuffle's draws.
constexpr uint64_t kAugmentStream = 0xA7C3D2E1F0B49685ull;

std::vector<double> per_channel(const std::vector<double>& v, int64_t channels, const char* name) {
  if (v.size() == 1) return std::vector<double>(size_t(channels), v[0]);
  if (int64_t(v.size()) != channels)
    throw ConfigError(
        std::string("Normalize ") + name + " has " + std::to_string(v.size()) +
        " values but the images have " + std::to_string(channels) +
        " channels at that point (Grayscale() gives 1; give one value or one per channel)");
  return v;
}

}  // namespace

Pipeline::~Pipeline() = default;

Pipeline::Pipeline(const std::vector<TransformSpec>& specs, int64_t input_channels) {
  if (input_channels != 1 && input_channels != 3)
    throw ConfigError("input_channels must be 1 or 3, got " + std::to_string(input_channels));
  int64_t channels = input_channels;
  bool to_tensor = false;
  std::vector<std::pair<std::vector<double>, std::vector<double>>> normalizes;
  for (const auto& spec : specs) {
    if (std::holds_alternative<ToTensorOptions>(spec)) {
      if (to_tensor) throw ConfigError("ToTensor appears twice in the transform chain");
      to_tensor = true;
      continue;
    }
    if (const auto* normalize = std::get_if<NormalizeOptions>(&spec)) {
      if (!to_tensor) throw ConfigError("Normalize must come after ToTensor (it works on tensors)");
      if (normalize->mean.empty() || normalize->std.empty())
        throw ConfigError("Normalize needs mean and std");
      for (double v : normalize->std)
        if (v == 0.0) throw ConfigError("Normalize std must be non-zero");
      normalizes.emplace_back(per_channel(normalize->mean, channels, "mean"),
                              per_channel(normalize->std, channels, "std"));
      continue;
    }
    if (to_tensor)
      throw ConfigError(std::string(transform_name(spec)) +
                        " comes after ToTensor; greymatter runs image steps on uint8 pixels before "
                        "ToTensor (as torchvision does on PIL images): move it before ToTensor");
    auto step = make_step(spec, channels);
    channels = step->output_channels(channels);
    steps_.push_back(std::move(step));
  }
  out_channels_ = channels;
  prefix_ = 0;
  prefix_channels_ = input_channels;
  while (prefix_ < steps_.size() && !steps_[prefix_]->random())
    prefix_channels_ = steps_[prefix_++]->output_channels(prefix_channels_);
  fixed_size_ = false;
  for (const auto& s : steps_) {
    if (s->size_effect() == SizeEffect::kFixed) fixed_size_ = true;
    if (s->size_effect() == SizeEffect::kDepends) fixed_size_ = false;
  }
  // torchvision's arithmetic in float32: x = v / 255, then (x - mean) / std per Normalize.
  lut_.resize(size_t(out_channels_));
  for (int64_t c = 0; c < out_channels_; ++c) {
    for (int v = 0; v < 256; ++v) {
      float x = float(v) / 255.0f;
      for (const auto& [m, s] : normalizes) x = (x - float(m[size_t(c)])) / float(s[size_t(c)]);
      lut_[size_t(c)][size_t(v)] = x;
    }
  }
}

Size2 Pipeline::output_size(Size2 in) const {
  for (const auto& s : steps_) in = s->output_size(in);
  return in;
}

Size2 Pipeline::prefix_output_size(Size2 in) const {
  for (size_t i = 0; i < prefix_; ++i) in = steps_[i]->output_size(in);
  return in;
}

bool Pipeline::prefix_size_fixed() const {
  bool fixed = false;
  for (size_t i = 0; i < prefix_; ++i) {
    if (steps_[i]->size_effect() == SizeEffect::kFixed) fixed = true;
    if (steps_[i]->size_effect() == SizeEffect::kDepends) fixed = false;
  }
  return fixed;
}

Size2 Pipeline::first_resize_target(Size2 in) const {
  if (steps_.empty()) return {0, 0};
  const auto* resize = dynamic_cast<const ResizeStep*>(steps_.front().get());
  // Nearest-neighbour picks single source pixels: a smaller decode would change them.
  if (resize == nullptr || resize->mode() == Interpolation::kNearest) return {0, 0};
  return resize->output_size(in);
}

Image Pipeline::run_prefix(Image im, Size2 full) const {
  for (size_t i = 0; i < prefix_; ++i) {
    const auto* resize = i == 0 ? dynamic_cast<const ResizeStep*>(steps_[0].get()) : nullptr;
    if (resize != nullptr && (full.height != im.height || full.width != im.width))
      im = resize->apply_to(im, resize->output_size(full));
    else
      im = steps_[i]->apply(std::move(im), nullptr, nullptr);
  }
  return im;
}

Image Pipeline::run_random(Image im, uint64_t seed, int64_t epoch, int64_t index,
                           std::vector<StepTrace>* trace) const {
  if (prefix_ == steps_.size()) return im;
  CounterRng rng(mix64(seed ^ kAugmentStream), uint64_t(epoch), uint64_t(index));
  for (size_t i = prefix_; i < steps_.size(); ++i) {
    std::vector<double> params;
    im = steps_[i]->apply(std::move(im), &rng, trace ? &params : nullptr);
    if (trace && steps_[i]->random()) trace->push_back({steps_[i]->describe(), params});
  }
  return im;
}

void Pipeline::write(const Image& im, float* out) const {
  const int64_t plane = im.height * im.width, phys = im.channels;
  for (int64_t c = 0; c < out_channels_; ++c) {
    const float* lut = lut_[size_t(c)].data();
    const uint8_t* src = im.pixels.data() + (phys == 1 ? 0 : c);
    float* dst = out + c * plane;
    for (int64_t p = 0; p < plane; ++p) dst[p] = lut[src[p * phys]];
  }
}

std::string Pipeline::describe() const {
  std::string out;
  for (const auto& s : steps_) out += (out.empty() ? "" : " -> ") + s->describe();
  return out + (out.empty() ? "" : " -> ") + "ToTensor";
}

}  // namespace greymatter::data
