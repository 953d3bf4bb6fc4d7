#pragma once
// Backward of local response normalization across channels (the lrn op, src/ops/lrn.cpp) on
// plain NCHW tensors, computed from x and dy alone: no workspace, no layout copies. Legend: C
// channels, HW pixels per channel plane; size odd, half = (size - 1) / 2, window(c) = channels
// [max(0, c - half), min(C - 1, c + half)]:
//   s_c  = k + alpha/size * sum_{q in window(c)} x_q^2
//   dx_c += dy_c s_c^-beta - 2 alpha beta / size * x_c * sum_{q in window(c)} dy_q x_q s_q^(-beta-1)
// (the same formula as lrn_backward_reference in winoprune/ops/lrn_reference.h, there in double).
//
// Variants (isa_list.h): f32_lrn_backward__ref is the plain loops of the formula
// (src/kernels/ref/); __avx2 and __avx512 are one vectorized body (src/kernels/common/) at 8
// and 16 lanes, with s^-beta as two square roots when beta = 0.75 (AlexNet's, Caffe's default)
// and a per-lane powf otherwise.
#include <cstdint>

#include "winoprune/cpu.h"
#include "winoprune/kernels/isa_list.h"

namespace wp {

// Plain data, passed as is to the per-ISA kernels.
struct LrnShape {
  int C = 0;          // channels
  int64_t HW = 0;     // pixels per channel plane (the channel stride of x, dy, dx)
  int size = 0;       // odd, at most kLrnMaxSize
  float alpha = 0.0f, beta = 0.0f, k = 0.0f;   // k > 0
  // true: dx += the formula; false: dx = the formula (a fresh gradient, whose contents are
  // not read: no zero fill before, no read of it).
  bool accumulate = true;
};

// The widest window the kernels take (AlexNet's and Caffe's default is 5).
constexpr int kLrnMaxSize = 15;

// Pixels per block: the kernels stream across the channels once per block of this many pixels
// (a multiple of both vector widths; 1 KB rows), keeping two rings of `size` rows in the
// caller's work memory (20 KB at size 5, in L1).
constexpr int64_t kLrnBlockPixels = 256;
constexpr int64_t lrn_backward_work_floats(int size) { return 2 * int64_t(size) * kLrnBlockPixels; }

// dx[c * HW + j] += (or =, LrnShape::accumulate) the formula above, for every channel c and
// pixels j in [j_begin, j_end) of one image: x, dy and dx point at its channel 0, pixel 0.
// work: lrn_backward_work_floats(size) floats. Single-threaded; calls on disjoint pixel ranges
// may run concurrently (each with its own work).
void lrn_backward_pixels(const LrnShape& s, const float* x, const float* dy, float* dx,
                         int64_t j_begin, int64_t j_end, float* work);

using LrnBackwardFn = void (*)(const LrnShape* s, const float* x, const float* dy, float* dx,
                               int64_t j_begin, int64_t j_end, float* work);

struct LrnVariant {
  const char* name;   // the ISA level
  Isa isa;            // the level the CPU needs to run it
  LrnBackwardFn backward;
};

#define WP_DECLARE_LRN(isa)                                                                    \
  void WP_KERNEL_NAME(f32_lrn_backward, isa)(const LrnShape* s, const float* x,               \
                                             const float* dy, float* dx, int64_t j_begin,      \
                                             int64_t j_end, float* work);
WP_KERNEL_ISAS(WP_DECLARE_LRN)
#undef WP_DECLARE_LRN

// The variant for wp::active_isa(), chosen once; the one of exactly this level (null if none).
const LrnVariant& lrn_variant();
const LrnVariant* lrn_variant_for(Isa isa);

}  // namespace wp
