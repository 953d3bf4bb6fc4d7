#pragma once
// Shared machinery of the op tests (ggml's test-backend-ops idea, small):
//  - gradient checks by central finite differences in double on an op's reference twin,
//    with a per-op step and tolerance and a kink guard (ReLU, max-pool);
//  - running an op through the autograd engine with a chosen output gradient, so its fast
//    float path can be compared with the reference (forward and every input gradient).
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "support.h"
#include "winoprune/autograd.h"
#include "winoprune/tensor.h"

namespace wp::test {

// A differentiable function of several double buffers, given by its reference twin:
//   forward(inputs) -> output;  backward(dinputs, dout, inputs) adds into dinputs.
struct RefOp {
  std::vector<std::vector<double>> inputs;
  std::function<std::vector<double>(const std::vector<std::vector<double>>&)> forward;
  std::function<void(std::vector<std::vector<double>>&, const std::vector<double>&,
                     const std::vector<std::vector<double>>&)>
      backward;
  // Kink guard: true if moving input `which`'s element `i` by +-h may cross a kink (where the
  // function is not differentiable); such elements are not checked.
  std::function<bool(int which, size_t i, double h)> near_kink;
};

struct GradCheckResult {
  double max_rel_err = 0;   // max over checked elements of |num - ana| / max(1, |num|, |ana|)
  size_t checked = 0, skipped = 0;
};

// L = sum(forward(inputs) * G) with fixed random G; checks dL/dinput of every input element (or
// a strided subset of at most max_per_input) against central differences with step h.
inline GradCheckResult check_gradients(RefOp& op, double h, size_t max_per_input = 400,
                                       uint64_t seed = 99) {
  const std::vector<double> out = op.forward(op.inputs);
  const std::vector<double> G = random_vector<double>(out.size(), seed);
  std::vector<std::vector<double>> grads;
  for (auto& in : op.inputs) grads.emplace_back(in.size(), 0.0);
  op.backward(grads, G, op.inputs);
  auto loss = [&]() {
    std::vector<double> y = op.forward(op.inputs);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * G[i];
    return l;
  };
  GradCheckResult r;
  for (size_t which = 0; which < op.inputs.size(); ++which) {
    auto& in = op.inputs[which];
    const size_t stride = std::max<size_t>(1, in.size() / max_per_input);
    for (size_t i = 0; i < in.size(); i += stride) {
      if (op.near_kink && op.near_kink(int(which), i, h)) {
        ++r.skipped;
        continue;
      }
      const double keep = in[i];
      in[i] = keep + h;
      const double lp = loss();
      in[i] = keep - h;
      const double lm = loss();
      in[i] = keep;
      const double num = (lp - lm) / (2 * h), ana = grads[which][i];
      const double err = std::fabs(num - ana) / std::max({1.0, std::fabs(num), std::fabs(ana)});
      if (err > r.max_rel_err) r.max_rel_err = err;
      ++r.checked;
    }
  }
  return r;
}

// Runs `op` on leaves made from `inputs` (all requiring grad unless needs_grad says otherwise),
// then backpropagates dL/dy = G through it. Returns the output; fills grads (empty vector for
// an input that does not require grad).
struct AutogradRun {
  std::vector<float> output;
  Shape output_shape;
  std::vector<std::vector<float>> grads;
};

inline AutogradRun run_with_output_grad(
    const std::function<Var(const std::vector<Var>&)>& op, const std::vector<Tensor>& inputs,
    const std::vector<float>& G, std::vector<bool> needs_grad = {}) {
  std::vector<Var> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool rg = needs_grad.empty() ? true : bool(needs_grad[i]);
    leaves.push_back(inputs[i].defined() ? leaf(inputs[i], rg) : Var());
  }
  Var y = op(leaves);
  AutogradRun run;
  run.output = y->value.to_vector();
  run.output_shape = y->value.shape();
  REQUIRE(G.size() == run.output.size());
  // L = sum(y * G): its backward adds G into dy.
  Var loss = make_result(Tensor::zeros({1}), {y}, [G](Node& self) {
    float* dy = self.inputs[0]->grad_buffer().data();
    for (size_t i = 0; i < G.size(); ++i) dy[i] += G[i] * self.grad[0];
  });
  backward(loss);
  for (auto& l : leaves)
    run.grads.push_back(l && l->grad.defined() ? l->grad.to_vector() : std::vector<float>());
  return run;
}

inline Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1, float hi = 1) {
  return Tensor::from_vector(shape, random_vector<float>(size_t(shape_numel(shape)), seed, lo, hi));
}

template <typename T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace wp::test
