#include <algorithm>
#include <cstring>

#include "op_check.h"
#include "winoprune/ops/conv2d_reference.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

namespace {

Conv2dShape conv_shape(int N, int C, int H, int W, int K, int R, int S, int stride, int pad,
                       int groups) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.R = R, s.S = S;
  s.stride = stride, s.pad = pad, s.groups = groups;
  return s;
}

int64_t x_size(const Conv2dShape& s) { return int64_t(s.N) * s.C * s.H * s.W; }
int64_t w_size(const Conv2dShape& s) { return int64_t(s.K) * s.Cg() * s.R * s.S; }
int64_t y_size(const Conv2dShape& s) { return int64_t(s.N) * s.K * s.Ho() * s.Wo(); }

std::string name(const Conv2dShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "N%d C%d %dx%d K%d %dx%d stride %d pad %d groups %d", s.N, s.C,
                s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.groups);
  return buf;
}

Var run_conv(const std::vector<Var>& in, const Conv2dShape& s) {
  Conv2dParams p;
  p.stride = s.stride, p.pad = s.pad, p.groups = s.groups;
  return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Var(), p);
}

}  // namespace

TEST_CASE("conv2d reference gradients match central differences", "[ops][conv2d]") {
  // Awkward sizes: odd and non-square H/W, C not a multiple of 8, groups 2, stride 2 and 4,
  // batch 1, kernel larger than the stride.
  const std::vector<Conv2dShape> shapes = {
      conv_shape(1, 3, 7, 5, 4, 3, 3, 1, 1, 1),  conv_shape(2, 4, 9, 9, 6, 5, 5, 1, 2, 2),
      conv_shape(1, 3, 13, 11, 5, 5, 5, 4, 0, 1), conv_shape(2, 6, 6, 7, 4, 2, 3, 2, 1, 2),
      conv_shape(1, 1, 8, 8, 3, 5, 5, 1, 2, 1)};
  for (const Conv2dShape& s : shapes) {
    INFO(name(s));
    RefOp op;
    op.inputs = {to_double(random_vector<float>(x_size(s), 1)),
                 to_double(random_vector<float>(w_size(s), 2)),
                 to_double(random_vector<float>(s.K, 3))};
    op.forward = [s](const std::vector<std::vector<double>>& in) {
      std::vector<double> y(y_size(s));
      conv2d_forward_reference(y.data(), in[0].data(), in[1].data(), in[2].data(), s);
      return y;
    };
    op.backward = [s](std::vector<std::vector<double>>& d, const std::vector<double>& dy,
                      const std::vector<std::vector<double>>& in) {
      conv2d_backward_reference(d[0].data(), d[1].data(), d[2].data(), dy.data(), in[0].data(),
                                in[1].data(), s);
    };
    // The loss is linear in each single element, so central differences are exact up to
    // rounding: 1e-8 leaves two orders of margin over the ~1e-10 seen.
    GradCheckResult r = check_gradients(op, 1e-3);
    CHECK(r.checked > 0);
    CHECK(r.max_rel_err < 1e-8);
  }
}

TEST_CASE("conv2d fast path matches the reference: forward and both gradients",
          "[ops][conv2d]") {
  const std::vector<Conv2dShape> shapes = {
      conv_shape(1, 3, 7, 5, 4, 3, 3, 1, 1, 1),
      conv_shape(2, 4, 9, 9, 6, 5, 5, 1, 2, 2),
      conv_shape(1, 3, 13, 11, 5, 5, 5, 4, 0, 1),
      conv_shape(3, 6, 6, 7, 4, 2, 3, 2, 1, 2),
      conv_shape(2, 20, 9, 11, 36, 3, 3, 1, 1, 2),    // Cg 10 < 16: plain backward-data path
      conv_shape(2, 36, 10, 9, 40, 3, 3, 1, 1, 1),    // blocked path, C not a multiple of 16
      conv_shape(3, 1, 28, 28, 64, 5, 5, 1, 2, 1),    // alexnet-small conv1
      conv_shape(1, 64, 14, 14, 128, 5, 5, 1, 2, 1),  // alexnet-small conv2
      conv_shape(2, 128, 7, 7, 192, 3, 3, 1, 1, 1),   // alexnet-small conv3
      conv_shape(1, 3, 227, 227, 96, 11, 11, 4, 0, 1),  // AlexNet conv1
      conv_shape(1, 96, 15, 15, 256, 5, 5, 1, 2, 2),  // AlexNet conv2 groups 2 (15x15: test time)
      conv_shape(1, 192, 13, 13, 192, 3, 3, 1, 1, 2),  // AlexNet conv4 halved, groups 2
  };
  for (const Conv2dShape& s : shapes) {
    for (bool with_bias : {true, false}) {
      INFO(name(s) << (with_bias ? " bias" : " no bias"));
      const Tensor x = random_tensor({s.N, s.C, s.H, s.W}, 11);
      const Tensor w = random_tensor({s.K, s.Cg(), s.R, s.S}, 12, -0.2f, 0.2f);
      const Tensor b = with_bias ? random_tensor({s.K}, 13) : Tensor();
      const std::vector<float> G = random_vector<float>(y_size(s), 14);
      AutogradRun run = run_with_output_grad(
          [&](const std::vector<Var>& in) { return run_conv(in, s); }, {x, w, b}, G);
      REQUIRE(run.output_shape == Shape{s.N, s.K, s.Ho(), s.Wo()});

      std::vector<float> y(y_size(s)), dx(x_size(s), 0.f), dw(w_size(s), 0.f), db(s.K, 0.f);
      conv2d_forward_reference(y.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, s);
      conv2d_backward_reference(dx.data(), dw.data(), with_bias ? db.data() : nullptr, G.data(),
                                x.data(), w.data(), s);
      // fp32 sums of up to 2400 (forward) and N*Ho*Wo (weights) products of O(1) terms:
      // measured 4e-8 .. 1e-6 (the largest: AlexNet conv1 dw, 3025 products); limit 1e-5.
      CHECK(relative_error(run.output.data(), y.data(), y.size(), 1e-5, "y") < 1e-5);
      CHECK(relative_error(run.grads[0].data(), dx.data(), dx.size(), 1e-5, "dx") < 1e-5);
      CHECK(relative_error(run.grads[1].data(), dw.data(), dw.size(), 1e-5, "dw") < 1e-5);
      if (with_bias)
        CHECK(relative_error(run.grads[2].data(), db.data(), db.size(), 1e-5, "db") < 1e-5);
    }
  }
}

TEST_CASE("conv2d_relu_inference equals ReLU of conv2d, and refuses gradients", "[ops][conv2d]") {
  // The fused plan keeps the training prop kind, so oneDNN runs the same convolution and the
  // post-op only clips: bitwise max(0, conv2d(x, w, b)).
  for (const Conv2dShape& s : {conv_shape(3, 1, 28, 28, 64, 5, 5, 1, 2, 1),
                               conv_shape(1, 3, 227, 227, 96, 11, 11, 4, 0, 1),
                               conv_shape(2, 36, 10, 9, 40, 3, 3, 1, 1, 1),
                               conv_shape(1, 192, 13, 13, 192, 3, 3, 1, 1, 2)}) {
    INFO(name(s));
    Conv2dParams p;
    p.stride = s.stride, p.pad = s.pad, p.groups = s.groups;
    const Var x = leaf(random_tensor({s.N, s.C, s.H, s.W}, 21), true);
    const Var w = leaf(random_tensor({s.K, s.Cg(), s.R, s.S}, 22, -0.2f, 0.2f), true);
    const Var b = leaf(random_tensor({s.K}, 23), true);
    REQUIRE_THROWS_AS(conv2d_relu_inference(x, w, b, p), std::logic_error);   // grad mode on
    NoGradGuard no_grad;
    const Tensor plain = conv2d(x, w, b, p)->value;
    const Tensor fused = conv2d_relu_inference(x, w, b, p)->value;
    REQUIRE(fused.numel() == plain.numel());
    int64_t mismatches = 0, negatives = 0;
    for (int64_t i = 0; i < plain.numel(); ++i) {
      mismatches += fused[i] != std::max(plain[i], 0.0f);
      negatives += plain[i] < 0.0f;
    }
    CHECK(mismatches == 0);
    CHECK(negatives > 0);   // the ReLU had something to clip
  }
}

TEST_CASE("conv2d backward adds into existing gradients and skips inputs without grad",
          "[ops][conv2d]") {
  const Conv2dShape s = conv_shape(2, 32, 9, 9, 16, 3, 3, 1, 1, 1);
  Var x = leaf(random_tensor({s.N, s.C, s.H, s.W}, 21), true);
  Var w = leaf(random_tensor({s.K, s.C, 3, 3}, 22), true);
  Var b = leaf(random_tensor({s.K}, 23), true);
  x->grad_buffer().fill(1.0f);
  w->grad_buffer().fill(-2.0f);
  b->grad_buffer().fill(0.5f);
  Var y = run_conv({x, w, b}, s);
  Var loss = make_result(Tensor::zeros({1}), {y}, [](Node& self) {
    self.inputs[0]->grad_buffer().fill(1.0f);
  });
  backward(loss);
  std::vector<float> G(y_size(s), 1.0f), dx(x_size(s), 1.0f), dw(w_size(s), -2.0f), db(s.K, 0.5f);
  conv2d_backward_reference(dx.data(), dw.data(), db.data(), G.data(), x->value.data(),
                            w->value.data(), s);
  CHECK(relative_error(x->grad.data(), dx.data(), dx.size(), 1e-5, "dx") < 1e-5);
  CHECK(relative_error(w->grad.data(), dw.data(), dw.size(), 1e-5, "dw") < 1e-5);
  CHECK(relative_error(b->grad.data(), db.data(), db.size(), 1e-5, "db") < 1e-5);

  // conv1 of a network: the input needs no gradient; only weight and bias get one.
  Var x2 = leaf(random_tensor({s.N, s.C, s.H, s.W}, 24), false);
  Var w2 = leaf(w->value, true);
  Var y2 = run_conv({x2, w2}, s);
  Var loss2 = make_result(Tensor::zeros({1}), {y2}, [](Node& self) {
    self.inputs[0]->grad_buffer().fill(1.0f);
  });
  backward(loss2);
  CHECK_FALSE(x2->grad.defined());
  REQUIRE(w2->grad.defined());
}

TEST_CASE("conv2d is bitwise deterministic for the same inputs and thread count",
          "[ops][conv2d]") {
  const Conv2dShape s = conv_shape(8, 64, 14, 14, 128, 5, 5, 1, 2, 1);
  const Tensor x = random_tensor({s.N, s.C, s.H, s.W}, 31);
  const Tensor w = random_tensor({s.K, s.C, 5, 5}, 32, -0.1f, 0.1f);
  const Tensor b = random_tensor({s.K}, 33);
  const std::vector<float> G = random_vector<float>(y_size(s), 34);
  auto f = [&](const std::vector<Var>& in) { return run_conv(in, s); };
  AutogradRun a = run_with_output_grad(f, {x, w, b}, G);
  AutogradRun c = run_with_output_grad(f, {x, w, b}, G);
  CHECK(a.output == c.output);
  for (size_t i = 0; i < 3; ++i) CHECK(a.grads[i] == c.grads[i]);
}

TEST_CASE("conv2d rejects mismatched shapes with an InputError naming them", "[ops][conv2d]") {
  Var x = leaf(Tensor::zeros({2, 3, 8, 8}));
  Conv2dParams p;
  REQUIRE_THROWS_WITH(conv2d(x, leaf(Tensor::zeros({4, 2, 3, 3})), Var(), p),
                      Catch::Contains("[2, 3, 8, 8]") && Catch::Contains("[4, 2, 3, 3]"));
  REQUIRE_THROWS_AS(conv2d(x, leaf(Tensor::zeros({4, 2, 3, 3})), Var(), p), InputError);
  REQUIRE_THROWS_AS(conv2d(x, leaf(Tensor::zeros({4, 3, 3, 3})), leaf(Tensor::zeros({5})), p),
                    InputError);
  REQUIRE_THROWS_AS(conv2d(leaf(Tensor::zeros({3, 8, 8})), leaf(Tensor::zeros({4, 3, 3, 3})),
                           Var(), p),
                    InputError);
  REQUIRE_THROWS_AS(conv2d(x, leaf(Tensor::zeros({4, 3, 9, 9})), Var(), p), InputError);
  p.groups = 2;   // 3 channels do not split into 2 groups
  REQUIRE_THROWS_AS(conv2d(x, leaf(Tensor::zeros({4, 1, 3, 3})), Var(), p), InputError);
}
