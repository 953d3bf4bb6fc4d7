#pragma once
// Gradient averaging for data-parallel training (dist.h), in buckets that overlap backward.
//
// Each rank's loss is the mean over its n_r images of a global batch of N = sum_r n_r, so the
// gradient of the global mean loss is sum_r (n_r / N) g_r: begin_step(n_r / N) sets this rank's
// weight, and finish() leaves that sum in every parameter's gradient on every rank.
//
// Buckets: the parameters in reverse network order (fc8, fc7, fc6 first: backward produces
// them first), cut into buckets of about `bucket_bytes`. A parameter's leaf hook
// (Node::on_grad_ready) marks it ready; a bucket whose parameters are all ready, and whose
// predecessors have started, is packed (gradient times the weight) and its MPI_Iallreduce
// starts at once, so communication runs while backward computes the earlier layers. Buckets
// start in the same order on every rank (collectives must). finish() waits for all of them and
// unpacks. With one rank nothing is installed and finish() does nothing.
#include <cstdint>
#include <memory>
#include <vector>

#include "winoprune/nn/parameter.h"

namespace wp {

class GradientAllreduce {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t(4) << 20;
  // bucket_bytes 0: no overlap, one blocking allreduce of everything in finish().
  GradientAllreduce(std::vector<Parameter*> params, int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientAllreduce();   // removes the hooks
  GradientAllreduce(const GradientAllreduce&) = delete;
  GradientAllreduce& operator=(const GradientAllreduce&) = delete;

  void begin_step(double weight);   // before backward: this rank's n_r / N
  void finish();                    // after backward, before the optimizer step

  int buckets() const;
  // Seconds finish() waited for communication (the part backward did not hide), summed.
  double exposed_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wp
