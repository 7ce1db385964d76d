// Private to decode.cpp: JPEG decoding through libjpeg-turbo directly, the library OpenCV's JPEG
// codec wraps, with the same settings (and PIL's: islow DCT, fancy upsampling), so the same pixels.
// Going direct saves OpenCV's RGB -> BGR pass and ours back, and decodes straight into the Image's
// rows. Only built when CMake finds libjpeg (GREYMATTER_WITH_LIBJPEG); decode.cpp falls back to
// OpenCV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "greymatter/data/image.h"

namespace greymatter::data {

// Decodes a grey or colour JPEG at 1/reduction scale (reduction 1, 2, 4 or 8) into `out`. Returns
// false, leaving `out` alone, for colour spaces it leaves to OpenCV (CMYK, YCCK). Throws DataError
// naming `path` when libjpeg rejects the data; libjpeg's warnings are ignored, as PIL ignores them.
bool decode_jpeg(const uint8_t* data, size_t size, int reduction, const std::string& path,
                 Image& out);

}  // namespace greymatter::data
