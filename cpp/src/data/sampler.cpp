// With replacement: inverse-CDF draws (binary search of u * total in the running sums). Without:
// Efraimidis-Spirakis keys -log(u) / w, visited in increasing order, which is the order successive
// weighted draws without replacement would give.
#include "greymatter/data/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>

#include "greymatter/data/random.h"
#include "greymatter/errors.h"

namespace greymatter::data {
namespace {

// Keeps sampler draws apart from the shuffle's (0x5) and the augmentations' streams.
constexpr uint64_t kSamplerStream = 0x5A3D1E5u;

// Uniform in (0, 1): never 0, so log() stays finite.
double open_uniform(CounterRng& rng) { return (double(rng.next_u64() >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

WeightedSampler::WeightedSampler(std::vector<double> weights, int64_t num_samples, bool replacement)
    : weights_(std::move(weights)), num_samples_(num_samples), replacement_(replacement) {
  if (weights_.empty()) throw ConfigError("sampler weights are empty: give one per sample");
  int64_t positive = 0;
  double total = 0.0;
  cumulative_.reserve(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double w = weights_[i];
    if (!std::isfinite(w) || w < 0.0)
      throw ConfigError("sampler weights must be finite and >= 0, got " + std::to_string(w) +
                        " for sample " + std::to_string(i));
    positive += w > 0.0;
    total += w;
    cumulative_.push_back(total);
  }
  if (positive == 0) throw ConfigError("sampler weights are all zero: nothing can be drawn");
  if (num_samples_ < 1)
    throw ConfigError("num_samples must be >= 1, got " + std::to_string(num_samples_));
  if (!replacement_ && num_samples_ > positive)
    throw ConfigError("num_samples=" + std::to_string(num_samples_) +
                      " without replacement, but only " + std::to_string(positive) +
                      " samples have a weight above 0; use replacement=True or fewer samples");
}

std::vector<int64_t> WeightedSampler::draw(uint64_t seed, int64_t epoch) const {
  CounterRng rng(seed, static_cast<uint64_t>(epoch), kSamplerStream);
  std::vector<int64_t> out(static_cast<size_t>(num_samples_));
  if (replacement_) {
    const double total = cumulative_.back();
    for (auto& position : out) {
      const double u = rng.uniform() * total;
      const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      // u < total always, so `it` is in range; a zero weight never has u in its (empty) interval.
      position = std::min<int64_t>(it - cumulative_.begin(), size() - 1);
    }
    return out;
  }
  std::vector<double> keys(weights_.size());
  std::vector<int64_t> candidates;
  for (size_t i = 0; i < weights_.size(); ++i) {
    // One draw per position, zero weights included, so a position's key never depends on others.
    keys[i] = -std::log(open_uniform(rng)) / weights_[i];
    if (weights_[i] > 0.0) candidates.push_back(static_cast<int64_t>(i));
  }
  const auto by_key = [&](int64_t a, int64_t b) {
    return keys[size_t(a)] < keys[size_t(b)] || (keys[size_t(a)] == keys[size_t(b)] && a < b);
  };
  std::partial_sort(candidates.begin(), candidates.begin() + num_samples_, candidates.end(),
                    by_key);
  std::copy(candidates.begin(), candidates.begin() + num_samples_, out.begin());
  return out;
}

std::vector<double> balanced_weights(const std::vector<int64_t>& labels) {
  std::unordered_map<int64_t, int64_t> counts;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0)
      throw ConfigError("balanced sampling needs class labels >= 0, got " +
                        std::to_string(labels[i]) + " for sample " + std::to_string(i));
    ++counts[labels[i]];
  }
  std::vector<double> weights(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) weights[i] = 1.0 / double(counts[labels[i]]);
  return weights;
}

}  // namespace greymatter::data
