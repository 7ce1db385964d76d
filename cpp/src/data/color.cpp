// PIL's colour arithmetic, including its float/double mix (Convert.c rgb2hsv / hsv2rgb, Blend.c):
// the variable types below are deliberate, since changing one moves some pixels by a level.
#include "greymatter/data/color.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace greymatter::data {
namespace {

inline uint8_t luma(const uint8_t* p) {  // PIL's L24: 16.16 fixed-point 0.299 R + 0.587 G + 0.114 B
  return uint8_t((uint32_t(p[0]) * 19595 + uint32_t(p[1]) * 38470 + uint32_t(p[2]) * 7471 + 0x8000) >> 16);
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

void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
  const uint8_t r = in[0], g = in[1], b = in[2];
  const uint8_t maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  uint8_t uh = 0, us = 0;
  if (minc != maxc) {
    const float cr = float(maxc - minc);
    const float s = cr / float(maxc);
    const float rc = float(maxc - r) / cr, gc = float(maxc - g) / cr, bc = float(maxc - b) / cr;
    float h;
    if (r == maxc) h = bc - gc;
    else if (g == maxc) h = float(2.0 + rc - bc);
    else h = float(4.0 + gc - rc);
    h = float(std::fmod(h / 6.0 + 1.0, 1.0));
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
  const int i = int(std::floor(float(h) * 6.0 / 255.0));
  const float f = float(float(h) * 6.0 / 255.0 - float(i));
  const float fs = float(float(s) / 255.0);
  const uint8_t up = clip8(int(std::round(float(v) * (1.0 - fs))));
  const uint8_t uq = clip8(int(std::round(float(v) * (1.0 - fs * f))));  // fs * f in float, as in C
  const uint8_t ut = clip8(int(std::round(float(v) * (1.0 - fs * (1.0 - f)))));
  switch (i % 6) {
    case 0: out[0] = v; out[1] = ut; out[2] = up; break;
    case 1: out[0] = uq; out[1] = v; out[2] = up; break;
    case 2: out[0] = up; out[1] = v; out[2] = ut; break;
    case 3: out[0] = up; out[1] = uq; out[2] = v; break;
    case 4: out[0] = ut; out[1] = up; out[2] = v; break;
    default: out[0] = v; out[1] = up; out[2] = uq; break;
  }
}

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

Image adjust_hue(const Image& im, double hue) {
  if (im.channels == 1) return im;  // torchvision returns mode "L" images unchanged
  // np.uint8(hue * 255): truncation toward zero, then wrap-around modulo 256.
  const auto shift = uint8_t(int32_t(hue * 255.0) & 0xFF);
  Image out(im.height, im.width, 3);
  const int64_t n = im.height * im.width;
  uint8_t hsv[3];
  for (int64_t i = 0; i < n; ++i) {
    rgb_to_hsv(im.pixels.data() + 3 * i, hsv);
    hsv[0] = uint8_t(hsv[0] + shift);
    hsv_to_rgb(hsv, out.pixels.data() + 3 * i);
  }
  return out;
}

}  // namespace greymatter::data
