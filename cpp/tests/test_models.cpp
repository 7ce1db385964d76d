// Models in C++ alone: known sizes (torchvision's MobileNetV2 parameter count), PyTorch-format
// printouts, state order, the fused BatchNorm+ReLU6 against the unfused layers, and a frozen
// backbone's modes. Equivalence with PyTorch/torchvision models is tested in Python
// (tests/test_models_*.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "greymatter/errors.h"
#include "greymatter/models/batch_norm_relu6.h"
#include "greymatter/models/cnns.h"
#include "greymatter/models/mobilenet_v2.h"
#include "greymatter/models/printout.h"
#include "greymatter/models/transfer_classifier.h"

using namespace greymatter::models;
using greymatter::ConfigError;

namespace {

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::string config_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no ConfigError";
}

}  // namespace

TEST(Models, MobileNetV2HasTorchvisionsSize) {
  MobileNetV2 m;
  EXPECT_EQ(count(*m), 3504872);  // torchvision's MobileNet_V2_Weights meta "num_params"
  // The paper's figure: about 300M multiply-adds at 224x224.
  EXPECT_GT(m->macs_per_sample(), 295'000'000);
  EXPECT_LT(m->macs_per_sample(), 305'000'000);
  auto y = m->forward(torch::randn({2, 3, 64, 64}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 1000}));
}

TEST(Models, PythonFloatReprs) {
  EXPECT_EQ(python_float(1e-5), "1e-05");
  EXPECT_EQ(python_float(0.1), "0.1");
  EXPECT_EQ(python_float(0.0), "0.0");
  EXPECT_EQ(python_float(2.0), "2.0");
  EXPECT_EQ(python_float(0.0001), "0.0001");
  EXPECT_EQ(python_float(123.5), "123.5");
  EXPECT_EQ(python_float(-0.5), "-0.5");
  EXPECT_EQ(python_float(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float(1e16), "1e+16");
  EXPECT_EQ(python_float(1e15), "1000000000000000.0");
}

TEST(Models, PrintoutIsPyTorchs) {
  torch::nn::Conv2d dw(
      torch::nn::Conv2dOptions(32, 32, 3).stride(2).padding(1).groups(32).bias(false));
  EXPECT_EQ(
      pytorch_repr(*dw),
      "Conv2d(32, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=32, bias=False)");
  SimpleCNN cnn;
  EXPECT_EQ(pytorch_repr(*cnn),
            "SimpleCNN(\n"
            "  (conv1): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  (fc1): Linear(in_features=1568, out_features=10, bias=True)\n"
            ")");
}

TEST(Models, StateTensorsFollowPyTorchOrder) {
  MNISTCNNOptions o;
  o.batch_norm = true;
  MNISTCNN m(o);
  std::vector<std::string> names;
  for (const auto& [name, t] : state_tensors(*m)) names.push_back(name);
  const std::vector<std::string> head = {"conv1.weight",
                                         "conv1.bias",
                                         "bn1.weight",
                                         "bn1.bias",
                                         "bn1.running_mean",
                                         "bn1.running_var",
                                         "bn1.num_batches_tracked",
                                         "conv2.weight"};
  ASSERT_GE(names.size(), head.size());
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + head.size()), head);
  EXPECT_EQ(names.back(), "fc2.bias");
}

// The fused node against BatchNorm2d -> hardtanh over two training steps (running statistics
// carried on), then in eval mode; with momentum 0.1 and with a cumulative average (momentum =
// None).
void check_fused_batch_norm_relu6(const torch::nn::BatchNormOptions& opts) {
  torch::manual_seed(0);
  torch::nn::BatchNorm2d fused(opts), plain(opts);
  {
    torch::NoGradGuard no_grad;
    fused->weight.uniform_(0.5, 3.0);
    fused->bias.uniform_(-1.0, 4.0);  // pushes values past both ends of [0, 6]
    plain->weight.copy_(fused->weight);
    plain->bias.copy_(fused->bias);
  }
  for (int step = 0; step < 2; ++step) {
    auto x = torch::randn({4, 6, 5, 5}) * 3;
    auto x1 = x.clone().requires_grad_(true), x2 = x.clone().requires_grad_(true);
    auto y1 = batch_norm_relu6(*fused, x1);
    auto y2 = at::hardtanh(plain->forward(x2), 0.0, 6.0);
    ASSERT_TRUE(torch::equal(y1, y2));
    auto w = torch::randn_like(y1);
    (y1 * w).sum().backward();
    (y2 * w).sum().backward();
    EXPECT_TRUE(torch::equal(x1.grad(), x2.grad()));
    EXPECT_TRUE(torch::allclose(fused->weight.grad(), plain->weight.grad()));
    EXPECT_TRUE(torch::allclose(fused->bias.grad(), plain->bias.grad()));
    EXPECT_TRUE(torch::equal(fused->running_mean, plain->running_mean));
    EXPECT_TRUE(torch::equal(fused->running_var, plain->running_var));
    EXPECT_EQ(fused->num_batches_tracked.item<int64_t>(), step + 1);
  }
  fused->eval();
  plain->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 6, 3, 3}) * 3;
  EXPECT_TRUE(torch::equal(batch_norm_relu6(*fused, x), at::hardtanh(plain->forward(x), 0.0, 6.0)));
}

TEST(Models, FusedBatchNormReLU6MatchesTheLayers) {
  check_fused_batch_norm_relu6(torch::nn::BatchNormOptions(6));
  check_fused_batch_norm_relu6(torch::nn::BatchNormOptions(6).momentum(c10::nullopt));
}

TEST(Models, FrozenBackboneStaysInEvalModeWithoutAutograd) {
  TransferClassifierOptions o;
  o.num_classes = 3;
  o.size_inner = 8;
  TransferClassifier m(o);
  m->train();
  EXPECT_TRUE(m->is_training());
  EXPECT_FALSE(m->base_model().is_training());
  auto f = m->forward_features(torch::randn({2, 3, 32, 32}));
  EXPECT_FALSE(f.requires_grad());
  EXPECT_TRUE(m->forward_head(f).requires_grad());
  for (const auto& p : m->base_model().parameters()) EXPECT_FALSE(p.requires_grad());
  m->unfreeze();
  EXPECT_TRUE(m->base_model().is_training());
  EXPECT_TRUE(m->forward_features(torch::randn({2, 3, 32, 32})).requires_grad());
  m->eval();
  EXPECT_FALSE(m->base_model().is_training());
}

TEST(Models, BadOptionsAndInputsAreConfigErrors) {
  BrainTumorCNNOptions o;
  o.image_size = 100;
  EXPECT_NE(config_error_of([&] { BrainTumorCNN m(o); }).find("multiple of 32"), std::string::npos);
  BrainTumorCNN m;
  EXPECT_NE(config_error_of([&] {
              m->forward(torch::randn({1, 1, 128, 128}));
            }).find("got [1, 1, 128, 128]"),
            std::string::npos);
  EXPECT_NE(config_error_of([&] {
              MobileNetV2(MobileNetV2Options{1000, 0.0});
            }).find("width_mult"),
            std::string::npos);
}
