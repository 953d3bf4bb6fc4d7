#pragma once
// Deterministic random numbers. Rng is a PCG32 generator whose whole state is two uint64
// (saved in checkpoints for an exact resume). mix() derives independent streams from a tuple such
// as (seed, epoch, index), so data augmentation does not depend on thread timing.
#include <cstdint>

namespace wp {

// SplitMix64 finalizer over a combination of keys: a stateless, well-mixed hash.
uint64_t mix(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0);

class Rng {
 public:
  explicit Rng(uint64_t seed = 1, uint64_t stream = 0);
  uint32_t next_u32();
  float uniform();                       // [0, 1)
  float uniform(float lo, float hi);     // [lo, hi)
  float normal();                        // N(0, 1), Box-Muller (no cached second value)
  uint32_t below(uint32_t n);            // [0, n), unbiased
  uint64_t state() const { return state_; }
  uint64_t inc() const { return inc_; }
  void set_state(uint64_t state, uint64_t inc) { state_ = state; inc_ = inc; }

 private:
  uint64_t state_ = 0;
  uint64_t inc_ = 1;
};

}  // namespace wp
