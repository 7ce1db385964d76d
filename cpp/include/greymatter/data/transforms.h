// The transform chain as the C++ pipeline runs it. A chain is built once from its steps' options
// (TransformSpec, transform_options.h) and validated then: a bad argument or an unsupported order
// throws ConfigError at construction, never mid-epoch. Running it is: the deterministic prefix (the
// steps before the first random one, what a cache may keep), the random rest with every draw from a
// counter-based RNG keyed by (seed, epoch, index), and one final pass that writes ToTensor +
// Normalize as float CHW through a 256-entry table per channel. Supported steps: Resize,
// CenterCrop, RandomResizedCrop, RandomHorizontalFlip, RandomVerticalFlip, RandomRotation,
// ColorJitter, Grayscale (uint8, before ToTensor), then ToTensor and Normalize. ToTensor is implied
// when absent. Not here: decoding (decode.h) or which samples exist (image_folder.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "greymatter/data/image.h"
#include "greymatter/data/transform_options.h"

namespace greymatter::data {

// The parameters one random step drew for one sample (for tests and debugging).
struct StepTrace {
  std::string name;
  std::vector<double> params;
};

struct Size2 {
  int64_t height = 0;
  int64_t width = 0;
  bool operator==(const Size2& o) const { return height == o.height && width == o.width; }
  bool operator!=(const Size2& o) const { return !(*this == o); }
};

class Step;  // one uint8 step (transform_steps.h, private)

class Pipeline {
 public:
  // input_channels: channels of the images fed in, as torchvision sees them: 3 for image files
  // (PIL's convert("RGB")), 1 for MNIST-style data (mode "L").
  Pipeline(const std::vector<TransformSpec>& specs, int64_t input_channels);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  int64_t output_channels() const { return out_channels_; }
  // The size the chain produces from an input of `in`; `fixed` tells whether it ignores `in`.
  Size2 output_size(Size2 in) const;
  bool output_size_fixed() const { return fixed_size_; }
  // The size after the deterministic prefix (what a cache stores), and whether it ignores `in`.
  Size2 prefix_output_size(Size2 in) const;
  bool prefix_size_fixed() const;
  int64_t prefix_output_channels() const { return prefix_channels_; }
  bool prefix_is_empty() const { return prefix_ == 0; }
  bool has_random_steps() const { return prefix_ < steps_.size(); }
  // When the chain starts with a Resize: the size it produces from `in` (the full-size decode), so
  // the decoder may shrink a JPEG towards it. {0, 0} otherwise.
  Size2 first_resize_target(Size2 in) const;

  // Runs the prefix. `full` is the size of the full-resolution decode: a reduced JPEG decode is
  // smaller, and the first Resize must still produce what it would from the full image.
  Image run_prefix(Image im, Size2 full) const;
  // Runs the random steps with draws keyed by (seed, epoch, index); records them into `trace` if
  // given.
  Image run_random(Image im, uint64_t seed, int64_t epoch, int64_t index,
                   std::vector<StepTrace>* trace) const;
  // ToTensor + Normalize: (H, W, C) uint8 -> (output_channels, H, W) float; a grey image is
  // widened.
  void write(const Image& im, float* out) const;

  std::string describe() const;  // "Resize(...) -> CenterCrop(...) -> ToTensor -> Normalize"

 private:
  std::vector<std::unique_ptr<Step>> steps_;
  size_t prefix_ = 0;  // steps_[0, prefix_) are deterministic
  int64_t out_channels_ = 3;
  int64_t prefix_channels_ = 3;  // torchvision's channel count after the prefix
  bool fixed_size_ = false;
  std::vector<std::array<float, 256>> lut_;  // per output channel: uint8 -> normalized float
};

}  // namespace greymatter::data
