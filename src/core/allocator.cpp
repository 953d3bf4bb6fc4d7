// Large blocks: segments mapped from the kernel, carved best-fit into blocks that are split on
// allocation and merged with free neighbours on release (the scheme of PyTorch's CUDA caching
// allocator). When no free block fits, wholly free segments adding up to the request are
// unmapped (smallest first) before a segment of the request's size is mapped.
// Chosen on the trace of an AlexNet training step at batch 64 (blocks >= 1 MB, replayed by a
// /tmp simulator; MB, spatial / Winograd model; the step's live peak is 1350 / 1521):
//   policy                                   peak mapped      mapped afresh in steps 1, 2, 3
//   malloc (M_MMAP_MAX 0, no trim: VmHWM)    2123 / 1898      0
//   cache keyed by size (fit within 1/8)     1896 / 1996      0
//   the same, at most 128 MB cached          1381 / 1498      ~1400 every step
//   split + merge, best fit, never unmap     1579 / 1699      0 / 71, 0, 0
//   ... unmap all free segments on a miss    1466 / 1609      841 / 851, 91, 0
//   ... unmap free segments, smallest first,
//       until they cover the request         1402 / 1600      486 / 628, 0, 0
// Sizes repeat every step, so the segments settle into a set the step fits in and mapping
// stops; what is mapped afresh costs a page fault per 4 KB touched (2 MB where transparent huge
// pages apply) and the kernel's zeroing.
#include "winoprune/allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <utility>
#include <vector>

namespace wp {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t(2) << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

struct Block {
  size_t bytes;
  uintptr_t segment;  // base address of the segment holding it
  bool free;
};

struct Arena {
  std::mutex mutex;
  std::map<uintptr_t, size_t> segments;           // base -> bytes
  std::map<uintptr_t, Block> blocks;              // every block by address, in address order
  std::set<std::pair<size_t, uintptr_t>> free_blocks;  // (bytes, address): best fit
  StorageStats stats;
};

Arena& arena() {
  // Leaked on purpose: tensors held by static objects may be freed after main returns.
  static Arena* a = new Arena;
  return *a;
}

// A fresh mapping of `bytes` (a multiple of the page size), 2 MB aligned when it spans a huge
// page so transparent huge pages can back it (one fault per 2 MB instead of per 4 KB).
void* map_segment(size_t bytes) {
  if (bytes < kHugePage) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  const size_t span = bytes + kHugePage;
  void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = round_up(base, kHugePage);
  if (aligned > base) munmap(p, aligned - base);
  const uintptr_t end = aligned + bytes;
  if (base + span > end) munmap(reinterpret_cast<void*>(end), base + span - end);
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void note_peaks(StorageStats& s) {
  s.peak_live_bytes = std::max(s.peak_live_bytes, s.live_bytes);
  s.peak_mapped_bytes = std::max(s.peak_mapped_bytes, s.live_bytes + s.cached_bytes);
}

// Takes wholly free segments out of the arena (the caller unmaps them), smallest first, until
// they add up to at least `bytes` (SIZE_MAX: all of them).
std::vector<std::pair<uintptr_t, size_t>> take_free_segments(Arena& A, size_t bytes) {
  std::vector<std::pair<size_t, uintptr_t>> free_segments;  // (bytes, base)
  for (const auto& [base, size] : A.segments) {
    const Block& b = A.blocks.at(base);
    if (b.free && b.bytes == size) free_segments.push_back({size, base});
  }
  std::sort(free_segments.begin(), free_segments.end());
  std::vector<std::pair<uintptr_t, size_t>> out;
  size_t taken = 0;
  for (const auto& [size, base] : free_segments) {
    if (taken >= bytes) break;
    A.free_blocks.erase({size, base});
    A.blocks.erase(base);
    A.segments.erase(base);
    A.stats.cached_bytes -= int64_t(size);
    out.push_back({base, size});
    taken += size;
  }
  return out;
}

void unmap_segments(const std::vector<std::pair<uintptr_t, size_t>>& segments) {
  for (const auto& [base, bytes] : segments) munmap(reinterpret_cast<void*>(base), bytes);
}

// Marks the block at `address` in use with exactly `bytes` (splitting off the rest when that
// could hold another large block).
void* use_block(Arena& A, uintptr_t address, size_t bytes) {
  Block& b = A.blocks.at(address);
  A.free_blocks.erase({b.bytes, address});
  if (b.bytes - bytes >= kCachedBlockMin) {
    const uintptr_t rest = address + bytes;
    A.blocks.emplace(rest, Block{b.bytes - bytes, b.segment, true});
    A.free_blocks.insert({b.bytes - bytes, rest});
    b.bytes = bytes;
  }
  b.free = false;
  A.stats.cached_bytes -= int64_t(b.bytes);
  A.stats.live_bytes += int64_t(b.bytes);
  note_peaks(A.stats);
  return reinterpret_cast<void*>(address);
}

void* take_block(size_t bytes) {
  Arena& A = arena();
  std::vector<std::pair<uintptr_t, size_t>> unmap;
  {
    std::lock_guard<std::mutex> lock(A.mutex);
    auto it = A.free_blocks.lower_bound({bytes, 0});
    if (it != A.free_blocks.end()) {
      A.stats.reuses++;
      return use_block(A, it->second, bytes);
    }
    // About to map: first give back as much that no block uses, so the mapping replaces it
    // rather than adds to it.
    unmap = take_free_segments(A, bytes);
  }
  unmap_segments(unmap);
  void* p = map_segment(bytes);
  if (!p) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(A.mutex);
  A.segments.emplace(base, bytes);
  A.blocks.emplace(base, Block{bytes, base, true});
  A.free_blocks.insert({bytes, base});
  A.stats.cached_bytes += int64_t(bytes);
  A.stats.maps++;
  return use_block(A, base, bytes);
}

void release_block(void* p) {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.mutex);
  auto it = A.blocks.find(reinterpret_cast<uintptr_t>(p));
  it->second.free = true;
  A.stats.live_bytes -= int64_t(it->second.bytes);
  A.stats.cached_bytes += int64_t(it->second.bytes);
  // Merge with the free neighbours of the same segment.
  auto next = std::next(it);
  if (next != A.blocks.end() && next->second.free && next->second.segment == it->second.segment) {
    A.free_blocks.erase({next->second.bytes, next->first});
    it->second.bytes += next->second.bytes;
    A.blocks.erase(next);
  }
  if (it != A.blocks.begin()) {
    auto prev = std::prev(it);
    if (prev->second.free && prev->second.segment == it->second.segment) {
      A.free_blocks.erase({prev->second.bytes, prev->first});
      prev->second.bytes += it->second.bytes;
      A.blocks.erase(it);
      it = prev;
    }
  }
  A.free_blocks.insert({it->second.bytes, it->first});
}

}  // namespace

std::shared_ptr<void> allocate_storage(size_t bytes) {
  if (bytes < kCachedBlockMin) {
    void* p = std::aligned_alloc(kAlignment, round_up(std::max<size_t>(bytes, 1), kAlignment));
    if (!p) throw std::bad_alloc();
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  return std::shared_ptr<void>(take_block(round_up(bytes, kPage)), release_block);
}

StorageStats storage_stats() {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.mutex);
  return A.stats;
}

void reset_storage_peak() {
  Arena& A = arena();
  std::lock_guard<std::mutex> lock(A.mutex);
  A.stats.peak_live_bytes = A.stats.live_bytes;
  A.stats.peak_mapped_bytes = A.stats.live_bytes + A.stats.cached_bytes;
}

void release_cached_memory() {
  Arena& A = arena();
  std::vector<std::pair<uintptr_t, size_t>> unmap;
  {
    std::lock_guard<std::mutex> lock(A.mutex);
    unmap = take_free_segments(A, SIZE_MAX);
  }
  unmap_segments(unmap);
}

}  // namespace wp
