// The uint8 steps and their factory. Size rules, parameter draws and argument checks follow
// torchvision 0.14's transforms.py / functional.py on PIL images; the pixel work lives in
// resample.cpp, geometry.cpp and color.cpp.
#include "transform_steps.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <sstream>
#include <variant>

#include "greymatter/data/color.h"
#include "greymatter/data/geometry.h"
#include "greymatter/data/pixel_limit.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

// ---- argument checks -------------------------------------------------------------------------

[[noreturn]] void bad(const char* step, const std::string& what) {
  throw ConfigError(std::string(step) + ": " + what);
}

std::string list_string(const std::vector<double>& v) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
  o << ")";
  return o.str();
}

std::string range_string(const Range& r) { return list_string({r.first, r.second}); }

int64_t positive_int(const char* step, const std::string& key, int64_t v) {
  if (v < 1 || v > 1000000)
    bad(step, key + " must be a positive integer, got " + std::to_string(v));
  return v;
}

// size: one number (square, or the shorter side for Resize) or (h, w).
std::vector<int64_t> size_arg(const char* step, const std::vector<int64_t>& size,
                              bool square_if_one) {
  if (size.size() != 1 && size.size() != 2)
    bad(step, "size must be an int or a sequence (h, w), got " +
                  list_string(std::vector<double>(size.begin(), size.end())));
  std::vector<int64_t> out;
  for (int64_t x : size) out.push_back(positive_int(step, "size", x));
  if (square_if_one && out.size() == 1) out.push_back(out[0]);
  return out;
}

// An output size over the pixel limit would allocate gigabytes per sample (Resize((100000,
// 100000)) is 10^10 pixels); refused when the chain is built, naming the size.
std::vector<int64_t> checked_output_size(const char* step, std::vector<int64_t> size) {
  const int64_t h = size[0], w = size.size() > 1 ? size[1] : size[0];
  if (fits_pixel_limit(h, w)) return size;
  bad(step, "size " +
                (size.size() > 1 ? "(" + std::to_string(h) + ", " + std::to_string(w) + ")"
                                 : std::to_string(h)) +
                " makes images of at least " + std::to_string(h) + "x" + std::to_string(w) +
                " pixels, over the limit of " + std::to_string(max_image_pixels()) +
                " (greymatter.datasets.set_max_image_pixels raises it)");
}

const char* interpolation_name(Interpolation m) {
  return m == Interpolation::kNearest ? "nearest"
                                      : (m == Interpolation::kBicubic ? "bicubic" : "bilinear");
}

// (lo, hi) with lo <= hi, inside [min, max].
Range range_arg(const char* step, const std::string& key, const Range& r, double min, double max) {
  if (!(r.first <= r.second) || r.first < min || r.second > max)
    bad(step, key + " must be a range (min, max) with " + std::to_string(min) +
                  " <= min <= max <= " + std::to_string(max) + ", got " + range_string(r));
  return r;
}

std::vector<double> optional_range(const char* step, const std::string& key,
                                   const std::optional<Range>& r, double min, double max) {
  if (!r) return {};
  const Range checked = range_arg(step, key, *r, min, max);
  return {checked.first, checked.second};
}

double uniform(CounterRng& rng, double lo, double hi) { return lo + (hi - lo) * rng.uniform(); }

// Python's int(round(x)): round half to even.
int64_t py_round(double x) { return int64_t(std::nearbyint(x)); }

// ---- Resize ----------------------------------------------------------------------------------

}  // namespace

ResizeStep::ResizeStep(std::vector<int64_t> size, Interpolation mode, int64_t max_size)
    : size_(std::move(size)), mode_(mode), max_size_(max_size) {}

std::string ResizeStep::describe() const {
  std::string s = "Resize(size=" + (size_.size() == 1 ? std::to_string(size_[0])
                                                      : "(" + std::to_string(size_[0]) + ", " +
                                                            std::to_string(size_[1]) + ")");
  return s + ", interpolation=" + interpolation_name(mode_) + ")";
}

Size2 ResizeStep::output_size(Size2 in) const {
  if (size_.size() == 2) return {size_[0], size_[1]};
  const int64_t h = in.height, w = in.width;
  const int64_t shorter = std::min(h, w), longer = std::max(h, w);
  int64_t new_short = size_[0];
  int64_t new_long = int64_t(double(new_short * longer) / double(shorter));
  if (max_size_ > 0 && new_long > max_size_) {
    new_short = int64_t(double(max_size_ * new_short) / double(new_long));
    new_long = max_size_;
  }
  return w <= h ? Size2{new_long, new_short} : Size2{new_short, new_long};
}

Image ResizeStep::apply_to(const Image& im, Size2 target) const {
  if (target.height == im.height && target.width == im.width)
    return im;  // torchvision returns it as is
  // PIL refuses an empty size too ("height and width must be > 0"); a shorter-side Resize of a
  // very long image can also ask for more than the pixel limit.
  if (target.height < 1 || target.width < 1 || !fits_pixel_limit(target.height, target.width))
    throw DataError(describe() + " would turn a " + std::to_string(im.height) + "x" +
                    std::to_string(im.width) + " image into " + std::to_string(target.height) +
                    "x" + std::to_string(target.width) + " pixels" +
                    (target.height < 1 || target.width < 1
                         ? std::string()
                         : ", over the limit of " + std::to_string(max_image_pixels())));
  return resize(ImageView(im), target.height, target.width, mode_);
}

Image ResizeStep::apply(Image im, CounterRng*, std::vector<double>*) const {
  return apply_to(im, output_size({im.height, im.width}));
}

namespace {

// ---- CenterCrop ------------------------------------------------------------------------------

class CenterCropStep : public Step {
 public:
  explicit CenterCropStep(std::vector<int64_t> size) : h_(size[0]), w_(size[1]) {}
  std::string describe() const override {
    return "CenterCrop(size=(" + std::to_string(h_) + ", " + std::to_string(w_) + "))";
  }
  SizeEffect size_effect() const override { return SizeEffect::kFixed; }
  Size2 output_size(Size2) const override { return {h_, w_}; }
  Image apply(Image im, CounterRng*, std::vector<double>*) const override {
    // torchvision pads with zeros (left/top get the smaller half) when the crop is larger, then
    // crops at round((size - crop) / 2) with Python's half-to-even rounding.
    const int64_t pad_left = w_ > im.width ? (w_ - im.width) / 2 : 0;
    const int64_t pad_top = h_ > im.height ? (h_ - im.height) / 2 : 0;
    const int64_t padded_w =
        w_ > im.width ? im.width + pad_left + (w_ - im.width + 1) / 2 : im.width;
    const int64_t padded_h =
        h_ > im.height ? im.height + pad_top + (h_ - im.height + 1) / 2 : im.height;
    const int64_t top = py_round(double(padded_h - h_) / 2.0) - pad_top;
    const int64_t left = py_round(double(padded_w - w_) / 2.0) - pad_left;
    if (top == 0 && left == 0 && h_ == im.height && w_ == im.width) return im;
    return crop(im, top, left, h_, w_);
  }

 private:
  int64_t h_, w_;
};

// ---- RandomResizedCrop -----------------------------------------------------------------------

class RandomResizedCropStep : public Step {
 public:
  RandomResizedCropStep(std::vector<int64_t> size, std::vector<double> scale,
                        std::vector<double> ratio, Interpolation mode)
      : h_(size[0]), w_(size[1]), scale_(std::move(scale)), ratio_(std::move(ratio)), mode_(mode) {}
  std::string describe() const override {
    return "RandomResizedCrop(size=(" + std::to_string(h_) + ", " + std::to_string(w_) +
           "), scale=" + list_string(scale_) + ", ratio=" + list_string(ratio_) +
           ", interpolation=" + interpolation_name(mode_) + ")";
  }
  bool random() const override { return true; }
  SizeEffect size_effect() const override { return SizeEffect::kFixed; }
  Size2 output_size(Size2) const override { return {h_, w_}; }
  Image apply(Image im, CounterRng* rng, std::vector<double>* params) const override {
    int64_t top = 0, left = 0, ch = 0, cw = 0;
    draw(*rng, im.height, im.width, top, left, ch, cw);
    if (params) *params = {double(top), double(left), double(ch), double(cw)};
    return resize(ImageView(im, top, left, ch, cw), h_, w_, mode_);
  }

 private:
  // RandomResizedCrop.get_params: ten tries at a random area and log-uniform aspect ratio, then a
  // centre crop clamped to the ratio range.
  void draw(CounterRng& rng, int64_t height, int64_t width, int64_t& top, int64_t& left,
            int64_t& ch, int64_t& cw) const {
    const double area = double(height) * double(width);
    const double log_lo = std::log(ratio_[0]), log_hi = std::log(ratio_[1]);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target_area = area * uniform(rng, scale_[0], scale_[1]);
      const double aspect = std::exp(uniform(rng, log_lo, log_hi));
      const int64_t w = py_round(std::sqrt(target_area * aspect));
      const int64_t h = py_round(std::sqrt(target_area / aspect));
      if (0 < w && w <= width && 0 < h && h <= height) {
        top = int64_t(rng.below(uint64_t(height - h + 1)));
        left = int64_t(rng.below(uint64_t(width - w + 1)));
        ch = h;
        cw = w;
        return;
      }
    }
    const double in_ratio = double(width) / double(height);
    if (in_ratio < ratio_[0]) {
      cw = width;
      ch = py_round(double(cw) / ratio_[0]);
    } else if (in_ratio > ratio_[1]) {
      ch = height;
      cw = py_round(double(ch) * ratio_[1]);
    } else {
      cw = width;
      ch = height;
    }
    top = (height - ch) / 2;
    left = (width - cw) / 2;
  }

  int64_t h_, w_;
  std::vector<double> scale_, ratio_;
  Interpolation mode_;
};

// ---- RandomHorizontalFlip, RandomVerticalFlip -------------------------------------------------

class RandomFlipStep : public Step {
 public:
  RandomFlipStep(bool vertical, double p) : vertical_(vertical), p_(p) {}
  std::string describe() const override {
    return std::string(vertical_ ? "RandomVerticalFlip" : "RandomHorizontalFlip") +
           "(p=" + std::to_string(p_) + ")";
  }
  bool random() const override { return true; }
  Image apply(Image im, CounterRng* rng, std::vector<double>* params) const override {
    const bool flip = rng->uniform() < p_;  // torch.rand(1) < p
    if (params) *params = {flip ? 1.0 : 0.0};
    if (!flip) return im;
    return vertical_ ? vflip(im) : hflip(im);
  }

 private:
  bool vertical_;
  double p_;
};

// ---- RandomRotation --------------------------------------------------------------------------

class RandomRotationStep : public Step {
 public:
  RandomRotationStep(double lo, double hi, std::vector<double> center, std::vector<uint8_t> fill)
      : lo_(lo), hi_(hi), center_(std::move(center)), fill_(std::move(fill)) {}
  std::string describe() const override {
    return "RandomRotation(degrees=(" + std::to_string(lo_) + ", " + std::to_string(hi_) + "))";
  }
  bool random() const override { return true; }
  Image apply(Image im, CounterRng* rng, std::vector<double>* params) const override {
    const double angle = double(float(uniform(*rng, lo_, hi_)));  // torch draws float32
    if (params) *params = {angle};
    // A grey image stands for three equal channels; a fill that is not grey needs real ones.
    std::vector<uint8_t> fill = fill_;
    if (im.channels == 1 && fill.size() == 3 && (fill[0] != fill[1] || fill[1] != fill[2]))
      im = widen(im);
    if (fill.size() != size_t(im.channels)) fill.assign(size_t(im.channels), fill[0]);
    const bool default_center = center_.empty();
    const double cx = default_center ? double(im.width) / 2.0 : center_[0];
    const double cy = default_center ? double(im.height) / 2.0 : center_[1];
    return rotate_nearest(im, angle, cx, cy, default_center, fill);
  }

 private:
  static Image widen(const Image& grey) {
    Image out(grey.height, grey.width, 3);
    for (size_t i = 0; i < grey.pixels.size(); ++i)
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = grey.pixels[i];
    return out;
  }

  double lo_, hi_;
  std::vector<double> center_;  // empty: the image centre
  std::vector<uint8_t> fill_;   // one value per channel (or one for all)
};

// ---- ColorJitter -----------------------------------------------------------------------------

class ColorJitterStep : public Step {
 public:
  ColorJitterStep(std::vector<double> b, std::vector<double> c, std::vector<double> s,
                  std::vector<double> h)
      : ranges_{std::move(b), std::move(c), std::move(s), std::move(h)} {}
  std::string describe() const override {
    static const char* names[4] = {"brightness", "contrast", "saturation", "hue"};
    std::string out = "ColorJitter(";
    for (int i = 0; i < 4; ++i)
      out += std::string(i ? ", " : "") + names[i] + "=" +
             (ranges_[i].empty() ? "None" : list_string(ranges_[i]));
    return out + ")";
  }
  bool random() const override { return true; }
  Image apply(Image im, CounterRng* rng, std::vector<double>* params) const override {
    // get_params: a random order of the four adjustments, then one factor per enabled adjustment.
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[rng->below(uint64_t(i) + 1)]);
    double factor[4];
    for (int i = 0; i < 4; ++i)
      factor[i] = ranges_[i].empty() ? std::numeric_limits<double>::quiet_NaN()
                                     : double(float(uniform(*rng, ranges_[i][0], ranges_[i][1])));
    if (params)
      *params = {double(order[0]), double(order[1]), double(order[2]), double(order[3]),
                 factor[0],        factor[1],        factor[2],        factor[3]};
    for (int k : order) {
      if (ranges_[k].empty()) continue;
      switch (k) {
        case 0:
          im = adjust_brightness(im, float(factor[0]));
          break;
        case 1:
          im = adjust_contrast(im, float(factor[1]));
          break;
        case 2:
          im = adjust_saturation(im, float(factor[2]));
          break;
        default:
          im = adjust_hue(im, factor[3]);
          break;
      }
    }
    return im;
  }

 private:
  std::vector<double> ranges_[4];  // empty: disabled (None)
};

// ---- Grayscale -------------------------------------------------------------------------------

class GrayscaleStep : public Step {
 public:
  explicit GrayscaleStep(int64_t channels) : channels_(channels) {}
  std::string describe() const override {
    return "Grayscale(num_output_channels=" + std::to_string(channels_) + ")";
  }
  int64_t output_channels(int64_t) const override { return channels_; }
  // Three output channels stay one physical channel: the final write widens it.
  Image apply(Image im, CounterRng*, std::vector<double>*) const override { return to_grey(im); }

 private:
  int64_t channels_;
};

// ---- factory ---------------------------------------------------------------------------------

// Builds the uint8 step for each options struct; `channels` is torchvision's channel count there.
struct StepFactory {
  int64_t channels;

  std::unique_ptr<Step> operator()(const ResizeOptions& o) const {
    const char* step = "Resize";
    const auto size = checked_output_size(step, size_arg(step, o.size, false));
    if (o.max_size != 0) {
      if (size.size() != 1)
        bad(step, "max_size is only supported when size is an int (the shorter side)");
      positive_int(step, "max_size", o.max_size);
      if (o.max_size <= size[0])
        bad(step, "max_size = " + std::to_string(o.max_size) +
                      " must be strictly greater than the requested size " +
                      std::to_string(size[0]));
    }
    return std::make_unique<ResizeStep>(size, o.interpolation, o.max_size);
  }

  std::unique_ptr<Step> operator()(const CenterCropOptions& o) const {
    return std::make_unique<CenterCropStep>(
        checked_output_size("CenterCrop", size_arg("CenterCrop", o.size, true)));
  }

  std::unique_ptr<Step> operator()(const RandomResizedCropOptions& o) const {
    const char* step = "RandomResizedCrop";
    const Range scale = range_arg(step, "scale", o.scale, 0.0, 1e9);
    const Range ratio = range_arg(step, "ratio", o.ratio, 1e-9, 1e9);
    if (scale.second <= 0)
      bad(step, "scale must allow a non-empty crop, got " + range_string(scale));
    return std::make_unique<RandomResizedCropStep>(
        checked_output_size(step, size_arg(step, o.size, true)),
        std::vector<double>{scale.first, scale.second},
        std::vector<double>{ratio.first, ratio.second}, o.interpolation);
  }

  std::unique_ptr<Step> operator()(const RandomHorizontalFlipOptions& o) const {
    return flip("RandomHorizontalFlip", false, o.p);
  }

  std::unique_ptr<Step> operator()(const RandomVerticalFlipOptions& o) const {
    return flip("RandomVerticalFlip", true, o.p);
  }

  std::unique_ptr<Step> operator()(const RandomRotationOptions& o) const {
    const char* step = "RandomRotation";
    if (!(o.degrees.first <= o.degrees.second))
      bad(step,
          "degrees must be a number >= 0 or a range (min, max), got " + range_string(o.degrees));
    if (o.interpolation != Interpolation::kNearest)
      bad(step, "only interpolation=NEAREST (the default) is supported");
    if (o.expand)
      bad(step, "expand=True is not supported: it makes the output size differ per sample");
    std::vector<double> center;
    if (o.center) center = {o.center->first, o.center->second};
    const std::vector<double> fill_values = o.fill.empty() ? std::vector<double>{0.0} : o.fill;
    if (fill_values.size() != 1 && int64_t(fill_values.size()) != channels)
      bad(step, "fill has " + std::to_string(fill_values.size()) + " values but the image has " +
                    std::to_string(channels) + " channels");
    std::vector<uint8_t> fill;
    for (double v : fill_values) {
      if (!(v >= 0 && v < 256))
        bad(step, "fill values must be in [0, 255], got " + list_string(fill_values));
      fill.push_back(uint8_t(int(v)));  // torchvision's int(x)
    }
    if (fill.size() == 1 && channels == 3) fill.assign(3, fill[0]);
    return std::make_unique<RandomRotationStep>(o.degrees.first, o.degrees.second, center, fill);
  }

  std::unique_ptr<Step> operator()(const ColorJitterOptions& o) const {
    const char* step = "ColorJitter";
    const double inf = std::numeric_limits<double>::infinity();
    return std::make_unique<ColorJitterStep>(
        optional_range(step, "brightness", o.brightness, 0, inf),
        optional_range(step, "contrast", o.contrast, 0, inf),
        optional_range(step, "saturation", o.saturation, 0, inf),
        optional_range(step, "hue", o.hue, -0.5, 0.5));
  }

  std::unique_ptr<Step> operator()(const GrayscaleOptions& o) const {
    if (o.num_output_channels != 1 && o.num_output_channels != 3)
      bad("Grayscale", "num_output_channels should be either 1 or 3, got " +
                           std::to_string(o.num_output_channels));
    return std::make_unique<GrayscaleStep>(o.num_output_channels);
  }

  // ToTensor and Normalize are not uint8 steps: Pipeline folds them into its final write.
  std::unique_ptr<Step> operator()(const ToTensorOptions&) const { return not_a_step("ToTensor"); }
  std::unique_ptr<Step> operator()(const NormalizeOptions&) const {
    return not_a_step("Normalize");
  }

 private:
  static std::unique_ptr<Step> flip(const char* step, bool vertical, double p) {
    if (!(p >= 0 && p <= 1))
      bad(step, "p must be a probability in [0, 1], got " + std::to_string(p));
    return std::make_unique<RandomFlipStep>(vertical, p);
  }
  static std::unique_ptr<Step> not_a_step(const char* step) {
    bad(step, "is written by the pipeline's final pass, not run as an image step");
  }
};

}  // namespace

const char* transform_name(const TransformSpec& spec) {
  static const char* const names[] = {
      "ToTensor",           "Normalize",         "Resize",
      "CenterCrop",         "RandomResizedCrop", "RandomHorizontalFlip",
      "RandomVerticalFlip", "RandomRotation",    "ColorJitter",
      "Grayscale"};
  static_assert(std::size(names) == std::variant_size_v<TransformSpec>,
                "one name per TransformSpec alternative, in its order");
  return names[spec.index()];
}

std::unique_ptr<Step> make_step(const TransformSpec& spec, int64_t channels) {
  return std::visit(StepFactory{channels}, spec);
}

}  // namespace greymatter::data
