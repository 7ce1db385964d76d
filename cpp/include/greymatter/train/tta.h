// Test-time augmentation: a prediction averaged over fixed views of each image batch: the image
// itself plus, as asked, its horizontal flip (kHFlip, "hflip"), its vertical flip (kVFlip, "vflip")
// and five crops (kCrops, "crops": the four corners and the centre, each crop_scale of the side,
// resized back to the full size bilinearly). Every view is deterministic, so a TTA evaluation is
// repeatable. The Engine applies it inside its evaluate/predict loops; the mean is taken over class
// probabilities (the Loss's), and Loss::output_for turns it back into an output the loss and
// accuracy can score. Not here: random augmentations (data/transforms) or training-time use.
#pragma once

#include <torch/types.h>

#include <functional>
#include <vector>

#include "greymatter/train/loss.h"

namespace greymatter::train {

// The views TTA can add to the image itself.
enum class TtaAugmentation { kHFlip, kVFlip, kCrops };

// The name users write for it ("hflip", "vflip", "crops").
const char* tta_augmentation_name(TtaAugmentation augmentation);

class TestTimeAugmentation {
 public:
  // Each augmentation at most once; empty: no TTA. A repeated one or a crop_scale outside (0, 1) is
  // a ConfigError.
  explicit TestTimeAugmentation(std::vector<TtaAugmentation> augmentations = {},
                                double crop_scale = 0.875);

  bool empty() const { return augmentations_.empty(); }
  const std::vector<TtaAugmentation>& augmentations() const { return augmentations_; }
  double crop_scale() const { return crop_scale_; }
  // Views averaged, the image itself included: 1 + hflip + vflip + 5 per crops.
  int64_t num_views() const { return static_cast<int64_t>(views_.size()); }
  // View i of a (B, C, H, W) batch, same shape; view 0 is the batch itself.
  torch::Tensor view(const torch::Tensor& images, int64_t i) const;
  // Mean over the views of loss.probabilities(forward(view)): (B, C), or (B, 1) for a binary loss.
  torch::Tensor probabilities(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                              const Loss& loss, const torch::Tensor& images) const;

 private:
  enum class View { kIdentity, kHFlip, kVFlip, kCrop };
  struct ViewSpec {
    View kind;
    int corner = 0;  // crops: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, 4 centre
  };
  std::vector<TtaAugmentation> augmentations_;
  double crop_scale_;
  std::vector<ViewSpec> views_;
};

}  // namespace greymatter::train
