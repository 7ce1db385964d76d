// Loader: every index exactly once per epoch, reproducible orders for a seed, the same batches for
// any worker count, normalization through the lookup table, and worker errors reaching the
// consumer.
#include <gtest/gtest.h>

#include <set>

#include "greymatter/data/loader.h"
#include "greymatter/data/random.h"
#include "greymatter/data/tensor_source.h"
#include "greymatter/errors.h"

using namespace greymatter::data;

namespace {

// Sample i is an image filled with value i % 256, label i.
std::shared_ptr<TensorSource> counting_source(int64_t n) {
  auto images = torch::arange(n, torch::kInt64)
                    .remainder(256)
                    .to(torch::kUInt8)
                    .view({n, 1, 1, 1})
                    .expand({n, 1, 2, 2});
  return std::make_shared<TensorSource>(images.contiguous(), torch::arange(n, torch::kInt64));
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::vector<int64_t> labels_of_epoch(const Loader& loader, int64_t epoch) {
  std::vector<int64_t> out;
  auto it = loader.epoch(epoch);
  while (auto b = it->next())
    for (int64_t i = 0; i < b->labels.size(0); ++i) out.push_back(b->labels[i].item<int64_t>());
  return out;
}

LoaderOptions opts(int64_t batch, bool shuffle, int64_t workers, uint64_t seed = 7) {
  LoaderOptions o;
  o.batch_size = batch;
  o.shuffle = shuffle;
  o.num_workers = workers;
  o.seed = seed;
  return o;
}

class FailingSource : public Source {
 public:
  int64_t size() const override { return 100; }
  std::vector<int64_t> sample_shape() const override { return {1, 1, 1}; }
  int64_t load(const SampleKey& key, float* out) const override {
    if (key.index == 42) throw greymatter::DataError("cannot decode 'images/42.jpg'");
    out[0] = 0.f;
    return 0;
  }
};

}  // namespace

TEST(Loader, EveryIndexOncePerEpochIncludingPartialLastBatch) {
  Loader loader(counting_source(103), all(103), opts(10, true, 2));
  EXPECT_EQ(loader.num_batches(), 11);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    auto labels = labels_of_epoch(loader, epoch);
    ASSERT_EQ(labels.size(), 103u);
    EXPECT_EQ(std::set<int64_t>(labels.begin(), labels.end()).size(), 103u);
  }
}

TEST(Loader, DropLastDropsThePartialBatch) {
  auto o = opts(10, true, 1);
  o.drop_last = true;
  Loader loader(counting_source(103), all(103), o);
  EXPECT_EQ(loader.num_batches(), 10);
  EXPECT_EQ(labels_of_epoch(loader, 0).size(), 100u);
}

TEST(Loader, SeededOrderIsReproducibleAndDiffersAcrossEpochsAndSeeds) {
  Loader a(counting_source(200), all(200), opts(16, true, 2, 3));
  Loader b(counting_source(200), all(200), opts(16, true, 2, 3));
  Loader c(counting_source(200), all(200), opts(16, true, 2, 4));
  EXPECT_EQ(labels_of_epoch(a, 0), labels_of_epoch(b, 0));
  EXPECT_NE(labels_of_epoch(a, 0), labels_of_epoch(a, 1));
  EXPECT_NE(labels_of_epoch(a, 0), labels_of_epoch(c, 0));
}

TEST(Loader, SameBatchesForAnyWorkerCount) {
  const auto reference =
      labels_of_epoch(Loader(counting_source(300), all(300), opts(32, true, 0)), 5);
  for (int64_t workers : {1, 2, 4})
    EXPECT_EQ(labels_of_epoch(Loader(counting_source(300), all(300), opts(32, true, workers)), 5),
              reference);
}

TEST(Loader, UnshuffledSubsetKeepsItsOrder) {
  Loader loader(counting_source(50), {9, 3, 27}, opts(2, false, 1));
  EXPECT_EQ(labels_of_epoch(loader, 0), (std::vector<int64_t>{9, 3, 27}));
}

TEST(Loader, NormalizesThroughTheLookupTable) {
  auto source = std::make_shared<TensorSource>(torch::full({1, 1, 2, 2}, 51, torch::kUInt8),
                                               torch::zeros({1}), std::vector<double>{0.1307},
                                               std::vector<double>{0.3081});
  Loader loader(source, {0}, opts(1, false, 1));
  auto it = loader.epoch(0);
  auto batch = it->next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_NEAR(batch->images[0][0][1][1].item<float>(), (51 / 255.0 - 0.1307) / 0.3081, 1e-6);
}

TEST(Loader, WorkerErrorReachesTheConsumerAndTheIteratorStops) {
  Loader loader(std::make_shared<FailingSource>(), all(100), opts(8, false, 2));
  auto it = loader.epoch(0);
  std::string message;
  try {
    while (it->next()) {
    }
  } catch (const greymatter::DataError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("images/42.jpg"), std::string::npos);
  EXPECT_FALSE(it->next().has_value());
}

TEST(Loader, DestroyingAnIteratorMidEpochJoinsItsThreads) {
  Loader loader(counting_source(1000), all(1000), opts(4, true, 3));
  for (int i = 0; i < 20; ++i) {
    auto it = loader.epoch(i);
    it->next();
  }  // each destructor must return (no deadlock with workers blocked on a full queue)
  SUCCEED();
}

TEST(Loader, BadOptionsAreConfigErrors) {
  EXPECT_THROW(Loader(counting_source(4), all(4), opts(0, false, 1)), greymatter::ConfigError);
  EXPECT_THROW(Loader(counting_source(4), {0, 4}, opts(1, false, 1)), greymatter::ConfigError);
}

TEST(Random, EpochOrderIsAPermutation) {
  auto order = epoch_order(1000, true, 1, 2);
  std::set<int64_t> seen(order.begin(), order.end());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 999);
  EXPECT_EQ(epoch_order(5, false, 1, 2), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}
