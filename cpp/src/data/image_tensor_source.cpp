// ImageTensorSource: slices of a uint8 tensor as chain inputs.
#include "greymatter/data/image_tensor_source.h"

#include <cstring>

#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

torch::Tensor as_nhwc(torch::Tensor images) {
  if (images.scalar_type() != torch::kUInt8)
    throw ConfigError("images must be uint8, got " +
                      std::string(c10::toString(images.scalar_type())));
  if (images.dim() == 3) images = images.unsqueeze(3);  // (N, H, W) -> (N, H, W, 1)
  if (images.dim() != 4 || (images.size(3) != 1 && images.size(3) != 3))
    throw ConfigError("images must be (N, H, W) or (N, H, W, C) with C = 1 or 3, got shape " +
                      c10::str(images.sizes()));
  return images.contiguous();
}

}  // namespace

ImageTensorSource::ImageTensorSource(torch::Tensor images, torch::Tensor labels,
                                     const std::vector<TransformSpec>& transform, std::string what)
    : ImageSource(
          [&] {
            if (labels.dim() != 1)
              throw ConfigError("labels must be 1D, got shape " + c10::str(labels.sizes()));
            auto l = labels.to(torch::kInt64).contiguous();
            return std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
          }(),
          transform, as_nhwc(images).size(3), OnError::kRaise),
      images_(as_nhwc(std::move(images))),
      what_(std::move(what)) {
  if (images_.size(0) != size())
    throw ConfigError(std::to_string(images_.size(0)) + " images but " + std::to_string(size()) +
                      " labels");
  finish_construction();
}

Image ImageTensorSource::read(int64_t index, Size2* full) const {
  Image im(images_.size(1), images_.size(2), images_.size(3));
  const int64_t n = int64_t(im.pixels.size());
  std::memcpy(im.pixels.data(), images_.data_ptr<uint8_t>() + index * n, size_t(n));
  *full = {im.height, im.width};
  return im;
}

}  // namespace greymatter::data
