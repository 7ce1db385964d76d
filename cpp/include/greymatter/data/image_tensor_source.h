// ImageTensorSource: an ImageSource over images already in memory as one uint8 tensor, (N, H, W)
// grey or (N, H, W, C) with C = 1 or 3 — MNIST / Fashion-MNIST when their transforms go beyond
// ToTensor and Normalize (Resize, RandomRotation, Grayscale(3), ...). Grey data is torchvision's
// mode "L": it stays one channel unless the chain asks for three. Not here: plain ToTensor +
// Normalize over the same data, which TensorSource does with a single table lookup.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "greymatter/data/image_source.h"

namespace greymatter::data {

class ImageTensorSource : public ImageSource {
 public:
  // images: uint8 (N, H, W) or (N, H, W, C); labels: N integers. `what` names the data in messages.
  ImageTensorSource(torch::Tensor images, torch::Tensor labels,
                    const std::vector<TransformSpec>& transform, std::string what = "image");

 protected:
  Image read(int64_t index, Size2* full) const override;
  Size2 peek_size(int64_t) const override { return {images_.size(1), images_.size(2)}; }
  std::string name(int64_t index) const override { return what_ + " " + std::to_string(index); }

 private:
  torch::Tensor images_;  // uint8 (N, H, W, C), contiguous
  std::string what_;
};

}  // namespace greymatter::data
