#include "greymatter/data/random.h"

#include <numeric>
#include <utility>

namespace greymatter::data {

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!shuffle) return order;
  // Stream constant 0x5u ("shuffle") keeps these draws apart from per-sample augmentation draws.
  CounterRng rng(seed, static_cast<uint64_t>(epoch), 0x5u);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace greymatter::data
