#include "support.h"
#include "winoprune/allocator.h"
#include "winoprune/autograd.h"
#include "winoprune/tensor.h"

using namespace wp;

TEST_CASE("tensor storage is 64-byte aligned and views share it", "[core]") {
  Tensor t = Tensor::zeros({3, 5, 7});
  REQUIRE(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  REQUIRE(t.numel() == 105);
  Tensor v = t.reshape({15, -1});
  REQUIRE(v.shape() == Shape{15, 7});
  REQUIRE(v.shares_storage(t));
  Tensor s = t.slice(1, 3);
  REQUIRE(s.shape() == Shape{2, 5, 7});
  s[0] = 4.0f;
  REQUIRE(t[35] == 4.0f);
  Tensor c = t.clone();
  c[35] = 1.0f;
  REQUIRE(t[35] == 4.0f);
  REQUIRE_THROWS_AS(t.reshape({4, -1}), InputError);
  REQUIRE_THROWS(t.slice(2, 4));
}

namespace {

Var scale(const Var& in, float a) {
  Tensor out = Tensor::full({1}, in->value[0] * a);
  return make_result(out, {in}, [a](Node& self) {
    self.inputs[0]->grad_buffer()[0] += a * self.grad[0];
  });
}

Var add(const Var& p, const Var& q) {
  Tensor out = Tensor::full({1}, p->value[0] + q->value[0]);
  return make_result(out, {p, q}, [](Node& self) {
    for (auto& in : self.inputs) in->grad_buffer()[0] += self.grad[0];
  });
}

}  // namespace

TEST_CASE("fill, nonzero_bytes and same_nonzeros, below and above the parallel size", "[core]") {
  // 1 MB (2^18 floats) and up runs on all threads: sizes on both sides and a ragged one.
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(1000), (int64_t(1) << 18) - 1,
                    (int64_t(1) << 18) + 7, int64_t(3) << 19}) {
    INFO("n " << n);
    Tensor t = Tensor::full({n}, 2.5f);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) wrong += t[i] != 2.5f;
    CHECK(wrong == 0);
    t.zero();
    for (int64_t i = 0; i < n; ++i) wrong += t[i] != 0.0f;
    CHECK(wrong == 0);
    for (int64_t i = 0; i < n; i += 3) t[i] = i % 2 ? -1.0f : 0.5f;
    std::vector<uint8_t> bytes = nonzero_bytes(t);
    REQUIRE(int64_t(bytes.size()) == n);
    int64_t mismatched = 0;
    for (int64_t i = 0; i < n; ++i) mismatched += bytes[size_t(i)] != (i % 3 == 0 ? 1 : 0);
    CHECK(mismatched == 0);
    CHECK(same_nonzeros(t, bytes));
    if (n == 0) continue;
    // One entry changed anywhere, the last included, is seen; so is a length mismatch.
    for (int64_t at : {int64_t(0), n / 2, n - 1}) {
      Tensor u = t.clone();
      u[at] = u[at] != 0.0f ? 0.0f : 3.0f;
      CHECK_FALSE(same_nonzeros(u, bytes));
    }
    std::vector<uint8_t> shorter(bytes.begin(), bytes.end() - 1);
    CHECK_FALSE(same_nonzeros(t, shorter));
  }
}

TEST_CASE("autograd accumulates through a diamond and respects no-grad", "[core]") {
  // y = a*x + a*x with a shared input: dy/dx = 2a.
  Var x = leaf(Tensor::full({1}, 3.0f), true);
  auto diamond = [&] {
    Var h = scale(x, 2.0f);
    return add(h, h);
  };
  backward(diamond());
  REQUIRE(x->grad[0] == Approx(4.0f));
  backward(diamond());  // a leaf's gradient accumulates over graphs until zeroed
  REQUIRE(x->grad[0] == Approx(8.0f));
  {
    NoGradGuard guard;
    Var z = scale(x, 5.0f);
    REQUIRE_FALSE(z->requires_grad);
    REQUIRE(z->inputs.empty());
  }
  REQUIRE(grad_enabled());
}

TEST_CASE("backward consumes the graph but keeps what the caller holds", "[core]") {
  Var x = leaf(Tensor::full({1}, 3.0f), true);
  Var kept = scale(x, 2.0f);           // held by the test: its value must survive
  Var y = add(scale(kept, 5.0f), kept);  // the inner scale is reachable only through y
  Node* inner = y->inputs[0].get();
  REQUIRE(inner->value.defined());
  backward(y);
  REQUIRE(x->grad[0] == Approx(12.0f));   // d/dx (10 x + 2 x)
  CHECK(x->value[0] == 3.0f);             // leaves keep their values ...
  CHECK(kept->value[0] == 6.0f);          // ... and so does a node the caller holds,
  CHECK(y->value[0] == 36.0f);            // and the root
  CHECK_FALSE(inner->value.defined());    // a node only the graph held is freed,
  CHECK_FALSE(inner->backward_fn);        // with its closure (saved tensors)
  CHECK_FALSE(kept->grad.defined());      // interior gradients are freed
  REQUIRE_THROWS_AS(backward(y), std::logic_error);  // a consumed graph cannot run again
  REQUIRE(x->grad[0] == Approx(12.0f));
}

TEST_CASE("values no closure reads are freed when backward starts", "[core]") {
  // h = 3 x (a vector), y = sum(h) by a closure that reads no input value: nothing reads h's
  // value in backward, so it is gone before y's closure runs, and h's gradient still gets h's
  // shape.
  Var x = leaf(Tensor::full({4}, 2.0f), true);
  Var h = make_result(Tensor::full({4}, 6.0f), {x}, [](Node& self) {
    for (int i = 0; i < 4; ++i) self.inputs[0]->grad_buffer()[i] += 3.0f * self.grad[i];
  });
  bool h_value_seen = true;
  Shape h_grad_shape;
  Var y = make_result(Tensor::full({1}, 24.0f), {h}, [&](Node& self) {
    Node& in = *self.inputs[0];
    h_value_seen = in.value.defined();
    h_grad_shape = in.grad_buffer().shape();
    for (int i = 0; i < 4; ++i) in.grad[i] += self.grad[0];
  });
  y->reads_input_values = false;
  Node* h_node = h.get();
  h.reset();  // only the graph holds h now
  backward(y);
  CHECK_FALSE(h_value_seen);
  CHECK(h_grad_shape == Shape{4});
  CHECK(h_node->freed_value_shape == Shape{4});
  CHECK(x->grad.to_vector() == std::vector<float>(4, 3.0f));
  // The same graph with h held by the caller keeps h's value.
  Var h2 = make_result(Tensor::full({4}, 6.0f), {x}, [](Node&) {});
  Var y2 = make_result(Tensor::full({1}, 24.0f), {h2}, [&](Node& self) {
    h_value_seen = self.inputs[0]->value.defined();
  });
  y2->reads_input_values = false;
  backward(y2);
  CHECK(h_value_seen);
}

TEST_CASE("large storage is reused across allocations and released on request", "[core]") {
  release_cached_memory();
  const size_t big = 3 * kCachedBlockMin + 123;
  void* first = nullptr;
  {
    Tensor a = Tensor::empty({int64_t(big / 4)});
    REQUIRE(reinterpret_cast<uintptr_t>(a.data()) % 64 == 0);
    first = a.data();
    a.fill(1.0f);
    StorageStats s = storage_stats();
    CHECK(s.live_bytes >= int64_t(big));
  }
  // The freed block serves the next request of a size that fits, split from it.
  Tensor b = Tensor::empty({int64_t(kCachedBlockMin / 4)});
  CHECK(static_cast<void*>(b.data()) == first);
  Tensor c = Tensor::empty({int64_t(kCachedBlockMin / 4)});
  CHECK(c.data() == b.data() + kCachedBlockMin / 4);
  b = Tensor();
  c = Tensor();
  // Freed neighbours merge back: the whole block serves the original size again.
  Tensor d = Tensor::empty({int64_t(big / 4)});
  CHECK(static_cast<void*>(d.data()) == first);
  d = Tensor();
  const StorageStats before = storage_stats();
  CHECK(before.cached_bytes >= int64_t(big));
  release_cached_memory();
  CHECK(storage_stats().cached_bytes == 0);
  // Small tensors come from malloc, 64-byte aligned, and views keep storage alive.
  Tensor small = Tensor::zeros({5, 3});
  REQUIRE(reinterpret_cast<uintptr_t>(small.data()) % 64 == 0);
  Tensor view = Tensor::full({int64_t(big / 4)}, 2.0f).slice(1, 3);
  CHECK(view[0] == 2.0f);
}

TEST_CASE("rng is deterministic and WINOPRUNE_ISA is validated", "[core]") {
  Rng a(7, 3), b(7, 3), c(8, 3);
  for (int i = 0; i < 10; ++i) REQUIRE(a.next_u32() == b.next_u32());
  REQUIRE(Rng(7, 3).next_u32() != c.next_u32());
  for (int i = 0; i < 1000; ++i) REQUIRE(a.below(10) < 10u);
  REQUIRE(resolve_isa("", Isa::avx2) == Isa::avx2);
  REQUIRE(resolve_isa("ref", Isa::avx2) == Isa::ref);
  REQUIRE_THROWS_AS(resolve_isa("avx512", Isa::avx2), InputError);
  REQUIRE_THROWS_AS(resolve_isa("sse", Isa::avx512), InputError);
}
