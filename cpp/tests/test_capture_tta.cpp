// Named taps and test-time augmentation in C++ alone: a capture sees every layer under its PyTorch
// name and changes no output; a nested model reports under its path; gradients reach a frozen
// backbone's taps; TTA views are the flips and crops they claim and average as documented.
// Equivalence with PyTorch hooks and hand-computed TTA is tested in Python (tests/test_capture.py,
// tests/test_tta.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "greymatter/errors.h"
#include "greymatter/models/capture.h"
#include "greymatter/models/cnns.h"
#include "greymatter/models/transfer_classifier.h"
#include "greymatter/train/tta.h"

using namespace greymatter::models;
using greymatter::ConfigError;
using greymatter::train::Loss;
using greymatter::train::LossConfig;
using greymatter::train::TestTimeAugmentation;
using greymatter::train::tta_augmentation_name;
using greymatter::train::TtaAugmentation;

namespace {

std::vector<std::string> names_of(const Captured& c) {
  std::vector<std::string> names;
  for (const auto& a : c.activations) names.push_back(a.first);
  return names;
}

}  // namespace

TEST(Capture, RecordsEveryTapInForwardOrderAndChangesNothing) {
  torch::manual_seed(0);
  BrainTumorCNN model(BrainTumorCNNOptions{3, 4, 64});
  model->eval();
  auto x = torch::randn({2, 3, 64, 64});
  torch::NoGradGuard no_grad;
  const auto plain = model->forward(x);
  const auto all = capture(*model, x, {});
  const std::vector<std::string> expected = {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3",
                                             "conv4", "bn4", "conv5", "bn5", "fc1",   "fc2"};
  EXPECT_EQ(all.layers, expected);
  EXPECT_EQ(names_of(all), expected);
  EXPECT_TRUE(torch::equal(all.output, plain));
  EXPECT_TRUE(torch::equal(all.activations.back().second, plain));  // fc2 is the output
  EXPECT_EQ(all.activations[0].second.sizes(), (std::vector<int64_t>{2, 32, 64, 64}));
  EXPECT_TRUE(torch::equal(model->forward(x), plain));  // no capture left attached

  const auto some = capture(*model, x, {"bn3", "conv1"});
  EXPECT_EQ(names_of(some), (std::vector<std::string>{"conv1", "bn3"}));
  EXPECT_TRUE(torch::equal(some.activations[1].second, all.activations[5].second));
}

TEST(Capture, UnknownNamesListTheLayers) {
  SimpleCNN model;
  try {
    capture(*model, torch::randn({1, 1, 28, 28}), {"conv2"});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "SimpleCNN has no layer 'conv2' to capture; its layers: conv1, fc1");
  }
  EXPECT_NO_THROW(capture(*model, torch::randn({1, 1, 28, 28}), {"conv1"}));
}

TEST(Capture, NestedModelsReportTheirPathAndFrozenTapsGetGradients) {
  TransferClassifier model(TransferClassifierOptions{Backbone::kMobileNetV2, 3, 8, 0.0, true});
  model->eval();
  auto x = torch::randn({1, 3, 32, 32});
  auto c = capture(*model, x, {"base_model.features.18", "output_layer"});
  ASSERT_EQ(c.activations.size(), 2u);
  EXPECT_EQ(c.activations[0].first, "base_model.features.18");
  EXPECT_EQ(c.layers.front(), "base_model.features.0");
  EXPECT_EQ(c.layers.back(), "output_layer");
  const auto& features = c.activations[0].second;
  ASSERT_TRUE(features.requires_grad());  // a leaf made for the capture: the backbone is frozen
  auto grad = torch::autograd::grad({c.output[0][1]}, {features})[0];
  EXPECT_EQ(grad.sizes(), features.sizes());
  EXPECT_GT(grad.abs().max().item<float>(), 0.0f);
  for (const auto& p : model->base_model().parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(TestTimeAugmentation, ViewsAreFlipsAndResizedCrops) {
  auto x = torch::arange(2 * 3 * 8 * 8, torch::kFloat32).reshape({2, 3, 8, 8});
  TestTimeAugmentation none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.num_views(), 0);
  TestTimeAugmentation tta(
      {TtaAugmentation::kHFlip, TtaAugmentation::kVFlip, TtaAugmentation::kCrops}, 0.75);
  ASSERT_EQ(tta.num_views(), 8);
  EXPECT_TRUE(torch::equal(tta.view(x, 0), x));
  EXPECT_TRUE(torch::equal(tta.view(x, 1), x.flip({3})));
  EXPECT_TRUE(torch::equal(tta.view(x, 2), x.flip({2})));
  // Bottom-right crop of 6x6, resized back to 8x8: its corner pixel is the image's.
  auto crop = tta.view(x, 6);
  EXPECT_EQ(crop.sizes(), x.sizes());
  EXPECT_FLOAT_EQ(crop[1][2][7][7].item<float>(), x[1][2][7][7].item<float>());
  EXPECT_THROW(TestTimeAugmentation({TtaAugmentation::kHFlip, TtaAugmentation::kHFlip}),
               ConfigError);
  EXPECT_THROW(TestTimeAugmentation({TtaAugmentation::kCrops}, 1.0), ConfigError);
  EXPECT_STREQ(tta_augmentation_name(TtaAugmentation::kVFlip), "vflip");
  EXPECT_THROW(tta.view(torch::zeros({2, 64}), 1), ConfigError);
}

TEST(TestTimeAugmentation, AveragesProbabilitiesAndTheLossScoresTheMean) {
  Loss loss(LossConfig{});
  TestTimeAugmentation tta({TtaAugmentation::kHFlip});
  auto x = torch::randn({4, 1, 5, 5});
  auto weights = torch::randn({25, 3});
  auto forward = [&](const torch::Tensor& v) { return v.flatten(1).matmul(weights); };
  auto mean = tta.probabilities(forward, loss, x);
  auto expected = (forward(x).softmax(1) + forward(x.flip({3})).softmax(1)) / 2;
  EXPECT_TRUE(torch::allclose(mean, expected, 0, 1e-6));
  // The output that stands for the mean gives it back, and its loss is the mean's cross-entropy.
  auto out = loss.output_for(mean);
  EXPECT_TRUE(torch::allclose(loss.probabilities(out), mean, 0, 1e-6));
  auto labels = torch::tensor({0, 2, 1, 1}, torch::kInt64);
  auto nll = -mean.log().gather(1, labels.unsqueeze(1)).mean();
  EXPECT_NEAR(loss(out, labels).item<float>(), nll.item<float>(), 1e-6);
}
