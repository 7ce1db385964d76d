// The process-wide pixel limit: one atomic, read by every decode and transform check.
#include "greymatter/data/pixel_limit.h"

#include <atomic>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

std::atomic<int64_t> g_limit{kDefaultMaxImagePixels};

// width * height in decimal; TIFF sides reach 2^32 each, past int64.
std::string product_text(int64_t width, int64_t height) {
  unsigned __int128 p = (unsigned __int128)uint64_t(width) * uint64_t(height);
  std::string out;
  do {
    out.insert(out.begin(), char('0' + int(p % 10)));
    p /= 10;
  } while (p != 0);
  return out;
}

}  // namespace

int64_t max_image_pixels() { return g_limit.load(std::memory_order_relaxed); }

void set_max_image_pixels(int64_t pixels) {
  if (pixels < 0)
    throw ConfigError(
        "max_image_pixels must be a positive number of pixels (or 0/None for no "
        "limit), got " +
        std::to_string(pixels));
  g_limit.store(pixels, std::memory_order_relaxed);
}

bool fits_pixel_limit(int64_t height, int64_t width) {
  const int64_t limit = max_image_pixels();
  if (limit == 0) return true;
  // Division instead of a product: sides up to 2^32 each cannot overflow the comparison.
  return height <= 0 || width <= 0 || width <= limit / height;
}

void check_image_pixels(int64_t width, int64_t height, const std::string& path) {
  if (fits_pixel_limit(height, width)) return;
  throw DataError("'" + path + "' is " + std::to_string(width) + "x" + std::to_string(height) +
                  " pixels (" + product_text(width, height) + "), over the limit of " +
                  std::to_string(max_image_pixels()) +
                  " pixels for one image (a decompression bomb, or a very large image: "
                  "greymatter.datasets.set_max_image_pixels raises the limit)");
}

}  // namespace greymatter::data
