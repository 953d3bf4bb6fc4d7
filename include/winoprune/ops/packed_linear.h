#pragma once
// y = x w^T + b for inference, with w reordered once into the blocked layout oneDNN's inner
// product chooses for it (weights [O, I] in 16 x 64 blocks on AVX-512; the same layout at every
// batch size, so one packed copy serves all). What fc layers run at inference after
// prepare_inference(sparse) (nn/layers.h): the packed copy is not refreshed when w changes.
// Measured (/tmp throwaway program, 2 threads, medians of 9, ms packed / best sgemm form):
//   rows   9216 -> 4096    4096 -> 4096    4096 -> 1000
//   1      2.43 / 2.33     0.97 / 1.22     0.13 / 0.12
//   2      2.80 / 2.85     1.11 / 1.26     0.13 / 0.13
//   4      3.52 / 6.10     1.08 / 2.70     0.13 / 0.32
//   8      3.78 / 5.29     1.35 / 2.68     0.24 / 0.47
//   64    16.7  / 18.7     5.96 / 7.19     1.31 / 1.65
// (the sgemm forms of linear.cpp need no packing and accumulate gradients, so training keeps
// them). Reference twin: linear_forward_reference (linear_reference.h).
#include <memory>

#include "winoprune/tensor.h"

namespace wp {

class PackedLinear {
 public:
  // w [O, I], b [O] (or undefined: no bias). InputError on bad shapes.
  PackedLinear(const Tensor& w, const Tensor& b);
  ~PackedLinear();
  PackedLinear(const PackedLinear&) = delete;
  PackedLinear& operator=(const PackedLinear&) = delete;

  // x [N, I] -> y [N, O], any N >= 1 (a primitive per distinct N, created on first use).
  Tensor forward(const Tensor& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wp
