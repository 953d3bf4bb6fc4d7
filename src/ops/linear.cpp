// linear (fully connected): y = x w^T + b
// Legend: N rows (batch), I input features, O output features.
//   x [N, I]   w [O, I]   b [O] (optional)   y [N, O]
//   dx += dy w        [N, O] x [O, I]     (= when dx is fresh: beta 0, Node::grad_target)
//   dw += dy^T x      [O, N] x [N, I]     (the same)
//   db += sum_n dy[n, :]
// Reference twin: include/winoprune/ops/linear_reference.h.
// Fast path: three wp::sgemm calls (oneDNN's dnnl_sgemm), accumulating with beta = 1 (the
// forward of wide layers as y^T = w x^T, transposed_forward below). Measured
// against oneDNN's inner_product primitives (/tmp throwaway program, 1 thread, CPU time, min of
// 7; ms forward / backward-data / backward-weights):
//   alexnet-small fc6 128x1152 -> 512:  sgemm  0.71 / 0.57 / 0.58   inner_product  0.69 / 0.57 / 0.58
//   AlexNet fc6 64x9216 -> 4096:        sgemm 30.9 / 21.5 / 32.0     inner_product 30.0 / 21.3 / 19.3
//   AlexNet fc7 64x4096 -> 4096:        sgemm 13.9 /  9.3 / 14.6     inner_product 13.9 /  9.4 /  8.6
// Both run the same GEMM kernels (inner_product reports x64:gemm:jit). The backward-weights gap is
// the accumulation: dw is 151 MB for fc6 and sgemm with beta = 1 reads and writes it, while
// inner_product only writes a fresh buffer, which would then have to be added into the gradient
// (three more passes over 151 MB). sgemm needs no layouts or cached primitives and accumulates in
// place, so it is the path. Since zero_grad() releases the gradients, the step's first
// contribution is written with beta = 0 (no read of dw, no zero fill before it): AlexNet b64
// fine-tune step, fc6 / fc7 / fc8 backward 31-32 / 14.8 / 3.5 -> 24.6 / 11.2 / 2.7 ms.
#include "winoprune/error.h"
#include "winoprune/gemm.h"
#include "winoprune/ops/linear_reference.h"
#include "winoprune/ops/ops.h"

#include <algorithm>

namespace wp {

template void linear_forward_reference<float>(float*, const float*, const float*, const float*,
                                              int, int, int);
template void linear_forward_reference<double>(double*, const double*, const double*,
                                               const double*, int, int, int);
template void linear_backward_reference<float>(float*, float*, float*, const float*,
                                               const float*, const float*, int, int, int);
template void linear_backward_reference<double>(double*, double*, double*, const double*,
                                                const double*, const double*, int, int, int);

namespace {

// Forward with many more outputs than rows (AlexNet's fc layers: 4096 outputs, batch 64) runs as
// y^T = w x^T and a transpose: oneDNN's sgemm splits x w^T (M = N rows) poorly over 2 threads.
// Measured (/tmp throwaway program, 2 threads, min of 9, transpose included):
//   64 x 9216 -> 4096:  x w^T 42.8 ms   (w x^T)^T 16.5 ms      1 x 9216 -> 4096:  2.0 / 1.75
//   64 x 4096 -> 4096:        18.8            7.2              8 x 9216 -> 4096:  7.8 / 5.2
//   64 x 4096 -> 1000:         4.6            1.6            128 x  512 ->  512: 0.25 / 0.28
// (one thread: 36.8 / 34.2 ms, the same kernels). Where O <= 4 N the plain form stays.
// Except at 2 to 4 rows, where oneDNN's sgemm handles x w^T well and w x^T badly (medians of 9,
// 2 threads, dnnl_sgemm alone, ms x w^T / w x^T):
//   rows          9216 -> 4096   4096 -> 4096   4096 -> 1000
//   1             2.37 / 1.97    0.96 / 1.01    0.14 / 0.13
//   2             2.82 / 5.20    1.14 / 2.34    0.21 / 0.62
//   3             3.15 / 5.04    1.42 / 2.36    0.15 / 0.44
//   4             4.61 / 5.08    1.87 / 2.06    0.26 / 0.46
//   5             4.89 / 5.04    2.44 / 1.95    0.25 / 0.41
//   8             7.86 / 5.08    3.15 / 1.97    0.61 / 0.46
//   16           34.5  / 5.49   15.1  / 2.21    3.85 / 0.49
// (AlexNet inference at batch 2: fc6 6.3 ms against 4.0 for oneDNN's inner product alone.)
constexpr int64_t kTransposedForwardRatio = 4;
constexpr int64_t kPlainForwardMinRows = 2, kPlainForwardMaxRows = 4;

bool transposed_forward(int64_t N, int64_t O) {
  if (N >= kPlainForwardMinRows && N <= kPlainForwardMaxRows) return false;
  return O > kTransposedForwardRatio * N;
}

void check_linear(const Tensor& x, const Tensor& w, const Tensor* b) {
  const bool ok = x.ndim() == 2 && w.ndim() == 2 && x.dim(1) == w.dim(1) &&
                  (!b || (b->ndim() == 1 && b->dim(0) == w.dim(0)));
  if (!ok)
    throw InputError("linear: input " + shape_str(x.shape()) + ", weight " +
                     shape_str(w.shape()) + (b ? ", bias " + shape_str(b->shape()) : "") +
                     ": expected input [N, in], weight [out, in], bias [out]");
}

}  // namespace

Var linear(const Var& x, const Var& w, const Var& b) {
  check_linear(x->value, w->value, b ? &b->value : nullptr);
  const int64_t N = x->value.dim(0), I = x->value.dim(1), O = w->value.dim(0);
  Tensor y = Tensor::empty({N, O});
  const float* bp = b ? b->value.data() : nullptr;
  if (transposed_forward(N, O)) {
    // y^T = w x^T, then transposed with the bias added (see kTransposedForwardRatio).
    Tensor yt = Tensor::empty({O, N});
    sgemm(false, true, O, N, I, 1.0f, w->value.data(), I, x->value.data(), I, 0.0f, yt.data(), N);
    float* yp = y.data();
    const float* tp = yt.data();
#pragma omp parallel for schedule(static)
    for (int64_t o0 = 0; o0 < O; o0 += 64) {
      const int64_t o1 = std::min(O, o0 + 64);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = o0; o < o1; ++o) yp[n * O + o] = tp[o * N + n] + (bp ? bp[o] : 0.0f);
    }
  } else {
    if (bp)
      for (int64_t n = 0; n < N; ++n) std::copy(bp, bp + O, y.data() + n * O);
    sgemm(false, true, N, O, I, 1.0f, x->value.data(), I, w->value.data(), I, bp ? 1.0f : 0.0f,
          y.data(), O);
  }
  std::vector<Var> inputs{x, w};
  if (b) inputs.push_back(b);
  Var result = make_result(std::move(y), std::move(inputs), [N, I, O](Node& self) {
    Node& x = *self.inputs[0];
    Node& w = *self.inputs[1];
    const float* dy = self.grad.data();
    float beta = 1.0f;
    if (x.requires_grad) {
      float* dx = x.grad_target(beta);
      sgemm(false, false, N, I, O, 1.0f, dy, O, w.value.data(), I, beta, dx, I);
    }
    if (w.requires_grad) {
      float* dw = w.grad_target(beta);
      sgemm(true, false, O, I, N, 1.0f, dy, O, x.value.data(), I, beta, dw, I);
    }
    if (self.inputs.size() > 2 && self.inputs[2]->requires_grad) {
      float* db = self.inputs[2]->grad_buffer().data();
      // Blocks of 64 outputs per thread, rows summed in order: deterministic, contiguous reads.
#pragma omp parallel for schedule(static)
      for (int64_t o0 = 0; o0 < O; o0 += 64) {
        const int64_t o1 = std::min(O, o0 + 64);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t o = o0; o < o1; ++o) db[o] += dy[n * O + o];
      }
    }
  });
  // The GEMMs write a gradient just allocated (beta 0) rather than add into zeros: the weight
  // gradients are released by zero_grad() every step (Node::grad_target).
  result->allocates_input_grads = true;
  return result;
}

}  // namespace wp
