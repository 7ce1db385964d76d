// The options of each transform step, one struct per torchvision transform with torchvision's
// argument names and defaults (0.14). A chain is a list of TransformSpec, each holding one of them;
// Pipeline (transforms.h) checks the values (ranges, sizes, order) when it is built, so a bad chain
// fails before any image is read. Python's greymatter.transforms builds these structs through the
// bindings. Not here: running the steps (transform_steps.cpp) or the chain (transforms.h).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "greymatter/data/resample.h"

namespace greymatter::data {

using Range = std::pair<double, double>;  // (min, max)

struct ToTensorOptions {};

struct NormalizeOptions {
  std::vector<double> mean, std;  // one value for every channel, or one per channel
};

struct ResizeOptions {
  std::vector<int64_t> size;  // {shorter side} (aspect ratio kept) or {h, w}
  Interpolation interpolation = Interpolation::kBilinear;
  int64_t max_size = 0;  // 0: none; else the longer side's cap (size must be one number)
};

struct CenterCropOptions {
  std::vector<int64_t> size;  // {side} or {h, w}
};

struct RandomResizedCropOptions {
  std::vector<int64_t> size;  // {side} or {h, w}
  Range scale{0.08, 1.0};     // of the image's area
  Range ratio{3.0 / 4.0, 4.0 / 3.0};
  Interpolation interpolation = Interpolation::kBilinear;
};

struct RandomHorizontalFlipOptions {
  double p = 0.5;
};

struct RandomVerticalFlipOptions {
  double p = 0.5;
};

struct RandomRotationOptions {
  Range degrees{0.0, 0.0};
  Interpolation interpolation = Interpolation::kNearest;  // the only mode supported
  bool expand = false;                                    // true is refused (sizes would vary)
  std::optional<std::pair<double, double>> center;        // (x, y); none: the image's centre
  std::vector<double> fill{0.0};                          // one value, or one per channel
};

struct ColorJitterOptions {
  // Factor ranges as torchvision's ColorJitter stores them; none: that adjustment is off.
  std::optional<Range> brightness, contrast, saturation, hue;
};

struct GrayscaleOptions {
  int64_t num_output_channels = 1;  // 1 or 3
};

// One step of a chain.
using TransformSpec =
    std::variant<ToTensorOptions, NormalizeOptions, ResizeOptions, CenterCropOptions,
                 RandomResizedCropOptions, RandomHorizontalFlipOptions, RandomVerticalFlipOptions,
                 RandomRotationOptions, ColorJitterOptions, GrayscaleOptions>;

// torchvision's class name of the step ("Resize", ...), for messages.
const char* transform_name(const TransformSpec& spec);

}  // namespace greymatter::data
