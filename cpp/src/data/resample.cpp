// Pillow-compatible resampling on uint8. The tap computation follows Pillow's precompute_coeffs /
// normalize_coeffs_8bpc exactly (same double arithmetic, same rounding), because a weight that
// differs in its last fixed-point bit can move an output pixel by one level.
#include "greymatter/data/resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace greymatter::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double cubic(double x) {  // Keys cubic with a = -0.5, as Pillow's bicubic_filter
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output position: the first input index, the number of taps, and fixed-point weights.
struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;  // out_size x ksize
};

Taps compute_taps(int64_t in_size, int64_t out_size, Interpolation mode) {
  const double base_support = mode == Interpolation::kBicubic ? 2.0 : 1.0;
  double (*filter)(double) = mode == Interpolation::kBicubic ? cubic : triangle;
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = base_support * filterscale;
  Taps t;
  t.ksize = int64_t(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out_size));
  t.count.resize(size_t(out_size));
  t.weights.assign(size_t(out_size * t.ksize), 0);
  std::vector<double> k(size_t(t.ksize));
  const double ss = 1.0 / filterscale;
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (double(xx) + 0.5) * scale;
    // C's (int) truncation, then clamping, exactly as Pillow rounds the window ends.
    int64_t xmin = int64_t(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = int64_t(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double sum = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      k[size_t(x)] = filter((double(x + xmin) - center + 0.5) * ss);
      sum += k[size_t(x)];
    }
    int32_t* w = t.weights.data() + xx * t.ksize;
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = sum != 0.0 ? k[size_t(x)] / sum : k[size_t(x)];
      const double scaled = v * double(1 << kPrecisionBits);
      w[x] = int32_t(v < 0 ? -0.5 + scaled : 0.5 + scaled);  // round half away from zero
    }
    t.first[size_t(xx)] = xmin;
    t.count[size_t(xx)] = xmax;
  }
  return t;
}

inline uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, as Pillow
  return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Horizontal pass over rows [row0, row0 + rows) of src into `out` (rows x out_w x C).
template <int C>
void horizontal(const ImageView& src, int64_t row0, int64_t rows, const Taps& t, Image& out) {
  const int64_t out_w = out.width;
  for (int64_t y = 0; y < rows; ++y) {
    const uint8_t* in = src.row(row0 + y);
    uint8_t* o = out.row(y);
    for (int64_t xx = 0; xx < out_w; ++xx) {
      const int32_t* k = t.weights.data() + xx * t.ksize;
      const uint8_t* p = in + t.first[size_t(xx)] * C;
      const int64_t n = t.count[size_t(xx)];
      int32_t acc[C];
      for (int c = 0; c < C; ++c) acc[c] = 1 << (kPrecisionBits - 1);
      for (int64_t x = 0; x < n; ++x)
        for (int c = 0; c < C; ++c) acc[c] += int32_t(p[x * C + c]) * k[x];
      for (int c = 0; c < C; ++c) o[xx * C + c] = clip8(acc[c]);
    }
  }
}

// Vertical pass: output row yy mixes rows first[yy] - row0 ... of `src`.
void vertical(const ImageView& src, int64_t row0, const Taps& t, Image& out) {
  const int64_t n = out.width * out.channels;
  std::vector<int32_t> acc(static_cast<size_t>(n));
  for (int64_t yy = 0; yy < out.height; ++yy) {
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    const int32_t* k = t.weights.data() + yy * t.ksize;
    const int64_t first = t.first[size_t(yy)] - row0;
    for (int64_t y = 0; y < t.count[size_t(yy)]; ++y) {
      const uint8_t* in = src.row(first + y);
      const int32_t w = k[y];
      int32_t* a = acc.data();
      for (int64_t i = 0; i < n; ++i) a[i] += int32_t(in[i]) * w;
    }
    uint8_t* o = out.row(yy);
    for (int64_t i = 0; i < n; ++i) o[i] = clip8(acc[size_t(i)]);
  }
}

Image resize_convolution(const ImageView& src, int64_t out_h, int64_t out_w, Interpolation mode) {
  const bool need_h = out_w != src.width, need_v = out_h != src.height;
  const Taps th = need_h ? compute_taps(src.width, out_w, mode) : Taps{};
  const Taps tv = need_v ? compute_taps(src.height, out_h, mode) : Taps{};
  // Only the source rows the vertical pass reads go through the horizontal pass.
  const int64_t row0 = need_v ? tv.first.front() : 0;
  const int64_t row1 = need_v ? tv.first.back() + tv.count.back() : src.height;
  Image mid;
  ImageView mid_view = src;
  int64_t mid_row0 = 0;
  if (need_h) {
    mid = Image(row1 - row0, out_w, src.channels);
    if (src.channels == 3) horizontal<3>(src, row0, row1 - row0, th, mid);
    else horizontal<1>(src, row0, row1 - row0, th, mid);
    mid_view = ImageView(mid);
    mid_row0 = row0;
    if (!need_v) return mid;
  }
  Image out(out_h, out_w, src.channels);
  vertical(mid_view, mid_row0, tv, out);
  return out;
}

Image resize_nearest(const ImageView& src, int64_t out_h, int64_t out_w) {
  const int64_t c = src.channels;
  const double sx = double(src.width) / double(out_w), sy = double(src.height) / double(out_h);
  std::vector<int64_t> xin(static_cast<size_t>(out_w));
  double xo = sx * 0.5;
  for (int64_t x = 0; x < out_w; ++x, xo += sx) xin[size_t(x)] = std::min<int64_t>(int64_t(xo), src.width - 1);
  Image out(out_h, out_w, c);
  double yo = sy * 0.5;
  for (int64_t y = 0; y < out_h; ++y, yo += sy) {
    const uint8_t* in = src.row(std::min<int64_t>(int64_t(yo), src.height - 1));
    uint8_t* o = out.row(y);
    for (int64_t x = 0; x < out_w; ++x)
      for (int64_t ch = 0; ch < c; ++ch) o[x * c + ch] = in[xin[size_t(x)] * c + ch];
  }
  return out;
}

}  // namespace

Image resize(const ImageView& src, int64_t out_height, int64_t out_width, Interpolation mode) {
  if (out_height == src.height && out_width == src.width) {  // Pillow copies; so do we
    Image out(src.height, src.width, src.channels);
    for (int64_t y = 0; y < src.height; ++y) std::copy_n(src.row(y), out.row_bytes(), out.row(y));
    return out;
  }
  if (mode == Interpolation::kNearest) return resize_nearest(src, out_height, out_width);
  return resize_convolution(src, out_height, out_width, mode);
}

}  // namespace greymatter::data
