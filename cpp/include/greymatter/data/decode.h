// Reading and decoding image files into the pixels torchvision's ImageFolder would see: PIL's
// Image.open(path).convert("RGB"). Decoding uses OpenCV (imgcodecs); everything PIL does
// differently is undone here:
//   - EXIF orientation is ignored (PIL without ImageOps.exif_transpose does not rotate; OpenCV
//   would);
//   - channels come out RGB, not BGR; alpha is dropped, not composited (convert("RGB"));
//   - palette images are expanded through their palette;
//   - 16-bit PNGs: grey ones saturate at 255 like PIL's mode "I" -> "RGB" conversion (values are
//   not
//     rescaled), colour ones keep the high byte like PIL's "RGB;16B" unpacker;
//   - a grey file stays one channel: its RGB conversion would be that value three times, and every
//     step applies the same arithmetic per channel, so the pipeline widens it only when it must.
// JPEGs may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) when the pipeline asks.
// When the build found libjpeg, JPEGs go to it directly (the library OpenCV's codec wraps, same
// settings, same pixels) to skip OpenCV's BGR conversion; CMYK JPEGs and every other format go
// through OpenCV. Without OpenCV (GREYMATTER_WITH_OPENCV=OFF) decode_image throws ConfigError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "greymatter/data/image.h"
#include "greymatter/data/image_header.h"

namespace greymatter::data {

// True when this build can decode images (it was compiled with OpenCV).
bool have_image_decoder();

// Reads the whole file into `bytes` (reusing its capacity). Throws DataError naming the path when
// it does not exist, is not a regular file, cannot be read (permissions) or is empty.
void read_file(const std::string& path, std::vector<uint8_t>& bytes);

// Decodes `data` (already checked by inspect_image) into 1 (grey) or 3 (RGB) channels. `reduction`
// (1, 2, 4 or 8) shrinks JPEGs by DCT scaling to ceil(size / reduction); other formats ignore it.
// `via_opencv` sends JPEGs through OpenCV even when libjpeg is available (to test that path).
// Throws DataError naming `path` when the decoder rejects the data.
Image decode_image(const uint8_t* data, size_t size, const ImageHeader& header,
                   const std::string& path, int reduction = 1, bool via_opencv = false);

// The largest JPEG reduction (1, 2, 4 or 8) that keeps the decoded image at least `margin` times
// the target size on both sides, so a following antialiased resize stays within a pixel level or so
// of resizing the full-size decode. 1 when the target is not much smaller or the sizes are unknown.
int jpeg_reduction_for(int64_t height, int64_t width, int64_t target_height, int64_t target_width,
                       double margin);

}  // namespace greymatter::data
