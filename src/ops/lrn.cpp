// lrn: local response normalization across channels (Caffe ACROSS_CHANNELS, oneDNN
// lrn_across_channels). Legend: N batch, C channels, H x W spatial; size odd,
// window(c) = channels [c - (size-1)/2, c + (size-1)/2] clipped to [0, C).
//   x, y [N, C, H, W]   workspace: the primitive's saved scales (2 floats per element)
//   s_c = k + alpha/size * sum_{c' in window(c)} x_c'^2;   y_c = x_c * s_c^-beta
//   dx_c += dy_c s_c^-beta - 2 alpha beta / size * x_c * sum_{c' in window(c)} dy_c' x_c' s_c'^(-beta-1)
// Reference twin: include/winoprune/ops/lrn_reference.h.
// Fast path, chosen by measurement (/tmp throwaway program, 2 threads, median of 5, ms
// forward / backward, AlexNet at batch 64):
//                          oneDNN plain NCHW   oneDNN nChw16c+reorders   oneDNN nhwc+reorders   OpenMP loop (fwd)
//   lrn1 64x96x55x55        10.1 / 409          16.4 / 16.3              16.8 / 18.0            32.8
//   lrn2 64x256x27x27        6.1 / 264          10.0 / 10.2              11.4 / 16.2            22.1
// oneDNN's backward on plain NCHW falls back to a 25-40x slower implementation, so backward runs
// on the blocked layout (nChw16c; nChw8c where oneDNN lacks AVX-512), converting with reorders
// (included in the times above). The forward, training or not, runs the plain NCHW forward on
// the tensors themselves: no reorders, 1.6x faster by the first column (training forwards ran
// the blocked one until 2026-12-03, although backward rebuilds everything it needs from x:
// forward alone 13.5 -> 10.5 ms for lrn1, 8.6 -> 6.9 ms for lrn2, medians of 9 in a /tmp
// driver of the op). The plain OpenMP loop, compiled without ISA flags (SSE2), is 2x slower
// forward.
// Memory: nothing is saved for backward but the input (the graph holds it anyway). The
// workspace (2x the input in every layout oneDNN 2.6 offers: 142 MB for lrn1 at batch 64) and
// the blocked input (71 MB) are rebuilt in backward by a forward_training pass, instead of being
// kept from the forward (which runs forward_inference) until backward reaches the layer. Kept,
// they held 213 MB (lrn1) and 137 MB (lrn2) through the step; rebuilt, and with dy dropped once
// converted, the peak of an AlexNet step's blocks in use fell from 1668 to 1364 MB. The rebuild
// costs one more blocked forward per layer (measured beside 2 busy processes: lrn1 forward +
// backward 64 -> 81 ms, lrn2 36 -> 48 ms; ~2% of an AlexNet step).
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "dnnl_util.h"
#include "winoprune/error.h"
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
using tag = dnnl::memory::format_tag;
using ops_detail::Buffer;
using ops_detail::Reorder;

struct LrnPlan {
  memory::desc x_md, blocked_md;
  bool training = false;
  dnnl::lrn_forward fwd_plain;              // forward_inference on plain NCHW: no workspace
  dnnl::lrn_forward::primitive_desc train_pd;   // training only:
  dnnl::lrn_forward fwd_train;              //   rebuilds the workspace in backward
  dnnl::lrn_backward bwd;
  Reorder to_blocked, add_into_dx;
};

LrnPlan& lrn_plan(const Shape& xs, int size, float alpha, float beta, float k, bool training) {
  // Parameters by their bit patterns: to_string's 6 decimals would merge alpha 1e-7 and 2e-7.
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return std::to_string(u);
  };
  const std::string key = shape_str(xs) + " " + std::to_string(size) + " " + bits(alpha) + " " +
                          bits(beta) + " " + bits(k) + (training ? "T" : "I") +
                          ops_detail::threads_key();
  return ops_detail::cached_plan<LrnPlan>(key, [&](LrnPlan& P) {
    const auto f32 = memory::data_type::f32;
    const memory::dims dims{xs[0], xs[1], xs[2], xs[3]};
    const int isa = int(dnnl::get_effective_cpu_isa());
    const bool avx512 = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    P.x_md = memory::desc(dims, f32, tag::nchw);
    P.blocked_md = memory::desc(dims, f32, avx512 ? tag::nChw16c : tag::nChw8c);
    P.training = training;
    const auto alg = dnnl::algorithm::lrn_across_channels;
    auto forward_desc = [&](dnnl::prop_kind prop) {
      return dnnl::lrn_forward::desc(prop, alg, P.blocked_md, size, alpha, beta, k);
    };
    P.fwd_plain = dnnl::lrn_forward(dnnl::lrn_forward::primitive_desc(
        dnnl::lrn_forward::desc(dnnl::prop_kind::forward_inference, alg, P.x_md, size, alpha,
                                beta, k),
        ops_detail::cpu_engine()));
    P.to_blocked = ops_detail::make_reorder(P.x_md, P.blocked_md);
    if (training) {
      P.train_pd = dnnl::lrn_forward::primitive_desc(
          forward_desc(dnnl::prop_kind::forward_training), ops_detail::cpu_engine());
      P.fwd_train = dnnl::lrn_forward(P.train_pd);
      dnnl::lrn_backward::desc bd(alg, P.blocked_md, P.blocked_md, size, alpha, beta, k);
      P.bwd = dnnl::lrn_backward(
          dnnl::lrn_backward::primitive_desc(bd, ops_detail::cpu_engine(), P.train_pd));
      P.add_into_dx = ops_detail::make_reorder(P.blocked_md, P.x_md, true);
    }
  });
}

}  // namespace

Var lrn(const Var& x, int size, float alpha, float beta, float k) {
  const Tensor& xv = x->value;
  if (xv.ndim() != 4 || xv.numel() == 0 || size < 1 || size % 2 == 0 || !(k > 0.0f))
    throw InputError("lrn: input " + shape_str(xv.shape()) + ", size " + std::to_string(size) +
                     ", k " + std::to_string(k) +
                     ": expected input [N, C, H, W], an odd size >= 1 and k > 0");
  const bool training = grad_enabled() && x->requires_grad;
  LrnPlan& P = lrn_plan(xv.shape(), size, alpha, beta, k, training);
  using namespace ops_detail;
  Tensor y = Tensor::empty(xv.shape());
  P.fwd_plain.execute(cpu_stream(), {{DNNL_ARG_SRC, wrap(P.x_md, xv.data()).mem},
                                     {DNNL_ARG_DST, wrap(P.x_md, y.data()).mem}});
  cpu_stream().wait();
  if (!training) return make_result(std::move(y), {x}, nullptr);
  LrnPlan* plan = &P;
  return make_result(std::move(y), {x}, [plan](Node& self) {
    Node& x = *self.inputs[0];
    const Buffer dyb =
        to_layout(plan->to_blocked, wrap(plan->x_md, self.grad.data()), plan->blocked_md);
    cpu_stream().wait();
    if (dyb.keep) self.grad = Tensor();  // read: its blocked copy is what backward uses
    const Buffer xb =
        to_layout(plan->to_blocked, wrap(plan->x_md, x.value.data()), plan->blocked_md);
    const Buffer workspace = scratch(plan->train_pd.workspace_desc());
    // The forward's output is not needed: it goes to dxb, which backward then overwrites.
    const Buffer dxb = scratch(plan->blocked_md);
    plan->fwd_train.execute(cpu_stream(), {{DNNL_ARG_SRC, xb.mem},
                                           {DNNL_ARG_DST, dxb.mem},
                                           {DNNL_ARG_WORKSPACE, workspace.mem}});
    plan->bwd.execute(cpu_stream(), {{DNNL_ARG_SRC, xb.mem},
                                     {DNNL_ARG_DIFF_DST, dyb.mem},
                                     {DNNL_ARG_WORKSPACE, workspace.mem},
                                     {DNNL_ARG_DIFF_SRC, dxb.mem}});
    from_layout(plan->add_into_dx, dxb, wrap(plan->x_md, x.grad_buffer().data()));
    cpu_stream().wait();
  });
}

}  // namespace wp
