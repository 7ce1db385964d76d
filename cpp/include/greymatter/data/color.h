// Colour steps with PIL's integer arithmetic, as torchvision applies them to PIL images:
// grey conversion (ITU-R 601-2 luma in 16.16 fixed point, PIL's convert("L")) and the four
// ColorJitter adjustments, each PIL's ImageEnhance blend of the image with a "degenerate" image
// (black, mean grey, the grey version) or torchvision's hue rotation through PIL's HSV conversion.
// A one-channel image stands for an RGB image with three equal channels: every function here gives
// the same result on it as on that RGB image, so grey data stays one channel.
#pragma once

#include "greymatter/data/image.h"

namespace greymatter::data {

// RGB -> L (one channel); a one-channel image is returned unchanged.
Image to_grey(const Image& im);

// Image.blend(degenerate, im, factor) for the ImageEnhance classes; factor is PIL's float.
Image adjust_brightness(const Image& im, float factor);
Image adjust_contrast(const Image& im, float factor);
Image adjust_saturation(const Image& im, float factor);
// torchvision's adjust_hue on PIL: H += uint8(hue * 255) modulo 256 in PIL's HSV; hue in [-0.5,
// 0.5].
Image adjust_hue(const Image& im, double hue);
// The same, computing PIL's conversions pixel by pixel instead of through tables (for tests).
Image adjust_hue_reference(const Image& im, double hue);

}  // namespace greymatter::data
