// What an encoded image file is, read from its bytes without decoding pixels: the format (by
// signature, not by extension), the size when the header states it, and whether a JPEG or PNG
// stream is complete. Used to refuse truncated or non-image files with a clear message before the
// decoder sees them, to pick a reduced JPEG decode, and to learn sample sizes cheaply.
// Not a decoder (decode.h) and not a full validator: corrupt entropy-coded data passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace greymatter::data {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kPnm, kTiff, kWebp, kGif };

const char* format_name(ImageFormat f);

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int64_t width = 0;  // from the header; inspect_image refuses a file whose header does not say
  int64_t height = 0;
  int components =
      0;  // JPEG: colour components (1 gray, 3 YCbCr/RGB, 4 CMYK); PNG: samples per pixel
  int bit_depth = 0;  // PNG only
};

// Identifies the format from the first bytes; kUnknown when no supported signature matches.
ImageFormat sniff_format(const uint8_t* data, size_t size);

// Parses the header and, for JPEG and PNG, walks the stream's structure to its end marker.
// Throws DataError naming `path` for an empty file, an unknown signature, a header that states no
// size, a size over the pixel limit (pixel_limit.h), or a truncated or malformed JPEG/PNG stream.
// Every decode goes through this first, so nothing is allocated for a size over the limit.
ImageHeader inspect_image(const uint8_t* data, size_t size, const std::string& path);

}  // namespace greymatter::data
