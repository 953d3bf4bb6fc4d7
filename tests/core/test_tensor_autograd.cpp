#include "support.h"
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

TEST_CASE("autograd accumulates through a diamond and respects no-grad", "[core]") {
  // y = a*x + a*x with a shared input: dy/dx = 2a.
  Var x = leaf(Tensor::full({1}, 3.0f), true);
  auto scale = [](const Var& in, float a) {
    Tensor out = Tensor::full({1}, in->value[0] * a);
    return make_result(out, {in}, [a](Node& self) {
      self.inputs[0]->grad_buffer()[0] += a * self.grad[0];
    });
  };
  auto add = [](const Var& p, const Var& q) {
    Tensor out = Tensor::full({1}, p->value[0] + q->value[0]);
    return make_result(out, {p, q}, [](Node& self) {
      for (auto& in : self.inputs) in->grad_buffer()[0] += self.grad[0];
    });
  };
  Var h = scale(x, 2.0f);
  Var y = add(h, h);
  backward(y);
  REQUIRE(x->grad[0] == Approx(4.0f));
  backward(y);  // gradients accumulate until zeroed
  REQUIRE(x->grad[0] == Approx(8.0f));
  {
    NoGradGuard guard;
    Var z = scale(x, 5.0f);
    REQUIRE_FALSE(z->requires_grad);
    REQUIRE(z->inputs.empty());
  }
  REQUIRE(grad_enabled());
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
