// The Engine over a Network of the test's own (what the bindings do for a Python module), the
// thread budget, and optimizer parameter groups.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sched.h>

#include "greymatter/data/loader.h"
#include "greymatter/data/tensor_source.h"
#include "greymatter/errors.h"
#include "greymatter/train/engine.h"
#include "greymatter/train/thread_budget.h"

using namespace greymatter;
using namespace greymatter::train;

namespace {

// A linear classifier as a Network, recording what the engine asked of it.
class LinearNetwork : public Network {
 public:
  explicit LinearNetwork(int64_t in, int64_t classes) : linear_(in, classes) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    ++forwards;
    return linear_->forward(x.flatten(1));
  }
  void train(bool on) override { linear_->train(on); }
  std::vector<torch::Tensor> parameters() override { return linear_->parameters(); }
  int64_t macs_per_sample(const std::vector<int64_t>& shape) override {
    asked_shape = shape;
    return linear_->weight.numel();
  }
  void to(torch::Device device) override { linear_->to(device); }
  std::string name() const override { return "LinearNetwork"; }

  torch::nn::Linear linear_;
  int64_t forwards = 0;
  std::vector<int64_t> asked_shape;
};

data::Loader random_loader(int64_t n, int64_t batch) {
  torch::manual_seed(0);
  auto images = torch::randint(0, 256, {n, 1, 4, 4}, torch::kUInt8);
  auto labels = torch::randint(0, 3, {n}, torch::kInt64);
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
  data::LoaderOptions options;
  options.batch_size = batch;
  return data::Loader(std::make_shared<data::TensorSource>(images, labels), all, options);
}

}  // namespace

TEST(Engine, TrainsANetworkOfItsOwnAndAsksItsCostForTheSampleShape) {
  auto network = std::make_shared<LinearNetwork>(16, 3);
  const auto before = network->linear_->weight.clone();
  EngineOptions options;
  options.optimizer.kind = OptimizerKind::kSGD;
  options.optimizer.lr = 0.1;
  Engine engine(network, options, torch::kCPU);
  const auto loader = random_loader(40, 10);
  const auto stats = engine.train_epoch(loader, 0);
  EXPECT_EQ(stats.samples, 40);
  EXPECT_EQ(network->forwards, 4);
  EXPECT_EQ(engine.optimizer().steps(), 4);
  EXPECT_EQ(network->asked_shape, (std::vector<int64_t>{1, 4, 4}));
  EXPECT_FALSE(torch::equal(before, network->linear_->weight));
  EXPECT_THROW(engine.set_head_only(true), ConfigError);  // no backbone to split off
}

TEST(Optimizer, GroupsKeepTheirOwnLrAndLeaveOtherSlotsAlone) {
  auto a = torch::ones({2}, torch::requires_grad()), b = torch::ones({2}, torch::requires_grad()),
       c = torch::ones({2}, torch::requires_grad());
  OptimizerConfig config;
  config.kind = OptimizerKind::kSGD;
  config.lr = 0.1;
  Optimizer opt({a, b, c}, config);
  auto fast = config;
  fast.lr = 1.0;
  opt.set_groups({{{0}, config}, {{1}, fast}});  // c in no group
  (a.sum() + b.sum() + c.sum()).backward();
  opt.step();
  EXPECT_TRUE(torch::allclose(a, torch::full({2}, 0.9)));
  EXPECT_TRUE(torch::allclose(b, torch::full({2}, 0.0)));
  EXPECT_TRUE(torch::equal(c, torch::ones({2})));
  opt.set_lrs({0.5, 0.25});
  EXPECT_EQ(opt.lrs(), (std::vector<double>{0.5, 0.25}));
  EXPECT_THROW(opt.set_lrs({0.5}), ConfigError);
  EXPECT_THROW(opt.set_groups({{{0, 1}, config}, {{1}, config}}), ConfigError);
}

TEST(ThreadBudget, SmallModelsRunOnOneThreadAndTheSettingComesBack) {
  const int before = at::get_num_threads();
  {
    ThreadBudget budget(100, 64, torch::kCPU);  // 100 multiply-adds a sample: far below the line
    EXPECT_EQ(at::get_num_threads(), 1);
    EXPECT_EQ(budget.threads(), 1);
  }
  EXPECT_EQ(at::get_num_threads(), before);
  {
    ThreadBudget budget(-1, 64, torch::kCPU);  // unknown cost: only the free-core cap
    EXPECT_GE(budget.threads(), 1);
    EXPECT_LE(budget.threads(), before);
  }
  EXPECT_EQ(at::get_num_threads(), before);
}

TEST(ThreadBudget, FreeCoresAreWithinTheAffinity) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int cores = free_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, CPU_COUNT(&set));
}
