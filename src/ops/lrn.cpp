// lrn: local response normalization across channels (Caffe ACROSS_CHANNELS, oneDNN
// lrn_across_channels). Legend: N batch, C channels, H x W spatial; size odd,
// window(c) = channels [c - (size-1)/2, c + (size-1)/2] clipped to [0, C).
//   x, y [N, C, H, W]
//   s_c = k + alpha/size * sum_{c' in window(c)} x_c'^2;   y_c = x_c * s_c^-beta
//   dx_c += dy_c s_c^-beta - 2 alpha beta / size * x_c * sum_{c' in window(c)} dy_c' x_c' s_c'^(-beta-1)
// Reference twin: include/winoprune/ops/lrn_reference.h.
// Forward, training or not: oneDNN's forward on the plain NCHW tensors themselves (no
// workspace, no layout copies). Measured in a /tmp throwaway program (2 threads, median of 5,
// ms forward / backward, AlexNet at batch 64):
//                          oneDNN plain NCHW   oneDNN nChw16c+reorders   nhwc+reorders   OpenMP loop (fwd)
//   lrn1 64x96x55x55        10.1 / 409          16.4 / 16.3              16.8 / 18.0      32.8
//   lrn2 64x256x27x27        6.1 / 264          10.0 / 10.2              11.4 / 16.2      22.1
// (the OpenMP loop compiled without ISA flags, SSE2).
// Backward: oneDNN's backward on plain NCHW falls back to a 25-40x slower implementation (the
// first column), and on the blocked layout it needs the workspace of a training forward. So
// the backward is our own kernel family (winoprune/kernels/lrn.h, ISA variants with a ref
// twin) on the plain tensors, recomputing the scales from x: it reads x and dy and adds into
// dx, no copies, no workspace. Nothing is saved for backward but x (the graph holds it anyway).
// Backward alone, AlexNet at batch 64, 2 threads, median of 9 (/tmp driver of the op, idle
// machine, 2026-12-03): lrn1 27.3 -> 11.1-14.1 ms, lrn2 14.0 -> 8.1-10.7 ms against the
// blocked oneDNN path (copies of x and dy, a training forward for the workspace, the backward,
// the result added back into dx: five input-sized scratch buffers, 372 MB for lrn1 at batch
// 64; now none). AlexNet fine-tune step at batch 64 and 90% (bench --suite train): 594 ->
// 541 ms, peak RSS 1600 -> 1537 MB.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "dnnl_util.h"
#include "winoprune/error.h"
#include "winoprune/kernels/lrn.h"
#include "winoprune/ops/lrn_reference.h"
#include "winoprune/ops/ops.h"

namespace wp {

template void lrn_forward_reference<float>(float*, const float*, int, int, int, int, int, double,
                                           double, double);
template void lrn_forward_reference<double>(double*, const double*, int, int, int, int, int,
                                            double, double, double);
template void lrn_backward_reference<float>(float*, const float*, const float*, int, int, int,
                                            int, int, double, double, double);
template void lrn_backward_reference<double>(double*, const double*, const double*, int, int,
                                             int, int, int, double, double, double);

namespace {

using dnnl::memory;

struct LrnPlan {
  memory::desc x_md;
  dnnl::lrn_forward forward;   // forward_inference on plain NCHW: no workspace
};

LrnPlan& lrn_plan(const Shape& xs, int size, float alpha, float beta, float k) {
  // Parameters by their bit patterns: to_string's 6 decimals would merge alpha 1e-7 and 2e-7.
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return std::to_string(u);
  };
  const std::string key = shape_str(xs) + " " + std::to_string(size) + " " + bits(alpha) + " " +
                          bits(beta) + " " + bits(k) + ops_detail::threads_key();
  return ops_detail::cached_plan<LrnPlan>(key, [&](LrnPlan& P) {
    P.x_md = memory::desc({xs[0], xs[1], xs[2], xs[3]}, memory::data_type::f32,
                          memory::format_tag::nchw);
    P.forward = dnnl::lrn_forward(dnnl::lrn_forward::primitive_desc(
        dnnl::lrn_forward::desc(dnnl::prop_kind::forward_inference,
                                dnnl::algorithm::lrn_across_channels, P.x_md, size, alpha, beta,
                                k),
        ops_detail::cpu_engine()));
  });
}

}  // namespace

Var lrn(const Var& x, int size, float alpha, float beta, float k) {
  const Tensor& xv = x->value;
  if (xv.ndim() != 4 || xv.numel() == 0 || size < 1 || size % 2 == 0 || size > kLrnMaxSize ||
      !(k > 0.0f))
    throw InputError("lrn: input " + shape_str(xv.shape()) + ", size " + std::to_string(size) +
                     ", k " + std::to_string(k) + ": expected input [N, C, H, W], an odd size " +
                     "from 1 to " + std::to_string(kLrnMaxSize) + " and k > 0");
  LrnPlan& P = lrn_plan(xv.shape(), size, alpha, beta, k);
  using namespace ops_detail;
  Tensor y = Tensor::empty(xv.shape());
  P.forward.execute(cpu_stream(), {{DNNL_ARG_SRC, wrap(P.x_md, xv.data()).mem},
                                   {DNNL_ARG_DST, wrap(P.x_md, y.data()).mem}});
  cpu_stream().wait();
  LrnShape shape;
  shape.C = int(xv.shape()[1]);
  shape.HW = xv.shape()[2] * xv.shape()[3];
  shape.size = size, shape.alpha = alpha, shape.beta = beta, shape.k = k;
  Var result = make_result(std::move(y), {x}, [shape](Node& self) {
    Node& x = *self.inputs[0];
    const int64_t N = x.value.shape()[0];
    const int64_t chunks = (shape.HW + kLrnBlockPixels - 1) / kLrnBlockPixels;   // per image
    const int64_t image = int64_t(shape.C) * shape.HW;
    const float* xs = x.value.data();
    const float* dy = self.grad.data();
    float beta = 1.0f;
    float* dx = x.grad_target(beta);   // fresh: written, not added (AlexNet lrn2: 8.9 -> 8.4 ms)
    LrnShape sh = shape;
    sh.accumulate = beta != 0.0f;
#pragma omp parallel
    {
      Tensor work = Tensor::empty({lrn_backward_work_floats(shape.size)});
#pragma omp for schedule(static)
      for (int64_t i = 0; i < N * chunks; ++i) {
        const int64_t n = i / chunks, j0 = i % chunks * kLrnBlockPixels;
        const int64_t j1 = std::min(j0 + kLrnBlockPixels, shape.HW);
        lrn_backward_pixels(sh, xs + n * image, dy + n * image, dx + n * image, j0, j1,
                            work.data());
      }
    }
  });
  result->allocates_input_grads = true;
  return result;
}

}  // namespace wp
