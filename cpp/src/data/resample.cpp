// Pillow-compatible resampling on uint8. The tap computation follows Pillow's precompute_coeffs /
// normalize_coeffs_8bpc exactly (same double arithmetic, same rounding), because a weight that
// differs in its last fixed-point bit can move an output pixel by one level.
#include "greymatter/data/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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
void horizontal(const ImageView& src, int64_t row0, int64_t rows, const Taps& t, Image& out,
                int64_t out_row0 = 0) {
  const int64_t out_w = out.width;
  for (int64_t y = 0; y < rows; ++y) {
    const uint8_t* in = src.row(row0 + y);
    uint8_t* o = out.row(out_row0 + y);
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

#if defined(__x86_64__) && defined(__GNUC__)
// The horizontal pass with AVX2, eight rows at a time: the eight rows are transposed so that each
// source byte's eight values sit together (SSE2 unpacks), every tap is then one 8-lane integer
// multiply-add, and the results go back to their rows. Integer arithmetic, so exactly the scalar
// sums. Returns the number of rows done (a multiple of 8); the caller does the rest.
#define GM_AVX2 __attribute__((target("avx2")))

GM_AVX2 void transpose_rows(const uint8_t* const rows[8], int64_t bytes, uint8_t* t) {
  int64_t o = 0;
  uint8_t tail[8][16];
  for (; o < bytes; o += 16) {
    __m128i a[8];
    for (int r = 0; r < 8; ++r) {
      if (o + 16 <= bytes) {
        a[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + o));
      } else {  // the row's last bytes: zero-padded copy, never read past the row
        std::memset(tail[r], 0, 16);
        std::memcpy(tail[r], rows[r] + o, size_t(bytes - o));
        a[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tail[r]));
      }
    }
    __m128i b[8], c[8];
    for (int i = 0; i < 4; ++i) {
      b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
      b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {  // rows 0-3 (i = 0) and 4-7 (i = 1)
      c[4 * i + 0] = _mm_unpacklo_epi16(b[4 * i], b[4 * i + 2]);
      c[4 * i + 1] = _mm_unpackhi_epi16(b[4 * i], b[4 * i + 2]);
      c[4 * i + 2] = _mm_unpacklo_epi16(b[4 * i + 1], b[4 * i + 3]);
      c[4 * i + 3] = _mm_unpackhi_epi16(b[4 * i + 1], b[4 * i + 3]);
    }
    for (int i = 0; i < 4; ++i) {  // byte pairs (4i, 4i+1) and (4i+2, 4i+3), each with its 8 rows
      const int64_t n = std::min<int64_t>(4, bytes - (o + 4 * i));
      if (n <= 0) break;
      const __m128i lo = _mm_unpacklo_epi32(c[i], c[4 + i]),
                    hi = _mm_unpackhi_epi32(c[i], c[4 + i]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(t + (o + 4 * i) * 8), lo);
      if (n > 2) _mm_storeu_si128(reinterpret_cast<__m128i*>(t + (o + 4 * i + 2) * 8), hi);
    }
  }
}

GM_AVX2 int64_t horizontal_avx2(const ImageView& src, int64_t row0, int64_t rows, const Taps& t,
                                Image& out) {
  const int64_t c = src.channels, in_bytes = src.width * c, out_w = out.width;
  thread_local std::vector<uint8_t> transposed, results;
  transposed.resize(size_t((in_bytes + 16) * 8));
  results.resize(size_t(out_w * c * 8 + 16));
  const __m256i bias = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  int64_t y = 0;
  for (; y + 8 <= rows; y += 8) {
    const uint8_t* in[8];
    for (int r = 0; r < 8; ++r) in[r] = src.row(row0 + y + r);
    transpose_rows(in, in_bytes, transposed.data());
    for (int64_t xx = 0; xx < out_w; ++xx) {
      const int32_t* k = t.weights.data() + xx * t.ksize;
      const int64_t n = t.count[size_t(xx)], first = t.first[size_t(xx)] * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        __m256i acc = bias;
        for (int64_t x = 0; x < n; ++x) {
          const __m128i bytes8 = _mm_loadl_epi64(
              reinterpret_cast<const __m128i*>(transposed.data() + (first + x * c + ch) * 8));
          acc = _mm256_add_epi32(
              acc, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(bytes8), _mm256_set1_epi32(k[x])));
        }
        const __m256i shifted = _mm256_srai_epi32(acc, kPrecisionBits);
        const __m128i words =
            _mm_packs_epi32(_mm256_castsi256_si128(shifted), _mm256_extracti128_si256(shifted, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(results.data() + (xx * c + ch) * 8),
                         _mm_packus_epi16(words, words));
      }
    }
    for (int r = 0; r < 8; ++r) {
      uint8_t* o = out.row(y + r);
      const uint8_t* res = results.data() + r;
      for (int64_t i = 0; i < out_w * c; ++i) o[i] = res[i * 8];
    }
  }
  return y;
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
int64_t horizontal_avx2(const ImageView&, int64_t, int64_t, const Taps&, Image&) { return 0; }
bool have_avx2() { return false; }
#endif

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
    const int64_t done = have_avx2() ? horizontal_avx2(src, row0, row1 - row0, th, mid) : 0;
    // The scalar pass takes the rows the vector pass left (all of them without AVX2).
    if (src.channels == 3)
      horizontal<3>(src, row0 + done, row1 - row0 - done, th, mid, done);
    else
      horizontal<1>(src, row0 + done, row1 - row0 - done, th, mid, done);
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
  for (int64_t x = 0; x < out_w; ++x, xo += sx)
    xin[size_t(x)] = std::min<int64_t>(int64_t(xo), src.width - 1);
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
