// The largest image greymatter agrees to decode or make, in pixels, for the whole process. Images
// come from strangers: a 1 KB file can claim 65500x65500 pixels, and decoding it would allocate
// gigabytes before anything notices. Every path checks the size a header states against this limit
// before allocating (inspect_image), and transforms check the sizes they would produce. The default
// is PIL's Image.MAX_IMAGE_PIXELS, so greymatter refuses what torchvision's loader would refuse.
#pragma once

#include <cstdint>
#include <string>

namespace greymatter::data {

// PIL's default: 1024 * 1024 * 1024 // 4 // 3 pixels.
constexpr int64_t kDefaultMaxImagePixels = 89478485;

// The current limit; 0 means no limit.
int64_t max_image_pixels();

// Sets the limit (0: none). Throws ConfigError for a negative value. Safe to call from any thread;
// loaders already running see the new value for the next file they read.
void set_max_image_pixels(int64_t pixels);

// Throws DataError naming `path` and the size when width x height is over the limit.
void check_image_pixels(int64_t width, int64_t height, const std::string& path);

// Whether an output of height x width pixels fits the limit (for transforms: no file to name).
bool fits_pixel_limit(int64_t height, int64_t width);

}  // namespace greymatter::data
