// Counter-based randomness: every draw is a pure function of (seed, stream, counter), so the
// same shuffles and augmentations come out whatever the number of threads or their order.
#pragma once

#include <cstdint>
#include <vector>

namespace greymatter::data {

// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A small generator whose state is derived from (seed, a, b): e.g. (seed, epoch, sample index).
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t a, uint64_t b) : state_(mix64(mix64(mix64(seed) ^ a) ^ b)) {}
  uint64_t next_u64() { return mix64(state_++); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, negligible bias for n << 2^64).
  uint64_t below(uint64_t n) { return uint64_t((__uint128_t(next_u64()) * n) >> 64); }

 private:
  uint64_t state_;
};

// The order in which an epoch visits positions 0..n-1: identity when !shuffle, otherwise a
// Fisher-Yates permutation drawn from (seed, epoch).
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);

}  // namespace greymatter::data
