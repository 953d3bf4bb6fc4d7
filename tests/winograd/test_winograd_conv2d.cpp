// The Winograd layer: the converted layer (W = G g G^T) against the spatial correlation in
// double on AlexNet and alexnet-small shapes and awkward ones; the fast float path against its
// double reference twin forward and backward; the reference's gradients by central finite
// differences; determinism; bad shapes.
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "support.h"
#include "winoprune/autograd.h"
#include "winoprune/winograd/masked_products.h"
#include "winoprune/winograd/tile_transforms.h"
#include "winoprune/winograd/transform.h"
#include "winoprune/winograd/winograd_conv2d.h"
#include "winoprune/winograd/winograd_reference.h"

using namespace wp;

namespace {

struct Case {
  const char* name;
  ConvShape s;
  double limit;  // relative Frobenius error of the float layer vs the double spatial reference
};

ConvShape shape(int N, int C, int H, int W, int K, int r, int pad, int groups, int m) {
  ConvShape s;
  s.N = N;
  s.C = C;
  s.H = H;
  s.W = W;
  s.K = K;
  s.r = r;
  s.pad = pad;
  s.groups = groups;
  s.m = m;
  return s;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

Tensor tensor(const Shape& sh, const std::vector<float>& v) { return Tensor::from_vector(sh, v); }

WinogradConvParams params(const ConvShape& s) {
  WinogradConvParams p;
  p.m = s.m;
  p.r = s.r;
  p.pad = s.pad;
  p.groups = s.groups;
  return p;
}

size_t x_size(const ConvShape& s) { return size_t(s.N) * s.C * s.H * s.W; }
size_t y_size(const ConvShape& s) { return size_t(s.N) * s.K * s.Ho() * s.Wo(); }
size_t w_size(const ConvShape& s) {
  const int t = s.m + s.r - 1;
  return size_t(t) * t * s.K * (s.C / s.groups);
}
size_t g_size(const ConvShape& s) { return size_t(s.K) * (s.C / s.groups) * s.r * s.r; }

// loss = <R, y>: seeds dy = R.
Var dot_loss(const Var& y, const Tensor& R) {
  double sum = 0;
  for (int64_t i = 0; i < R.numel(); ++i) sum += double(R[i]) * y->value[i];
  return make_result(Tensor::full({1}, float(sum)), {y}, [R](Node& self) {
    Tensor& g = self.inputs[0]->grad;
    const float s = self.grad[0];
    for (int64_t i = 0; i < R.numel(); ++i) g[i] += s * R[i];
  });
}

// Inputs and the double spatial reference of one shape (m aside), computed once and shared by
// the tiles tested on that shape.
struct SpatialCase {
  std::vector<float> x, g, b;
  std::vector<double> ref;
};

const SpatialCase& spatial_case(const ConvShape& s) {
  static std::map<std::string, SpatialCase> cache;
  const std::string key = std::to_string(s.N) + " " + std::to_string(s.C) + " " +
                          std::to_string(s.H) + " " + std::to_string(s.W) + " " +
                          std::to_string(s.K) + " " + std::to_string(s.r) + " " +
                          std::to_string(s.pad) + " " + std::to_string(s.groups);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const uint64_t seed = std::hash<std::string>()(key);
  SpatialCase c;
  c.x = test::random_vector<float>(x_size(s), seed);
  c.g = test::random_vector<float>(g_size(s), seed + 1);
  c.b = test::random_vector<float>(size_t(s.K), seed + 2);
  c.ref.resize(y_size(s));
  auto xd = to_double(c.x), gd = to_double(c.g), bd = to_double(c.b);
  conv2d_spatial_reference<double>(s, xd.data(), gd.data(), bd.data(), c.ref.data());
  return cache[key] = std::move(c);
}

// Relative Frobenius error of the converted float layer vs the spatial reference in double.
double converted_layer_error(const ConvShape& s) {
  const SpatialCase& c = spatial_case(s);
  Tensor gt = tensor({s.K, s.C / s.groups, s.r, s.r}, c.g);
  Tensor w = spatial_to_winograd(gt, s.m);
  Var y = winograd_conv2d(leaf(tensor({s.N, s.C, s.H, s.W}, c.x)), leaf(w),
                          leaf(tensor({s.K}, c.b)), params(s));
  return test::relative_error(y->value.data(), c.ref.data(), c.ref.size(), 1e-3, "converted");
}

}  // namespace

// AlexNet (ImageNet, Caffe groups) and alexnet-small (28x28 input) shapes; batch 1-2 keeps the
// double spatial reference to a fraction of a second per layer.
// Measured relative errors (float layer vs double spatial reference; avx512, avx2 and ref
// kernels agree to 2 digits): F(2,3) 1.3e-7 .. 4.8e-7; F(4,3) 4.5e-7 .. 3.0e-6 (AlexNet conv3
// 3.0e-6); F(6,3) 1.3e-6 .. 1.6e-6; F(2,5) 1.6e-6 .. 1.9e-6; F(4,5) 2.7e-6 .. 4.5e-6 (AlexNet
// conv2 2.7e-6, a 2x2 input 4.5e-6). F(4,5)'s points +-1/2 put entries like 1/90 and 21/4 in
// G and B^T: its limit is 2e-5, the others' 1e-5.
const std::vector<Case> kConverted = {
    {"alexnet.conv2 F(2,5)", shape(1, 96, 27, 27, 256, 5, 2, 2, 2), 1e-5},
    {"alexnet.conv2 F(4,5)", shape(1, 96, 27, 27, 256, 5, 2, 2, 4), 2e-5},
    {"alexnet.conv3 F(4,3)", shape(1, 256, 13, 13, 384, 3, 1, 1, 4), 1e-5},
    {"alexnet.conv3 F(2,3)", shape(1, 256, 13, 13, 384, 3, 1, 1, 2), 1e-5},
    {"alexnet.conv4 F(4,3) g2", shape(1, 384, 13, 13, 384, 3, 1, 2, 4), 1e-5},
    {"alexnet.conv4 F(2,3) g2", shape(1, 384, 13, 13, 384, 3, 1, 2, 2), 1e-5},
    {"alexnet.conv5 F(4,3) g2", shape(1, 384, 13, 13, 256, 3, 1, 2, 4), 1e-5},
    {"alexnet.conv5 F(2,3) g2", shape(1, 384, 13, 13, 256, 3, 1, 2, 2), 1e-5},
    {"small.conv2 F(4,5)", shape(2, 64, 14, 14, 128, 5, 2, 1, 4), 2e-5},
    {"small.conv2 F(2,5)", shape(1, 64, 14, 14, 128, 5, 2, 1, 2), 1e-5},
    {"small.conv3 F(4,3)", shape(2, 128, 7, 7, 192, 3, 1, 1, 4), 1e-5},
    {"small.conv4 F(4,3)", shape(1, 192, 7, 7, 192, 3, 1, 1, 4), 1e-5},
    {"small.conv5 F(4,3)", shape(2, 192, 7, 7, 128, 3, 1, 1, 4), 1e-5},
    {"small.conv5 F(2,3)", shape(2, 192, 7, 7, 128, 3, 1, 1, 2), 1e-5},
    {"odd 9x11 C17 K19 F(4,3)", shape(1, 17, 9, 11, 19, 3, 1, 1, 4), 1e-5},
    {"H < tile 3x5 F(4,3)", shape(3, 5, 3, 5, 7, 3, 1, 1, 4), 1e-5},
    {"2x2 input F(4,5) pad 2", shape(1, 3, 2, 2, 2, 5, 2, 1, 4), 2e-5},
    {"no pad 8x6 F(6,3)", shape(2, 6, 8, 6, 10, 3, 0, 1, 6), 1e-5},
    {"groups 3 C 33 K 21 F(2,3)", shape(1, 33, 7, 9, 21, 3, 1, 3, 2), 1e-5},
};

TEST_CASE("converted layer computes the spatial convolution", "[winograd][layer]") {
  if (!test::isa_available_or_skip()) return;
  for (const Case& c : kConverted) {
    double err = converted_layer_error(c.s);
    INFO(c.name << ": relative error " << err << " (limit " << c.limit << ", kernels "
                << winograd_tile_kernels_name() << ")");
    CHECK(err < c.limit);
  }
}

TEST_CASE("reference twin in double equals the spatial convolution", "[winograd][reference]") {
  for (ConvShape s : {shape(2, 5, 9, 7, 6, 3, 1, 1, 4), shape(1, 4, 11, 11, 6, 5, 2, 2, 4),
                      shape(1, 6, 5, 5, 3, 3, 0, 3, 2), shape(2, 3, 6, 4, 2, 5, 2, 1, 2)}) {
    auto g = test::random_vector<double>(g_size(s), 3);
    auto x = test::random_vector<double>(x_size(s), 4);
    auto b = test::random_vector<double>(size_t(s.K), 5);
    std::vector<double> w(w_size(s)), y(y_size(s)), ref(y_size(s));
    spatial_to_winograd_reference<double>(s, g.data(), w.data());
    winograd_conv2d_forward_reference<double>(s, x.data(), w.data(), b.data(), y.data());
    conv2d_spatial_reference<double>(s, x.data(), g.data(), b.data(), ref.data());
    CHECK(test::relative_error(y.data(), ref.data(), y.size()) < 1e-13);
  }
}

TEST_CASE("spatial_to_winograd matches its reference", "[winograd][layer]") {
  ConvShape s = shape(1, 6, 1, 1, 10, 5, 0, 2, 4);
  auto g = test::random_vector<float>(g_size(s), 8);
  Tensor w = spatial_to_winograd(tensor({s.K, s.C / s.groups, s.r, s.r}, g), s.m);
  REQUIRE(w.shape() == Shape{64, 10, 3});
  std::vector<float> ref(w_size(s));
  spatial_to_winograd_reference<float>(s, g.data(), ref.data());
  CHECK(test::relative_error(w.data(), ref.data(), ref.size()) < 1e-7);
  REQUIRE_THROWS_AS(spatial_to_winograd(Tensor::zeros({2, 3, 3, 5}), 4), InputError);
}

// Free Winograd weights (not from a spatial kernel: what training and pruning produce). The
// same algorithm in float and in double: measured relative errors 2e-8 .. 2.6e-7 for y, dx, dW
// and dbias; limit 2e-6.
TEST_CASE("float layer matches its double reference forward and backward", "[winograd][layer]") {
  if (!test::isa_available_or_skip()) return;
  const std::vector<Case> cases = {
      {"alexnet.conv5 F(4,3) g2", shape(1, 384, 13, 13, 256, 3, 1, 2, 4), 2e-6},
      {"small.conv2 F(4,5)", shape(2, 64, 14, 14, 128, 5, 2, 1, 4), 2e-6},
      {"small.conv3 F(2,3)", shape(2, 128, 7, 7, 192, 3, 1, 1, 2), 2e-6},
      {"odd 9x11 C17 K19 F(4,3)", shape(1, 17, 9, 11, 19, 3, 1, 1, 4), 2e-6},
      {"H < tile 3x5 F(4,3)", shape(3, 5, 3, 5, 7, 3, 1, 1, 4), 2e-6},
      {"groups 3 F(2,5) 7x9", shape(2, 9, 7, 9, 6, 5, 2, 3, 2), 2e-6},
  };
  uint64_t seed = 50;
  for (const Case& c : cases) {
    const ConvShape& s = c.s;
    INFO(c.name);
    auto x = test::random_vector<float>(x_size(s), ++seed);
    auto w = test::random_vector<float>(w_size(s), ++seed, -0.1f, 0.1f);
    auto b = test::random_vector<float>(size_t(s.K), ++seed);
    auto R = test::random_vector<float>(y_size(s), ++seed);
    const int t = s.m + s.r - 1;
    Var xv = leaf(tensor({s.N, s.C, s.H, s.W}, x), true);
    Var wv = leaf(tensor({t * t, s.K, s.C / s.groups}, w), true);
    Var bv = leaf(tensor({s.K}, b), true);
    Var y = winograd_conv2d(xv, wv, bv, params(s));
    backward(dot_loss(y, tensor(y->value.shape(), R)));

    auto xd = to_double(x), wd = to_double(w), bd = to_double(b), Rd = to_double(R);
    std::vector<double> y_ref(y_size(s)), dx_ref(x.size(), 0.0), dw_ref(w.size(), 0.0),
        db_ref(b.size(), 0.0);
    winograd_conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y_ref.data());
    winograd_conv2d_backward_data_reference<double>(s, Rd.data(), wd.data(), dx_ref.data());
    winograd_conv2d_backward_weights_reference<double>(s, Rd.data(), xd.data(), dw_ref.data(),
                                                       db_ref.data());
    CHECK(test::relative_error(y->value.data(), y_ref.data(), y_ref.size(), c.limit, "y") <
          c.limit);
    CHECK(test::relative_error(xv->grad.data(), dx_ref.data(), dx_ref.size(), c.limit, "dx") <
          c.limit);
    CHECK(test::relative_error(wv->grad.data(), dw_ref.data(), dw_ref.size(), c.limit, "dw") <
          c.limit);
    CHECK(test::relative_error(bv->grad.data(), db_ref.data(), db_ref.size(), 1e-6, "db") < 1e-6);
  }
}

TEST_CASE("reference gradients agree with central finite differences", "[winograd][reference]") {
  for (ConvShape s : {shape(2, 3, 6, 5, 4, 3, 1, 1, 4), shape(1, 4, 5, 7, 2, 5, 2, 2, 2),
                      shape(1, 2, 3, 3, 3, 3, 1, 1, 2)}) {
    const int t = s.m + s.r - 1;
    INFO("F(" << s.m << "," << s.r << ") " << s.H << "x" << s.W << " groups " << s.groups);
    auto x = test::random_vector<double>(x_size(s), 21);
    auto w = test::random_vector<double>(w_size(s), 22);
    auto b = test::random_vector<double>(size_t(s.K), 23);
    auto R = test::random_vector<double>(y_size(s), 24);
    std::vector<double> y(y_size(s));
    auto loss = [&]() {
      winograd_conv2d_forward_reference<double>(s, x.data(), w.data(), b.data(), y.data());
      double l = 0;
      for (size_t i = 0; i < y.size(); ++i) l += R[i] * y[i];
      return l;
    };
    std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0), db(b.size(), 0.0);
    winograd_conv2d_backward_data_reference<double>(s, R.data(), w.data(), dx.data());
    winograd_conv2d_backward_weights_reference<double>(s, R.data(), x.data(), dw.data(),
                                                       db.data());
    // The loss is linear in each argument, so central differences are exact up to rounding;
    // h = 1e-3 keeps the rounding of loss (~1e-15 * |loss| / h) near 1e-11.
    const double h = 1e-3;
    auto check = [&](std::vector<double>& v, const std::vector<double>& grad, const char* what) {
      double worst = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = loss();
        v[i] = keep - h;
        double lm = loss();
        v[i] = keep;
        worst = std::max(worst, std::fabs((lp - lm) / (2 * h) - grad[i]));
      }
      INFO(what << " worst |fd - analytic| " << worst);
      CHECK(worst < 1e-8);
    };
    check(x, dx, "dx");
    check(w, dw, "dW");
    check(b, db, "dbias");
    (void)t;
  }
}

TEST_CASE("layer is deterministic and validates shapes", "[winograd][layer]") {
  if (!test::isa_available_or_skip()) return;
  ConvShape s = shape(3, 24, 13, 13, 40, 3, 1, 2, 4);
  auto x = test::random_vector<float>(x_size(s), 1);
  auto w = test::random_vector<float>(w_size(s), 2);
  auto R = test::random_vector<float>(y_size(s), 3);
  std::vector<std::vector<float>> runs;
  // Runs 0 and 1: the whole batch in one chunk; run 2: one image per chunk (a chunk bound
  // below one image's V), which changes only the rounding of dW's sum.
  for (int rep = 0; rep < 3; ++rep) {
    Var xv = leaf(tensor({s.N, s.C, s.H, s.W}, x), true);
    Var wv = leaf(tensor({36, s.K, s.C / s.groups}, w), true);
    WinogradConvParams p = params(s);
    if (rep == 2) p.chunk_bytes = 1000;
    Var y = winograd_conv2d(xv, wv, nullptr, p);
    backward(dot_loss(y, tensor(y->value.shape(), R)));
    std::vector<float> all = y->value.to_vector();
    for (float v : xv->grad.to_vector()) all.push_back(v);
    for (float v : wv->grad.to_vector()) all.push_back(v);
    runs.push_back(all);
  }
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)) == 0);
  CHECK(test::relative_error(runs[2].data(), runs[0].data(), runs[0].size(), 1e-6, "chunks") <
        1e-6);

  Var x4 = leaf(Tensor::zeros({1, 4, 8, 8}));
  WinogradConvParams p;  // F(4,3), pad 1
  CHECK_THROWS_AS(winograd_conv2d(x4, leaf(Tensor::zeros({16, 2, 4})), nullptr, p), InputError);
  CHECK_THROWS_AS(winograd_conv2d(x4, leaf(Tensor::zeros({36, 2, 3})), nullptr, p), InputError);
  CHECK_THROWS_AS(winograd_conv2d(x4, leaf(Tensor::zeros({36, 2, 4})), leaf(Tensor::zeros({3})), p),
                  InputError);
  p.groups = 2;
  CHECK_THROWS_AS(winograd_conv2d(x4, leaf(Tensor::zeros({36, 3, 2})), nullptr, p), InputError);
  CHECK_NOTHROW(winograd_conv2d(x4, leaf(Tensor::zeros({36, 2, 2})), nullptr, p));
}

TEST_CASE("layer writes fresh gradients without reading them and adds into existing ones",
          "[winograd][layer]") {
  if (!test::isa_available_or_skip()) return;
  // Fresh gradients are written, not added into zeros (Node::grad_target): dx plane by plane by
  // the input transform's transposed phase, dW by the first chunk's GEMMs. x is 1 MB, so that
  // its gradient lands in the block the loss node poisons (test::seeding_loss). Chunks of
  // 256 KB: several chunks, the first writing and the rest adding.
  const ConvShape s = shape(4, 64, 32, 32, 32, 3, 1, 1, 4);
  const int t = s.m + s.r - 1;
  WinogradConvParams p = params(s);
  p.chunk_bytes = int64_t(256) << 10;
  uint64_t seed = 90;
  const auto x = test::random_vector<float>(x_size(s), ++seed);
  auto w = test::random_vector<float>(w_size(s), ++seed, -0.1f, 0.1f);
  const auto b = test::random_vector<float>(size_t(s.K), ++seed);
  const auto R = test::random_vector<float>(y_size(s), ++seed);
  auto mask = test::random_vector<float>(w_size(s), ++seed, 0.0f, 1.0f);
  for (size_t i = 0; i < mask.size(); ++i) {
    mask[i] = mask[i] < 0.7f ? 0.0f : 1.0f;
    w[i] *= mask[i];
  }
  for (bool masked : {false, true}) {
    INFO((masked ? "masked products" : "dense"));
    auto pattern = masked ? build_masked_product_pattern(tensor({t * t, s.K, s.C}, mask), 1)
                          : nullptr;
    struct Grads { std::vector<float> dx, dw; };
    auto run = [&](bool fresh, float start) {
      Var xv = leaf(tensor({s.N, s.C, s.H, s.W}, x), true);
      Var wv = leaf(tensor({t * t, s.K, s.C}, w), true);
      Var bv = leaf(tensor({s.K}, b), true);
      if (!fresh) {
        xv->grad_buffer().fill(start);
        wv->grad_buffer().fill(start);
      }
      Var y = winograd_conv2d(xv, wv, bv, p, pattern);
      const void* poisoned = nullptr;
      backward(test::seeding_loss(y, R, xv->value.shape(), fresh ? &poisoned : nullptr));
      if (fresh) CHECK(static_cast<const void*>(xv->grad.data()) == poisoned);   // case reached
      return Grads{xv->grad.to_vector(), wv->grad.to_vector()};
    };
    const Grads written = run(true, 0.0f), added = run(false, 0.25f);
    for (auto [got, base, what] : {std::tuple{&added.dx, &written.dx, "dx"},
                                   std::tuple{&added.dw, &written.dw, "dw"}}) {
      std::vector<float> want(*base);
      for (float& v : want) v += 0.25f;
      CHECK(test::relative_error(got->data(), want.data(), want.size(), 1e-6, what) < 1e-6);
    }
  }
}
