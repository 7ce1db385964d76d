// WeightedSampler: the positions an epoch visits when samples are drawn by weight (torch's
// WeightedRandomSampler) instead of each once: oversampling rare classes, or a weighted subsample.
// Every draw comes from CounterRng(seed, epoch, sampler stream), so an epoch's positions depend on
// (seed, epoch) alone, never on the number of worker threads. Not here: what a position holds (the
// Loader maps positions to dataset indices).
#pragma once

#include <cstdint>
#include <vector>

namespace greymatter::data {

class WeightedSampler {
 public:
  // weights: one finite weight >= 0 per position, not all zero. num_samples: draws per epoch.
  // Without replacement each position comes at most once, so num_samples may not exceed the number
  // of positive weights.
  WeightedSampler(std::vector<double> weights, int64_t num_samples, bool replacement);

  int64_t size() const { return static_cast<int64_t>(weights_.size()); }
  int64_t num_samples() const { return num_samples_; }
  bool replacement() const { return replacement_; }
  const std::vector<double>& weights() const { return weights_; }

  // The positions (0..size()-1) of one epoch, in visiting order.
  std::vector<int64_t> draw(uint64_t seed, int64_t epoch) const;

 private:
  std::vector<double> weights_;
  std::vector<double> cumulative_;  // running sums of weights_, for draws with replacement
  int64_t num_samples_;
  bool replacement_;
};

// Per-position weights that give every class the same expected share of draws: 1 / (number of
// positions with that label). A label below 0 is a ConfigError.
std::vector<double> balanced_weights(const std::vector<int64_t>& labels);

}  // namespace greymatter::data
