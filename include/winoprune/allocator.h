#pragma once
// Storage of tensors and of the ops' scratch buffers: one process-wide cache of large blocks.
//
// A training step frees and allocates the same large buffers every iteration (activations,
// gradients, layout copies: ~2.4 GB per AlexNet step at batch 64). Mapping them afresh costs a
// page fault per 4 KB on first touch; keeping them in glibc's heap (no mmap, no trim) avoids
// that, but freed chunks of one size serve another badly and the heap grew to 2.1 GB for a step
// whose blocks in use never exceed 1.35 GB. Here blocks of at least kCachedBlockMin bytes come
// from segments mapped directly (2 MB aligned, transparent huge pages requested), split best-fit
// and merged with free neighbours when freed; a segment wholly free is unmapped before any new
// one is mapped, so the segments settle, within two steps of a repeating workload, into a set
// the step fits in (allocator.cpp has the measurements). Smaller blocks come from malloc.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace wp {

// Blocks of at least this many bytes are mapped and cached; smaller ones come from malloc.
constexpr size_t kCachedBlockMin = size_t(1) << 20;

// At least `bytes` bytes (0 allowed), 64-byte aligned, uninitialized. The block returns to its
// segment (or to malloc) when the last copy of the pointer goes away. Thread-safe.
std::shared_ptr<void> allocate_storage(size_t bytes);

struct StorageStats {
  int64_t live_bytes = 0;         // large blocks in use
  int64_t cached_bytes = 0;       // mapped, in no block in use
  int64_t peak_live_bytes = 0;    // since the last reset_storage_peak()
  int64_t peak_mapped_bytes = 0;  // max of live + cached since the last reset_storage_peak()
  int64_t maps = 0;               // segments mapped (each first touch page-faults)
  int64_t reuses = 0;             // allocations served from mapped segments
};
StorageStats storage_stats();
void reset_storage_peak();

// Unmaps every segment no block in use lies in (between benchmark rows, after a model is freed).
void release_cached_memory();

}  // namespace wp
