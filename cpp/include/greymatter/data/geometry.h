// Geometric steps on uint8 images with PIL's semantics: crop (areas outside the image read as 0, as
// PIL's Image.crop pads), horizontal flip, and rotation about a centre with nearest-neighbour
// sampling (Pillow's Image.rotate: the inverse affine map in 16.16 fixed point, area outside the
// source filled). Not here: drawing random parameters (transforms.cpp) or resizing (resample.h).
#pragma once

#include <cstdint>
#include <vector>

#include "greymatter/data/image.h"

namespace greymatter::data {

// Rows [top, top + height) and columns [left, left + width) of `im`; any part outside is 0.
Image crop(const Image& im, int64_t top, int64_t left, int64_t height, int64_t width);

Image hflip(const Image& im);
Image vflip(const Image& im);

// Rotates counter-clockwise by `degrees` about (center_x, center_y) in pixel coordinates (PIL's
// default centre is (width / 2, height / 2)); the output keeps the input size. `fill` has one value
// per channel of `im`. `default_center` selects PIL's shortcuts for multiples of 90 degrees, which
// apply only when no centre was given.
Image rotate_nearest(const Image& im, double degrees, double center_x, double center_y,
                     bool default_center, const std::vector<uint8_t>& fill);

}  // namespace greymatter::data
