// PIL's colour arithmetic, including its float/double mix (Convert.c rgb2hsv / hsv2rgb, Blend.c):
// the variable types below are deliberate, since changing one moves some pixels by a level.
#include "greymatter/data/color.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace greymatter::data {
namespace {

inline uint8_t luma(const uint8_t* p) {  // PIL's L24: 16.16 fixed-point 0.299 R + 0.587 G + 0.114 B
  return uint8_t(
      (uint32_t(p[0]) * 19595 + uint32_t(p[1]) * 38470 + uint32_t(p[2]) * 7471 + 0x8000) >> 16);
}

// One output value of Image.blend(a, b, alpha): interpolation truncates, extrapolation clips first.
inline uint8_t blend(int a, int b, float alpha) {
  if (alpha >= 0 && alpha <= 1.0) return uint8_t(float(a) + alpha * float(b - a));
  const float v = float(float(a) + alpha * float(b - a));
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return uint8_t(v);
}

// blend against a constant degenerate value: a 256-entry table.
Image blend_constant(const Image& im, int degenerate, float factor) {
  std::array<uint8_t, 256> table{};
  for (int v = 0; v < 256; ++v) table[size_t(v)] = blend(degenerate, v, factor);
  Image out(im.height, im.width, im.channels);
  for (size_t i = 0; i < im.pixels.size(); ++i) out.pixels[i] = table[im.pixels[i]];
  return out;
}

inline uint8_t clip8(int v) { return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// C's round() (half away from zero) for x >= 0, without a libm call: the subtraction is exact.
inline int round_nonnegative(double x) {
  const auto t = int(x);
  return x - double(t) >= 0.5 ? t + 1 : t;
}

void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  uint8_t uh = 0, us = 0;
  if (minc != maxc) {
    const float cr = float(maxc - minc);
    const float s = cr / float(maxc);
    const float rc = float(maxc - r) / cr, gc = float(maxc - g) / cr, bc = float(maxc - b) / cr;
    float h;
    if (r == maxc)
      h = bc - gc;
    else if (g == maxc)
      h = float(2.0 + rc - bc);
    else
      h = float(4.0 + gc - rc);
    // fmod(h / 6 + 1, 1): h / 6 + 1 lies in [5/6, 11/6], where this subtraction is exact.
    const double wrapped = h / 6.0 + 1.0;
    h = float(wrapped >= 1.0 ? wrapped - 1.0 : wrapped);
    uh = clip8(int(h * 255.0));
    us = clip8(int(s * 255.0));
  }
  out[0] = uh;
  out[1] = us;
  out[2] = maxc;
}

void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
  const uint8_t h = in[0], s = in[1], v = in[2];
  if (s == 0) {
    out[0] = out[1] = out[2] = v;
    return;
  }
  const double h6 = float(h) * 6.0 / 255.0;
  const int i = int(h6);  // floor: h6 >= 0
  const float f = float(h6 - float(i));
  const float fs = float(float(s) / 255.0);
  // The products are >= 0 since fs, f are in [0, 1].
  const uint8_t up = clip8(round_nonnegative(float(v) * (1.0 - fs)));
  const uint8_t uq =
      clip8(round_nonnegative(float(v) * (1.0 - fs * f)));  // fs * f in float, as in C
  const uint8_t ut = clip8(round_nonnegative(float(v) * (1.0 - fs * (1.0 - f))));
  switch (i % 6) {
    case 0:
      out[0] = v;
      out[1] = ut;
      out[2] = up;
      break;
    case 1:
      out[0] = uq;
      out[1] = v;
      out[2] = up;
      break;
    case 2:
      out[0] = up;
      out[1] = v;
      out[2] = ut;
      break;
    case 3:
      out[0] = up;
      out[1] = uq;
      out[2] = v;
      break;
    case 4:
      out[0] = ut;
      out[1] = up;
      out[2] = v;
      break;
    default:
      out[0] = v;
      out[1] = up;
      out[2] = uq;
      break;
  }
}

// rgb_to_hsv / hsv_to_rgb again, with their divisions tabulated (built once from the functions
// above, so identical by construction). Hue depends only on which channel is the maximum, which is
// the minimum, the spread max - min, and the remaining channel's distance below the maximum.
class HsvTables {
 public:
  static const HsvTables& get() {
    static const HsvTables tables;  // thread-safe one-time build, ~400k evaluations
    return tables;
  }

  void to_hsv(const uint8_t* p, uint8_t* out) const {
    const uint8_t r = p[0], g = p[1], b = p[2];
    const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
    out[2] = maxc;
    if (maxc == minc) {
      out[0] = out[1] = 0;
      return;
    }
    const int spread = maxc - minc;
    int k = 0, d = 0;
    if (r == maxc) {
      k = b == minc ? 0 : 1;
      d = maxc - (b == minc ? g : b);
    } else if (g == maxc) {
      k = b == minc ? 2 : 3;
      d = maxc - (b == minc ? r : b);
    } else {
      k = g == minc ? 4 : 5;
      d = maxc - (g == minc ? r : g);
    }
    out[0] = hue_[(k * 256 + spread) * 256 + d];
    out[1] = saturation_[spread * 256 + maxc];
  }

  void to_rgb(const uint8_t* in, uint8_t* out) const {
    const uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {
      out[0] = out[1] = out[2] = v;
      return;
    }
    const float f = f_[h], fs = fs_[s];
    const uint8_t up = clip8(round_nonnegative(float(v) * (1.0 - fs)));
    const uint8_t uq = clip8(round_nonnegative(float(v) * (1.0 - fs * f)));
    const uint8_t ut = clip8(round_nonnegative(float(v) * (1.0 - fs * (1.0 - f))));
    switch (sector_[h]) {
      case 0:
        out[0] = v;
        out[1] = ut;
        out[2] = up;
        break;
      case 1:
        out[0] = uq;
        out[1] = v;
        out[2] = up;
        break;
      case 2:
        out[0] = up;
        out[1] = v;
        out[2] = ut;
        break;
      case 3:
        out[0] = up;
        out[1] = uq;
        out[2] = v;
        break;
      case 4:
        out[0] = ut;
        out[1] = up;
        out[2] = v;
        break;
      default:
        out[0] = v;
        out[1] = up;
        out[2] = uq;
        break;
    }
  }

 private:
  HsvTables() : hue_(6 * 256 * 256), saturation_(256 * 256) {
    uint8_t hsv[3];
    for (int spread = 1; spread < 256; ++spread) {
      for (int d = 0; d <= spread; ++d) {
        const auto lo = uint8_t(255 - spread), mid = uint8_t(255 - d);
        const uint8_t pixels[6][3] = {{255, mid, lo}, {255, lo, mid}, {mid, 255, lo},
                                      {lo, 255, mid}, {mid, lo, 255}, {lo, mid, 255}};
        for (int k = 0; k < 6; ++k) {
          rgb_to_hsv(pixels[k], hsv);
          hue_[size_t((k * 256 + spread) * 256 + d)] = hsv[0];
        }
      }
      for (int maxc = spread; maxc < 256; ++maxc) {
        const uint8_t pixel[3] = {uint8_t(maxc), uint8_t(maxc - spread), uint8_t(maxc - spread)};
        rgb_to_hsv(pixel, hsv);
        saturation_[size_t(spread * 256 + maxc)] = hsv[1];
      }
    }
    for (int v = 0; v < 256; ++v) {
      const double h6 = float(v) * 6.0 / 255.0;
      const int i = int(h6);
      sector_[size_t(v)] = uint8_t(i % 6);
      f_[size_t(v)] = float(h6 - float(i));
      fs_[size_t(v)] = float(float(v) / 255.0);
    }
  }

  std::vector<uint8_t> hue_, saturation_;
  std::array<uint8_t, 256> sector_{};
  std::array<float, 256> f_{}, fs_{};
};

}  // namespace

Image to_grey(const Image& im) {
  if (im.channels == 1) return im;
  Image out(im.height, im.width, 1);
  const int64_t n = im.height * im.width;
  for (int64_t i = 0; i < n; ++i) out.pixels[size_t(i)] = luma(im.pixels.data() + 3 * i);
  return out;
}

Image adjust_brightness(const Image& im, float factor) { return blend_constant(im, 0, factor); }

Image adjust_contrast(const Image& im, float factor) {
  // ImageStat mean of the grey image, rounded as int(mean + 0.5).
  const Image grey = to_grey(im);
  uint64_t sum = 0;
  for (uint8_t v : grey.pixels) sum += v;
  const double mean = grey.pixels.empty() ? 0.0 : double(sum) / double(grey.pixels.size());
  return blend_constant(im, int(mean + 0.5), factor);
}

Image adjust_saturation(const Image& im, float factor) {
  if (im.channels == 1) return im;  // its grey version is itself
  Image out(im.height, im.width, 3);
  const int64_t n = im.height * im.width;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = im.pixels.data() + 3 * i;
    const int l = luma(p);
    for (int c = 0; c < 3; ++c) out.pixels[size_t(3 * i + c)] = blend(l, p[c], factor);
  }
  return out;
}

Image adjust_hue_reference(const Image& im, double hue) {
  if (im.channels == 1) return im;
  const auto shift = uint8_t(int32_t(hue * 255.0) & 0xFF);
  Image out(im.height, im.width, 3);
  uint8_t hsv[3];
  for (int64_t i = 0; i < im.height * im.width; ++i) {
    rgb_to_hsv(im.pixels.data() + 3 * i, hsv);
    hsv[0] = uint8_t(hsv[0] + shift);
    hsv_to_rgb(hsv, out.pixels.data() + 3 * i);
  }
  return out;
}

Image adjust_hue(const Image& im, double hue) {
  if (im.channels == 1) return im;  // torchvision returns mode "L" images unchanged
  // np.uint8(hue * 255): truncation toward zero, then wrap-around modulo 256.
  const auto shift = uint8_t(int32_t(hue * 255.0) & 0xFF);
  const HsvTables& tables = HsvTables::get();
  Image out(im.height, im.width, 3);
  const int64_t n = im.height * im.width;
  uint8_t hsv[3];
  for (int64_t i = 0; i < n; ++i) {
    tables.to_hsv(im.pixels.data() + 3 * i, hsv);
    hsv[0] = uint8_t(hsv[0] + shift);
    tables.to_rgb(hsv, out.pixels.data() + 3 * i);
  }
  return out;
}

}  // namespace greymatter::data
