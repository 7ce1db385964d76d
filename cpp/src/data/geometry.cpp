// Crop, flip and Pillow-exact nearest-neighbour rotation (Image.rotate -> ImagingTransformAffine).
#include "greymatter/data/geometry.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace greymatter::data {
namespace {

// Python's round(x, 15) for the magnitudes of a sine or cosine.
double round15(double x) { return std::nearbyint(x * 1e15) / 1e15; }

// Python's float modulo: the result has the sign of the divisor.
double py_mod(double a, double m) {
  double r = std::fmod(a, m);
  if (r != 0.0 && ((r < 0) != (m < 0))) r += m;
  return r == 0.0 ? 0.0 : r;
}

void fill_image(Image& out, const std::vector<uint8_t>& fill) {
  const int64_t c = out.channels;
  for (int64_t i = 0; i < out.height * out.width; ++i)
    for (int64_t ch = 0; ch < c; ++ch) out.pixels[size_t(i * c + ch)] = fill[size_t(ch)];
}

// Pillow's Transpose.ROTATE_90 / ROTATE_180 / ROTATE_270 for the angles Image.rotate short-cuts.
Image quarter_turns(const Image& im, int turns) {
  const int64_t h = im.height, w = im.width, c = im.channels;
  Image out(turns == 2 ? h : w, turns == 2 ? w : h, c);
  for (int64_t y = 0; y < out.height; ++y) {
    for (int64_t x = 0; x < out.width; ++x) {
      int64_t sy = 0, sx = 0;
      if (turns == 1) {
        sy = x;
        sx = w - 1 - y;
      }  // counter-clockwise
      else if (turns == 2) {
        sy = h - 1 - y;
        sx = w - 1 - x;
      } else {
        sy = h - 1 - x;
        sx = y;
      }  // clockwise
      std::memcpy(out.row(y) + x * c, im.row(sy) + sx * c, size_t(c));
    }
  }
  return out;
}

inline int coord(double v) { return v < 0.0 ? -1 : int(v); }  // Pillow's COORD

bool fits_fixed(const double a[6], int64_t x, int64_t y) {
  return std::fabs(double(x) * a[0] + double(y) * a[1] + a[2]) < 32768.0 &&
         std::fabs(double(x) * a[3] + double(y) * a[4] + a[5]) < 32768.0;
}

void copy_pixel(Image& out, int64_t y, int64_t x, const Image& im, int yin, int xin) {
  const int64_t c = im.channels;
  std::memcpy(out.row(y) + x * c, im.row(yin) + xin * c, size_t(c));
}

// a maps output (x, y) to input: xin = a0 x + a1 y + a2, yin = a3 x + a4 y + a5, sampled at pixel
// centres.
void affine_nearest(const Image& im, const double a[6], Image& out) {
  const int xsize = int(im.width), ysize = int(im.height);
  const int64_t w = out.width, h = out.height;
  if (a[1] == 0 && a[3] == 0) {  // pure scaling: ImagingScaleAffine
    double yo = a[5] + a[4] * 0.5;
    for (int64_t y = 0; y < h; ++y, yo += a[4]) {
      const int yi = coord(yo);
      if (yi < 0 || yi >= ysize) continue;
      double xo = a[2] + a[0] * 0.5;
      for (int64_t x = 0; x < w; ++x, xo += a[0]) {
        const int xi = coord(xo);
        if (xi >= 0 && xi < xsize) copy_pixel(out, y, x, im, yi, xi);
      }
    }
    return;
  }
  if (fits_fixed(a, 0, 0) && fits_fixed(a, w, h) && fits_fixed(a, 0, h) && fits_fixed(a, w, 0)) {
    auto fix = [](double v) { return int32_t(std::floor(v * 65536.0 + 0.5)); };  // 16.16
    const int32_t a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
    int32_t a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
    for (int64_t y = 0; y < h; ++y, a2 += a1, a5 += a4) {
      int32_t xx = a2, yy = a5;
      for (int64_t x = 0; x < w; ++x, xx += a0, yy += a3) {
        const int xin = xx >> 16, yin = yy >> 16;
        if (xin >= 0 && xin < xsize && yin >= 0 && yin < ysize) copy_pixel(out, y, x, im, yin, xin);
      }
    }
    return;
  }
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int64_t y = 0; y < h; ++y, xo += a[1], yo += a[4]) {
    double xx = xo, yy = yo;
    for (int64_t x = 0; x < w; ++x, xx += a[0], yy += a[3]) {
      const int xin = coord(xx), yin = coord(yy);
      if (xin >= 0 && xin < xsize && yin >= 0 && yin < ysize) copy_pixel(out, y, x, im, yin, xin);
    }
  }
}

}  // namespace

Image crop(const Image& im, int64_t top, int64_t left, int64_t height, int64_t width) {
  Image out(height, width, im.channels);
  if (top < 0 || left < 0 || top + height > im.height || left + width > im.width)
    std::fill(out.pixels.begin(), out.pixels.end(), uint8_t(0));  // padding
  const int64_t c = im.channels;
  const int64_t x0 = std::max<int64_t>(left, 0), x1 = std::min<int64_t>(left + width, im.width);
  for (int64_t y = 0; y < height; ++y) {
    const int64_t sy = top + y;
    if (sy < 0 || sy >= im.height || x0 >= x1) continue;  // stays 0
    std::memcpy(out.row(y) + (x0 - left) * c, im.row(sy) + x0 * c, size_t((x1 - x0) * c));
  }
  return out;
}

Image hflip(const Image& im) {
  Image out(im.height, im.width, im.channels);
  const int64_t c = im.channels, w = im.width;
  for (int64_t y = 0; y < im.height; ++y) {
    const uint8_t* in = im.row(y);
    uint8_t* o = out.row(y);
    for (int64_t x = 0; x < w; ++x) std::memcpy(o + x * c, in + (w - 1 - x) * c, size_t(c));
  }
  return out;
}

Image vflip(const Image& im) {
  Image out(im.height, im.width, im.channels);
  const size_t row_bytes = size_t(im.width * im.channels);
  for (int64_t y = 0; y < im.height; ++y)
    std::memcpy(out.row(y), im.row(im.height - 1 - y), row_bytes);
  return out;
}

Image rotate_nearest(const Image& im, double degrees, double center_x, double center_y,
                     bool default_center, const std::vector<uint8_t>& fill) {
  const double angle = py_mod(degrees, 360.0);
  if (default_center) {
    if (angle == 0.0) return im;
    if (angle == 180.0) return quarter_turns(im, 2);
    if ((angle == 90.0 || angle == 270.0) && im.width == im.height)
      return quarter_turns(im, angle == 90.0 ? 1 : 3);
  }
  const double rad = -(angle * (M_PI / 180.0));  // math.radians
  double a[6] = {round15(std::cos(rad)),  round15(std::sin(rad)), 0.0,
                 round15(-std::sin(rad)), round15(std::cos(rad)), 0.0};
  a[2] = a[0] * -center_x + a[1] * -center_y + a[2] + center_x;
  a[5] = a[3] * -center_x + a[4] * -center_y + a[5] + center_y;
  Image out(im.height, im.width, im.channels);
  fill_image(out, fill);
  affine_nearest(im, a, out);
  return out;
}

}  // namespace greymatter::data
