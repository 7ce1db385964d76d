// WeightedSampler: draws in proportion to the weights, never a zero weight, each position at most
// once without replacement, reproducible from (seed, epoch); in a Loader, the same batches for any
// worker count and a fresh augmentation key for each repeat of an index.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "greymatter/data/loader.h"
#include "greymatter/data/sampler.h"
#include "greymatter/errors.h"

using namespace greymatter::data;

namespace {

// Writes the key's draw number as the sample; the label is the index.
class DrawSource : public Source {
 public:
  explicit DrawSource(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  std::vector<int64_t> sample_shape() const override { return {1}; }
  int64_t load(const SampleKey& key, float* out) const override {
    out[0] = static_cast<float>(key.draw);
    return key.index;
  }

 private:
  int64_t n_;
};

std::vector<std::pair<int64_t, float>> epoch_of(const Loader& loader, int64_t epoch) {
  std::vector<std::pair<int64_t, float>> out;
  auto it = loader.epoch(epoch);
  while (auto b = it->next())
    for (int64_t i = 0; i < b->labels.size(0); ++i)
      out.emplace_back(b->labels[i].item<int64_t>(), b->images[i][0].item<float>());
  return out;
}

LoaderOptions opts(int64_t batch, int64_t workers) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.seed = 11;
  return o;
}

}  // namespace

TEST(Sampler, BalancedWeightsAreOneOverTheClassCount) {
  const auto w = balanced_weights({0, 0, 0, 1, 2, 2});
  EXPECT_EQ(w, (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0, 0.5, 0.5}));
  EXPECT_THROW(balanced_weights({0, -1}), greymatter::ConfigError);
}

TEST(Sampler, DrawsWithReplacementFollowTheWeights) {
  // Three positions with weights 1:2:0 -> shares 1/3, 2/3, never the third.
  WeightedSampler s({1.0, 2.0, 0.0}, 30000, true);
  const auto d = s.draw(5, 0);
  std::map<int64_t, int64_t> count;
  for (int64_t p : d) ++count[p];
  EXPECT_EQ(count[2], 0);
  // Binomial(30000, 1/3): sd = 81.6; 5 sd.
  EXPECT_NEAR(count[0], 10000, 410);
  EXPECT_EQ(s.draw(5, 0), d);
  EXPECT_NE(s.draw(5, 1), d);
  EXPECT_NE(s.draw(6, 0), d);
}

TEST(Sampler, WithoutReplacementEachPositionAtMostOnceAndHeavyOnesFirst) {
  WeightedSampler s({1.0, 0.0, 1.0, 8.0, 1.0}, 4, false);
  int64_t heavy_first = 0;
  for (int64_t epoch = 0; epoch < 2000; ++epoch) {
    const auto d = s.draw(3, epoch);
    EXPECT_EQ(std::set<int64_t>(d.begin(), d.end()), (std::set<int64_t>{0, 2, 3, 4}));
    heavy_first += d[0] == 3;
  }
  // P(first draw is the weight-8 position) = 8/11; Binomial(2000, 8/11): sd 19.9.
  EXPECT_NEAR(heavy_first, 2000.0 * 8 / 11, 100);
}

TEST(Sampler, BadWeightsAndCountsAreConfigErrors) {
  EXPECT_THROW(WeightedSampler({}, 1, true), greymatter::ConfigError);
  EXPECT_THROW(WeightedSampler({1.0, -1.0}, 1, true), greymatter::ConfigError);
  EXPECT_THROW(WeightedSampler({1.0, NAN}, 1, true), greymatter::ConfigError);
  EXPECT_THROW(WeightedSampler({0.0, 0.0}, 1, true), greymatter::ConfigError);
  EXPECT_THROW(WeightedSampler({1.0, 1.0}, 0, true), greymatter::ConfigError);
  EXPECT_THROW(WeightedSampler({1.0, 0.0, 1.0}, 3, false), greymatter::ConfigError);
  EXPECT_NO_THROW(WeightedSampler({1.0, 0.0, 1.0}, 3, true));
}

TEST(SamplerLoader, SameBatchesForAnyWorkerCountAndRepeatsGetTheirOwnDraw) {
  std::vector<int64_t> indices{4, 9, 2, 7};  // positions 0..3 of a subset
  auto sampler = std::make_shared<WeightedSampler>(std::vector<double>{1, 1, 1, 5}, 50, true);
  auto source = std::make_shared<DrawSource>(10);
  Loader serial(source, indices, opts(8, 0), sampler);
  EXPECT_EQ(serial.num_samples(), 50);
  EXPECT_EQ(serial.num_batches(), 7);
  const auto reference = epoch_of(serial, 2);
  ASSERT_EQ(reference.size(), 50u);
  for (int64_t workers : {1, 2, 3})
    EXPECT_EQ(epoch_of(Loader(source, indices, opts(8, workers), sampler), 2), reference);
  std::map<int64_t, int64_t> seen;
  for (const auto& [index, draw] : reference) {
    EXPECT_TRUE(index == 4 || index == 9 || index == 2 || index == 7);
    EXPECT_EQ(draw, static_cast<float>(seen[index]++));  // 0 the first time, then 1, 2, ...
  }
  EXPECT_GT(seen[7], seen[4]);
}

TEST(SamplerLoader, SamplerExcludesShuffleAndNeedsOneWeightPerSample) {
  auto source = std::make_shared<DrawSource>(10);
  auto sampler = std::make_shared<WeightedSampler>(std::vector<double>{1, 1, 1}, 3, true);
  auto shuffled = opts(2, 1);
  shuffled.shuffle = true;
  EXPECT_THROW(Loader(source, {0, 1, 2}, shuffled, sampler), greymatter::ConfigError);
  EXPECT_THROW(Loader(source, {0, 1, 2, 3}, opts(2, 1), sampler), greymatter::ConfigError);
}
