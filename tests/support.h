#pragma once
// Helpers shared by the tests: random tensors, error norms, mismatch reports, ISA skipping.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "winoprune/autograd.h"
#include "winoprune/cpu.h"
#include "winoprune/error.h"
#include "winoprune/rng.h"
#include "winoprune/tensor.h"

namespace wp::test {

template <typename T>
std::vector<T> random_vector(size_t n, uint64_t seed, T lo = T(-1), T hi = T(1)) {
  Rng rng(seed, 77);
  std::vector<T> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<T>(rng.uniform());
  return v;
}

// ||a - b||_F / ||b||_F, in double. Prints the first mismatches when above limit.
template <typename A, typename B>
double relative_error(const A* a, const B* b, size_t n, double limit = -1, const char* what = "") {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  double err = std::sqrt(num) / (den > 0 ? std::sqrt(den) : 1.0);
  if (limit >= 0 && err > limit) {
    int shown = 0;
    for (size_t i = 0; i < n && shown < 5; ++i) {
      double d = std::fabs(double(a[i]) - double(b[i]));
      if (d > limit * (std::fabs(double(b[i])) + 1e-6)) {
        std::fprintf(stderr, "%s mismatch at %zu: %.8g vs %.8g\n", what, i, double(a[i]),
                     double(b[i]));
        ++shown;
      }
    }
  }
  return err;
}

// A fresh, empty directory under the build tree: test-scratch/<area>/<name>.
inline std::string scratch_dir(const std::string& area, const std::string& name) {
  const std::string dir = std::string(WINOPRUNE_BINARY_DIR) + "/test-scratch/" + area + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A 0/1 float mask of shape: each entry 0 with probability sparsity.
inline Tensor random_mask(const Shape& shape, double sparsity, uint64_t seed) {
  Rng rng(seed, 3);
  Tensor m = Tensor::empty(shape);
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < sparsity ? 0.0f : 1.0f;
  return m;
}

// A scalar loss node over y whose backward adds G into dy. With `poisoned` set, it first
// allocates a block of poison_shape, fills it with NaN, frees it and stores its address there:
// the allocator reuses freed blocks of >= 1 MB best-fit, so a gradient of that shape allocated
// by the next closure (a fresh one, Node::grad_target) lands in it, and a closure that read
// that gradient instead of writing it would produce NaN.
inline Var seeding_loss(const Var& y, std::vector<float> G, const Shape& poison_shape = {},
                        const void** poisoned = nullptr) {
  return make_result(Tensor::zeros({1}), {y}, [G = std::move(G), poison_shape,
                                               poisoned](Node& self) {
    if (poisoned) {
      Tensor junk = Tensor::empty(poison_shape);
      junk.fill(std::numeric_limits<float>::quiet_NaN());
      *poisoned = junk.data();
    }
    float* dy = self.inputs[0]->grad_buffer().data();
    for (size_t i = 0; i < G.size(); ++i) dy[i] += G[i];
  });
}

// For tests run once per ISA level (tests/CMakeLists.txt sets WINOPRUNE_ISA): true when the
// requested level runs on this CPU; otherwise prints SKIPPED (ctest counts it as skipped).
inline bool isa_available_or_skip() {
  try {
    (void)active_isa();
    return true;
  } catch (const InputError& e) {
    WARN(std::string("SKIPPED: ") + e.what());
    return false;
  }
}

}  // namespace wp::test
