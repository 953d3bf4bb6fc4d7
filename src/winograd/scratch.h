#pragma once
// Scratch buffers of the Winograd layer (V, M, dM), leased from a process-wide pool so that
// repeated calls reuse memory that is already mapped: a fresh 40-90 MB buffer per call cost
// more in page faults (sys time) than the layer's GEMMs (AlexNet conv3, batch 64). Callers
// bound the sizes (the layer works in chunks of images), which bounds what the pool keeps:
// at most one block per lease alive at the same time.
#include <cstddef>

namespace wp::winograd_detail {

class ScratchLease {
 public:
  explicit ScratchLease(size_t floats);  // 64-byte aligned, uninitialized
  ~ScratchLease();
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;  // floats
};

}  // namespace wp::winograd_detail
