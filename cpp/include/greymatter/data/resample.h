// Image resizing with Pillow's arithmetic, so Resize / RandomResizedCrop give the pixels
// torchvision gets on PIL images. BILINEAR and BICUBIC are Pillow's separable convolution
// (ImagingResample): a triangle or a = -0.5 cubic kernel whose support grows with the downscale
// factor (that is the antialiasing), weights normalised per output pixel then quantised to 22-bit
// fixed point, a horizontal pass rounded to uint8, then a vertical pass rounded and clipped.
// NEAREST is Pillow's affine scaling: source pixel floor((x + 0.5) * in / out) accumulated in
// double. Not here: choosing the output size (transforms.cpp) or cropping (geometry.h).
#pragma once

#include <cstdint>

#include "greymatter/data/image.h"

namespace greymatter::data {

// torchvision's InterpolationMode values greymatter supports.
enum class Interpolation { kNearest, kBilinear, kBicubic };

// Resizes `src` (any rectangle of an image) to out_height x out_width.
Image resize(const ImageView& src, int64_t out_height, int64_t out_width, Interpolation mode);

}  // namespace greymatter::data
