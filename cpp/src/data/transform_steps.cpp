// The uint8 steps and their factory. Size rules, parameter draws and argument checks follow
// torchvision 0.14's transforms.py / functional.py on PIL images; the pixel work lives in
// resample.cpp, geometry.cpp and color.cpp.
#include "transform_steps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "greymatter/data/color.h"
#include "greymatter/data/geometry.h"
#include "greymatter/data/pixel_limit.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

// ---- argument access -------------------------------------------------------------------------

std::vector<double> arg(const TransformSpec& s, const std::string& key) {
  auto it = s.args.find(key);
  return it == s.args.end() ? std::vector<double>{} : it->second;
}

[[noreturn]] void bad(const TransformSpec& s, const std::string& what) {
  throw ConfigError(s.name + ": " + what);
}

std::string list_string(const std::vector<double>& v) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
  o << ")";
  return o.str();
}

int64_t positive_int(const TransformSpec& s, const std::string& key, double v) {
  if (!(v >= 1) || v != std::floor(v) || v > 1e6)
    bad(s, key + " must be a positive integer, got " + std::to_string(v));
  return int64_t(v);
}

// size: one number (square, or the shorter side for Resize) or (h, w).
std::vector<int64_t> size_arg(const TransformSpec& s, bool square_if_one) {
  const auto v = arg(s, "size");
  if (v.size() != 1 && v.size() != 2)
    bad(s, "size must be an int or a sequence (h, w), got " + list_string(v));
  std::vector<int64_t> out;
  for (double x : v) out.push_back(positive_int(s, "size", x));
  if (square_if_one && out.size() == 1) out.push_back(out[0]);
  return out;
}

// An output size over the pixel limit would allocate gigabytes per sample (Resize((100000,
// 100000)) is 10^10 pixels); refused when the chain is built, naming the size.
void check_output_size(const TransformSpec& s, const std::vector<int64_t>& size) {
  const int64_t h = size[0], w = size.size() > 1 ? size[1] : size[0];
  if (fits_pixel_limit(h, w)) return;
  bad(s, "size " +
             (size.size() > 1 ? "(" + std::to_string(h) + ", " + std::to_string(w) + ")"
                              : std::to_string(h)) +
             " makes images of at least " + std::to_string(h) + "x" + std::to_string(w) +
             " pixels, over the limit of " + std::to_string(max_image_pixels()) +
             " (greymatter.datasets.set_max_image_pixels raises it)");
}

Interpolation interpolation_arg(const TransformSpec& s, Interpolation fallback) {
  const auto v = arg(s, "interpolation");
  if (v.empty()) return fallback;
  switch (int(v[0])) {
    case 0:
      return Interpolation::kNearest;
    case 1:
      return Interpolation::kBilinear;
    case 2:
      return Interpolation::kBicubic;
    default:
      bad(s,
          "interpolation must be NEAREST, BILINEAR or BICUBIC (code " + std::to_string(v[0]) + ")");
  }
}

const char* interpolation_name(Interpolation m) {
  return m == Interpolation::kNearest ? "nearest"
                                      : (m == Interpolation::kBicubic ? "bicubic" : "bilinear");
}

// (lo, hi) with lo <= hi, inside [min, max]; empty stays empty (None).
std::vector<double> range_arg(const TransformSpec& s, const std::string& key, double min,
                              double max) {
  const auto v = arg(s, key);
  if (v.empty()) return v;
  if (v.size() != 2 || !(v[0] <= v[1]) || v[0] < min || v[1] > max)
    bad(s, key + " must be a range (min, max) with " + std::to_string(min) +
               " <= min <= max <= " + std::to_string(max) + ", got " + list_string(v));
  return v;
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

std::unique_ptr<Step> make_rotation(const TransformSpec& s, int64_t channels) {
  const auto degrees = arg(s, "degrees");
  if (degrees.size() != 2 || !(degrees[0] <= degrees[1]))
    bad(s, "degrees must be a number >= 0 or a range (min, max), got " + list_string(degrees));
  if (interpolation_arg(s, Interpolation::kNearest) != Interpolation::kNearest)
    bad(s, "only interpolation=NEAREST (the default) is supported");
  const auto expand = arg(s, "expand");
  if (!expand.empty() && expand[0] != 0)
    bad(s, "expand=True is not supported: it makes the output size differ per sample");
  const auto center = arg(s, "center");
  if (!center.empty() && center.size() != 2)
    bad(s, "center must be (x, y), got " + list_string(center));
  auto fill_values = arg(s, "fill");
  if (fill_values.empty()) fill_values = {0.0};
  if (fill_values.size() != 1 && int64_t(fill_values.size()) != channels)
    bad(s, "fill has " + std::to_string(fill_values.size()) + " values but the image has " +
               std::to_string(channels) + " channels");
  std::vector<uint8_t> fill;
  for (double v : fill_values) {
    if (!(v >= 0 && v < 256))
      bad(s, "fill values must be in [0, 255], got " + list_string(fill_values));
    fill.push_back(uint8_t(int(v)));  // torchvision's int(x)
  }
  if (fill.size() == 1 && channels == 3) fill.assign(3, fill[0]);
  return std::make_unique<RandomRotationStep>(degrees[0], degrees[1], center, fill);
}

}  // namespace

std::unique_ptr<Step> make_step(const TransformSpec& s, int64_t channels) {
  if (s.name == "Resize") {
    const auto size = size_arg(s, false);
    const auto max_size = arg(s, "max_size");
    int64_t m = 0;
    if (!max_size.empty()) {
      if (size.size() != 1)
        bad(s, "max_size is only supported when size is an int (the shorter side)");
      m = positive_int(s, "max_size", max_size[0]);
      if (m <= size[0])
        bad(s, "max_size = " + std::to_string(m) +
                   " must be strictly greater than the requested size " + std::to_string(size[0]));
    }
    check_output_size(s, size);
    return std::make_unique<ResizeStep>(size, interpolation_arg(s, Interpolation::kBilinear), m);
  }
  if (s.name == "CenterCrop") {
    const auto size = size_arg(s, true);
    check_output_size(s, size);
    return std::make_unique<CenterCropStep>(size);
  }
  if (s.name == "RandomResizedCrop") {
    const auto scale = range_arg(s, "scale", 0.0, 1e9), ratio = range_arg(s, "ratio", 1e-9, 1e9);
    if (scale.empty() || ratio.empty()) bad(s, "scale and ratio are required ranges");
    if (scale[1] <= 0) bad(s, "scale must allow a non-empty crop, got " + list_string(scale));
    const auto size = size_arg(s, true);
    check_output_size(s, size);
    return std::make_unique<RandomResizedCropStep>(size, scale, ratio,
                                                   interpolation_arg(s, Interpolation::kBilinear));
  }
  if (s.name == "RandomHorizontalFlip" || s.name == "RandomVerticalFlip") {
    const auto p = arg(s, "p");
    const double prob = p.empty() ? 0.5 : p[0];
    if (!(prob >= 0 && prob <= 1))
      bad(s, "p must be a probability in [0, 1], got " + std::to_string(prob));
    return std::make_unique<RandomFlipStep>(s.name == "RandomVerticalFlip", prob);
  }
  if (s.name == "RandomRotation") return make_rotation(s, channels);
  if (s.name == "ColorJitter") {
    const double inf = std::numeric_limits<double>::infinity();
    return std::make_unique<ColorJitterStep>(
        range_arg(s, "brightness", 0, inf), range_arg(s, "contrast", 0, inf),
        range_arg(s, "saturation", 0, inf), range_arg(s, "hue", -0.5, 0.5));
  }
  if (s.name == "Grayscale") {
    const auto n = arg(s, "num_output_channels");
    const double c = n.empty() ? 1 : n[0];
    if (c != 1 && c != 3)
      bad(s, "num_output_channels should be either 1 or 3, got " + std::to_string(c));
    return std::make_unique<GrayscaleStep>(int64_t(c));
  }
  throw ConfigError("unsupported transform '" + s.name +
                    "'; greymatter runs Resize, CenterCrop, RandomResizedCrop, "
                    "RandomHorizontalFlip, RandomVerticalFlip, "
                    "RandomRotation, "
                    "ColorJitter, Grayscale, ToTensor and Normalize");
}

}  // namespace greymatter::data
