// max_pool2d: no padding, floor mode (Ho = (H - kernel) / stride + 1, likewise Wo).
// Legend: N batch, C channels, H x W input, Ho x Wo output.
//   x [N, C, H, W]   y [N, C, Ho, Wo]   workspace: the primitive's argmax record, kept for backward
//   y[n,c,i,j] = max_{r,s < kernel} x[n,c,i*stride+r, j*stride+s]
//   dx[n,c,argmax(n,c,i,j)] += dy[n,c,i,j]     (argmax: the first maximum in row-major order)
//   (written rather than added when dx is fresh: Node::grad_target)
// Reference twin: include/winoprune/ops/max_pool2d_reference.h.
// Fast path, chosen by measurement (/tmp throwaway program, 2 threads, median of 5, ms
// forward / backward):
//                                oneDNN plain NCHW   oneDNN nChw16c+reorders   OpenMP loops
//   alexnet-small 128x64x28x28 2/2    1.58 / 2.84         2.64 / 2.54           2.81 / 0.86
//   alexnet-small 128x128x14x14 2/2   0.86 / 1.23         1.02 / 1.00           1.40 / 0.28
//   AlexNet 64x96x55x55 3/2           3.89 / 5.04         8.09 / 7.20          12.85 / 3.23
//   AlexNet 64x256x27x27 3/2          3.17 / 3.73         4.43 / 4.22           7.72 / 1.71
// oneDNN's pooling (jit:avx512_core) reads NCHW directly and is fastest forward by 2-3x; the
// hand-written backward is faster, but needs the hand-written forward's argmax indices, and the
// sums (fwd + bwd) are within 1-4 ms of each other per layer, against ~1 s of convolutions per
// AlexNet step. So oneDNN for both, with primitives cached per shape and its backward ADDED into
// dx through a sum reorder. On ties oneDNN routes the gradient to the first maximum of the
// window, as the reference does (tests check it on ReLU-style all-zero windows).
#include <string>
#include <unordered_map>

#include "dnnl_util.h"
#include "winoprune/error.h"
#include "winoprune/ops/max_pool2d_reference.h"
#include "winoprune/ops/ops.h"

namespace wp {

template void max_pool2d_forward_reference<float>(float*, const float*, int, int, int, int, int,
                                                  int);
template void max_pool2d_forward_reference<double>(double*, const double*, int, int, int, int,
                                                   int, int);
template void max_pool2d_backward_reference<float>(float*, const float*, const float*, int, int,
                                                   int, int, int, int);
template void max_pool2d_backward_reference<double>(double*, const double*, const double*, int,
                                                    int, int, int, int, int);

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

struct PoolPlan {
  memory::desc x_md, y_md;
  bool training = false;
  dnnl::pooling_forward::primitive_desc fwd_pd;
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward bwd;             // training only
  ops_detail::Reorder add_into_dx;        // dx += result (same layout, sum post-op)
};

PoolPlan& pool_plan(const Shape& xs, int kernel, int stride, bool training) {
  const memory::dim N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const memory::dim Ho = (H - kernel) / stride + 1, Wo = (W - kernel) / stride + 1;
  const std::string key = shape_str(xs) + "k" + std::to_string(kernel) + "s" +
                          std::to_string(stride) + (training ? "T" : "I") +
                          ops_detail::threads_key();
  return ops_detail::cached_plan<PoolPlan>(key, [&](PoolPlan& P) {
    const auto f32 = memory::data_type::f32;
    P.x_md = memory::desc({N, C, H, W}, f32, tag::nchw);
    P.y_md = memory::desc({N, C, Ho, Wo}, f32, tag::nchw);
    P.training = training;
    // Floor mode is oneDNN's own size rule with zero padding: Ho = (H - kernel) / stride + 1;
    // the rows and columns past the last full window are never read.
    const memory::dims strides{stride, stride}, kernels{kernel, kernel}, pads{0, 0};
    dnnl::pooling_forward::desc d(
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
        dnnl::algorithm::pooling_max, P.x_md, P.y_md, strides, kernels, pads, pads);
    P.fwd_pd = dnnl::pooling_forward::primitive_desc(d, ops_detail::cpu_engine());
    P.fwd = dnnl::pooling_forward(P.fwd_pd);
    if (training) {
      dnnl::pooling_backward::desc bd(dnnl::algorithm::pooling_max, P.x_md, P.y_md, strides,
                                      kernels, pads, pads);
      P.bwd = dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
          bd, ops_detail::cpu_engine(), P.fwd_pd));
      P.add_into_dx = ops_detail::make_reorder(P.x_md, P.x_md, true);
    }
  });
}

}  // namespace

Var max_pool2d(const Var& x, int kernel, int stride) {
  const Tensor& xv = x->value;
  if (xv.ndim() != 4 || kernel < 1 || stride < 1 || xv.dim(2) < kernel || xv.dim(3) < kernel ||
      xv.numel() == 0)
    throw InputError("max_pool2d: input " + shape_str(xv.shape()) + ", kernel " +
                     std::to_string(kernel) + ", stride " + std::to_string(stride) +
                     ": expected input [N, C, H, W] with H, W >= kernel >= 1 and stride >= 1");
  const bool training = grad_enabled() && x->requires_grad;
  PoolPlan& P = pool_plan(xv.shape(), kernel, stride, training);
  Tensor y = Tensor::empty({xv.dim(0), xv.dim(1), (xv.dim(2) - kernel) / stride + 1,
                            (xv.dim(3) - kernel) / stride + 1});
  using ops_detail::wrap;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(P.x_md, xv.data()).mem},
                                       {DNNL_ARG_DST, wrap(P.y_md, y.data()).mem}};
  ops_detail::Buffer workspace;
  if (training) {
    workspace = ops_detail::scratch(P.fwd_pd.workspace_desc());
    args[DNNL_ARG_WORKSPACE] = workspace.mem;
  }
  P.fwd.execute(ops_detail::cpu_stream(), args);
  ops_detail::cpu_stream().wait();
  PoolPlan* plan = &P;
  Var result = make_result(std::move(y), {x}, [plan, workspace](Node& self) {
    Node& x = *self.inputs[0];
    float beta = 1.0f;
    float* dx = x.grad_target(beta);
    // A fresh gradient takes the primitive's result directly; an existing one gets it added
    // from a scratch buffer. AlexNet pool2 at batch 64 (dx 48 MB): 6.4 -> 3.7 ms (no zero
    // fill of dx, no scratch, no add pass).
    const ops_detail::Buffer dx_tmp =
        beta == 0.0f ? wrap(plan->x_md, dx) : ops_detail::scratch(plan->x_md);
    plan->bwd.execute(ops_detail::cpu_stream(),
                      {{DNNL_ARG_DIFF_DST, wrap(plan->y_md, self.grad.data()).mem},
                       {DNNL_ARG_WORKSPACE, workspace.mem},
                       {DNNL_ARG_DIFF_SRC, dx_tmp.mem}});
    if (beta != 0.0f) ops_detail::from_layout(plan->add_into_dx, dx_tmp, wrap(plan->x_md, dx));
    ops_detail::cpu_stream().wait();
  });
  result->reads_input_values = false;   // the argmax workspace is all backward needs
  result->allocates_input_grads = true;
  return result;
}

}  // namespace wp
