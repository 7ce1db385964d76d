// TestTimeAugmentation (see tta.h): the views and their average.
#include "greymatter/train/tta.h"

#include <algorithm>
#include <cmath>

#include "greymatter/errors.h"

namespace greymatter::train {

const char* tta_augmentation_name(TtaAugmentation augmentation) {
  switch (augmentation) {
    case TtaAugmentation::kHFlip:
      return "hflip";
    case TtaAugmentation::kVFlip:
      return "vflip";
    default:
      return "crops";
  }
}

TestTimeAugmentation::TestTimeAugmentation(std::vector<TtaAugmentation> augmentations,
                                           double crop_scale)
    : augmentations_(std::move(augmentations)), crop_scale_(crop_scale) {
  if (!(crop_scale_ > 0.0 && crop_scale_ < 1.0))
    throw ConfigError("TTA crop_scale must be in (0, 1), got " + std::to_string(crop_scale_));
  if (augmentations_.empty()) return;
  views_.push_back({View::kIdentity});
  for (size_t i = 0; i < augmentations_.size(); ++i) {
    const TtaAugmentation augmentation = augmentations_[i];
    if (std::find(augmentations_.begin(), augmentations_.begin() + i, augmentation) !=
        augmentations_.begin() + i)
      throw ConfigError("TTA augmentation '" + std::string(tta_augmentation_name(augmentation)) +
                        "' is listed twice");
    switch (augmentation) {
      case TtaAugmentation::kHFlip:
        views_.push_back({View::kHFlip});
        break;
      case TtaAugmentation::kVFlip:
        views_.push_back({View::kVFlip});
        break;
      case TtaAugmentation::kCrops:
        for (int corner = 0; corner < 5; ++corner) views_.push_back({View::kCrop, corner});
        break;
    }
  }
}

torch::Tensor TestTimeAugmentation::view(const torch::Tensor& images, int64_t i) const {
  if (images.dim() != 4)
    throw ConfigError("test-time augmentation works on image batches (B, C, H, W), got " +
                      c10::str(images.sizes()));
  if (i < 0 || i >= std::max<int64_t>(num_views(), 1))
    throw ConfigError("TTA view " + std::to_string(i) + " out of range for " +
                      std::to_string(num_views()) + " views");
  if (views_.empty()) return images;
  const auto& v = views_[static_cast<size_t>(i)];
  switch (v.kind) {
    case View::kIdentity:
      return images;
    case View::kHFlip:
      return images.flip({3});
    case View::kVFlip:
      return images.flip({2});
    case View::kCrop:
      break;
  }
  const int64_t h = images.size(2), w = images.size(3);
  const int64_t ch = std::max<int64_t>(1, std::lround(crop_scale_ * double(h)));
  const int64_t cw = std::max<int64_t>(1, std::lround(crop_scale_ * double(w)));
  int64_t top = (v.corner >= 2 && v.corner < 4) ? h - ch : 0;
  int64_t left = (v.corner == 1 || v.corner == 3) ? w - cw : 0;
  if (v.corner == 4) top = (h - ch) / 2, left = (w - cw) / 2;
  auto crop = images.narrow(2, top, ch).narrow(3, left, cw);  // (B, C, ch, cw)
  return at::upsample_bilinear2d(crop, {h, w}, /*align_corners=*/false);
}

torch::Tensor TestTimeAugmentation::probabilities(
    const std::function<torch::Tensor(const torch::Tensor&)>& forward, const Loss& loss,
    const torch::Tensor& images) const {
  auto sum = loss.probabilities(forward(view(images, 0))).to(torch::kFloat32);
  for (int64_t i = 1; i < num_views(); ++i)
    sum = sum + loss.probabilities(forward(view(images, i))).to(torch::kFloat32);
  return num_views() > 1 ? sum / double(num_views()) : sum;
}

}  // namespace greymatter::train
