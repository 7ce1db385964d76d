// An 8-bit image in memory: height x width x channels, interleaved (HWC), rows packed. This is what
// the decoder produces and every uint8 transform step consumes. channels is 1 (PIL mode "L") or 3
// ("RGB"). Not a tensor and not a view: each step returns a new Image (buffers are small and
// short-lived).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace greymatter::data {

// Leaves new elements uninitialised: every step writes all of its output, so zeroing each buffer
// first would be a wasted pass over the image.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using PixelBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

struct Image {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  PixelBuffer pixels;  // (H, W, C); contents undefined until written

  Image() = default;
  Image(int64_t h, int64_t w, int64_t c)
      : height(h), width(w), channels(c), pixels(size_t(h * w * c)) {}

  int64_t row_bytes() const { return width * channels; }
  uint8_t* row(int64_t y) { return pixels.data() + y * row_bytes(); }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * row_bytes(); }
  bool empty() const { return pixels.empty(); }
  std::string shape_string() const {
    return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
  }
};

// A rectangle of an Image, read-only: lets a crop feed a resample without a copy.
struct ImageView {
  const uint8_t* data = nullptr;  // first pixel of the rectangle
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  int64_t stride = 0;  // bytes from one row to the next

  ImageView() = default;
  explicit ImageView(const Image& im)
      : data(im.pixels.data()),
        height(im.height),
        width(im.width),
        channels(im.channels),
        stride(im.row_bytes()) {}
  // Rows [top, top + h), columns [left, left + w) of `im`; the caller keeps them inside the image.
  ImageView(const Image& im, int64_t top, int64_t left, int64_t h, int64_t w)
      : data(im.pixels.data() + top * im.row_bytes() + left * im.channels),
        height(h),
        width(w),
        channels(im.channels),
        stride(im.row_bytes()) {}
  const uint8_t* row(int64_t y) const { return data + y * stride; }
};

}  // namespace greymatter::data
