#include "winoprune/rng.h"

#include <cmath>

namespace wp {

static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = splitmix64(a);
  h = splitmix64(h ^ b);
  h = splitmix64(h ^ c);
  return splitmix64(h ^ d);
}

// PCG32 (XSH-RR), O'Neill 2014: 64-bit LCG state, 32-bit output.
Rng::Rng(uint64_t seed, uint64_t stream) {
  inc_ = (mix(stream, 0x5eed) << 1u) | 1u;
  state_ = 0;
  next_u32();
  state_ += mix(seed);
  next_u32();
}

uint32_t Rng::next_u32() {
  uint64_t old = state_;
  state_ = old * 6364136223846793005ull + inc_;
  uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float Rng::uniform() { return (next_u32() >> 8) * (1.0f / 16777216.0f); }
float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal() {
  // u1 in (0, 1] so log() is finite.
  float u1 = ((next_u32() >> 8) + 1) * (1.0f / 16777216.0f);
  float u2 = uniform();
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530717958647692f * u2);
}

uint32_t Rng::below(uint32_t n) {
  // Lemire's threshold rejection: no modulo bias.
  uint32_t threshold = (-n) % n;
  for (;;) {
    uint32_t r = next_u32();
    if (r >= threshold) return r % n;
  }
}

}  // namespace wp
