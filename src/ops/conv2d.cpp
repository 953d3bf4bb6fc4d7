// conv2d: 2-D cross-correlation with stride, symmetric zero padding and groups.
// Legend: N batch, C/K in/out channels, G groups, Cg = C/G, Kg = K/G, H x W in, R x S kernel,
// Ho x Wo out; output channel k is in group g = k / Kg and reads input channels g*Cg .. g*Cg+Cg-1.
//   x  [N, C, H, W]     w [K, Cg, R, S]     b [K] (optional)     y [N, K, Ho, Wo]
//   y[n,k,i,j] = b[k] + sum_{c,r,s} w[k,c,r,s] x[n, g*Cg+c, i*stride-pad+r, j*stride-pad+s]
//   dx[n,g*Cg+c,h,w] += sum_{k in g, (i,j,r,s): i*stride-pad+r = h, j*stride-pad+s = w} w[k,c,r,s] dy[n,k,i,j]
//   dw[k,c,r,s]      += sum_{n,i,j} dy[n,k,i,j] x[n, g*Cg+c, i*stride-pad+r, j*stride-pad+s]
//   db[k]            += sum_{n,i,j} dy[n,k,i,j]
// Reference twin: include/winoprune/ops/conv2d_reference.h.
//
// Fast path, chosen by measurement (/tmp throwaway program, 2 OpenMP threads, medians of 3,
// GFLOP/s = conv2d flops / time including every layout conversion):
//                             oneDNN plain NCHW       oneDNN "any" + reorders   im2col + sgemm
//                             fwd  bwd-data bwd-w      fwd  bwd-data bwd-w        fwd bwd-d bwd-w
//   small conv1 1->64 5x5 28    41   196     74        166     28    183           74   99   61
//   small conv2 64->128 5x5 14 311   323    301        549    550    524          252  308  223
//   small conv3 128->192 3x3 7 365   282    378        508    516    470          305  346  270
//   small conv4 192->192 3x3 7 373   284    351        512    521    474          301  345  272
//   small conv5 192->128 3x3 7 344   254    303        509    519    466          271  300  243
//   AlexNet conv1 11x11/4 227  286   256    197        408     75    375          174  229   72
//   AlexNet conv2 5x5 g1 27    383   360    303        517    507    457          281  313  271
//   AlexNet conv2 5x5 g2 27    326   334    269        516    487    482          254  310  220
//   AlexNet conv3 3x3 13       419   411    371        381    411    477          386  362  310
//   AlexNet conv4 3x3 13       378   334    392        499    476    482          352  327  257
//   AlexNet conv5 3x3 13       386   384    384        503    483    481          323  306  232
// (small: batch 128; AlexNet: batch 64; measured on an idle machine.) oneDNN with layouts left
// to the primitive (jit:avx512_core on blocked nChw16c) wins or ties every pass, by up to 1.8x
// with reorders included (one loss, AlexNet conv3 forward 381 vs 419, did not repeat: this op
// ran it at 540 later), except backward-data with few input channels, where its blocked
// diff_src pads C up to 16 (C=1: 28 vs 196 GFLOP/s); there the plain-layout primitive
// (x64:gemm:jit) is used: rule Cg < 16.
// This op as built (/tmp throwaway program through conv2d(), output allocation and gradient
// accumulation included, min of 5): alexnet-small conv2-5 at 2 threads 521-562 GFLOP/s forward
// and 513-559 backward (data + weights); per core (1 thread, CPU time) 263-291 and 255-279,
// AlexNet conv2-5 235-269 and 250-274.
// Primitives and reorders are built once per shape and thread count (ops_detail::cached_plan).
// oneDNN primitives overwrite their outputs; gradients are ADDED through reorders with a sum
// post-op. Same inputs and thread count give bitwise the same results (checked by
// tests/ops/test_conv2d.cpp and test_determinism.cpp).
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl_util.h"
#include "winoprune/error.h"
#include "winoprune/ops/conv2d_reference.h"
#include "winoprune/ops/ops.h"

namespace wp {

template void conv2d_forward_reference<float>(float*, const float*, const float*, const float*,
                                              const Conv2dShape&);
template void conv2d_forward_reference<double>(double*, const double*, const double*,
                                               const double*, const Conv2dShape&);
template void conv2d_backward_reference<float>(float*, float*, float*, const float*, const float*,
                                               const float*, const Conv2dShape&);
template void conv2d_backward_reference<double>(double*, double*, double*, const double*,
                                                const double*, const double*, const Conv2dShape&);

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using ops_detail::Buffer;
using ops_detail::Reorder;

namespace ops_detail {

struct ConvBackwardPlan {
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_data data;
  Reorder dy_to_data, w_to_data, data_to_dx;          // data_to_dx accumulates
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_backward_weights weights;
  Reorder x_to_weights, dy_to_weights, weights_to_dw; // weights_to_dw accumulates
  // dy given in the forward's own dst layout (conv2d_relu_lrn_pool.cpp) instead of NCHW.
  Reorder own_dy_to_data, own_dy_to_weights;
};

struct ConvPlan {
  Conv2dShape s;
  bool has_bias = false;
  bool relu = false;                                  // ReLU post-op (inference plans only)
  memory::desc x_md, w_md, b_md, y_md;                // the engine's plain layouts
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  Reorder x_to_fwd, w_to_fwd, fwd_to_y;
  std::once_flag backward_once;                       // backward is built on first use
  std::unique_ptr<ConvBackwardPlan> bwd;
};

}  // namespace ops_detail

namespace {

using ops_detail::ConvBackwardPlan;
using ops_detail::ConvPlan;

// Below 16 input channels per group, oneDNN's blocked backward-data pads C to 16 and runs 3-7x
// slower than its plain-layout GEMM implementation (table above).
constexpr int kPlainBackwardDataBelowChannels = 16;

memory::dims weight_dims(const Conv2dShape& s) {
  if (s.groups == 1) return {s.K, s.C, s.R, s.S};
  return {s.groups, s.Kg(), s.Cg(), s.R, s.S};
}

memory::desc any_like(const memory::desc& md) {
  return memory::desc(md.dims(), memory::data_type::f32, tag::any);
}

void init_plan(ConvPlan& P, const Conv2dShape& s, bool has_bias, bool relu) {
  P.s = s;
  P.has_bias = has_bias;
  P.relu = relu;
  const auto f32 = memory::data_type::f32;
  P.x_md = memory::desc({s.N, s.C, s.H, s.W}, f32, tag::nchw);
  P.y_md = memory::desc({s.N, s.K, s.Ho(), s.Wo()}, f32, tag::nchw);
  P.w_md = memory::desc(weight_dims(s), f32, s.groups == 1 ? tag::oihw : tag::goihw);
  P.b_md = has_bias ? memory::desc({s.K}, f32, tag::x) : memory::desc();
  const memory::dims strides{s.stride, s.stride}, pads{s.pad, s.pad};
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training,
                                    dnnl::algorithm::convolution_direct, any_like(P.x_md),
                                    any_like(P.w_md), P.b_md, any_like(P.y_md), strides, pads,
                                    pads);
  // The ReLU variant keeps the training prop kind, so oneDNN picks the same implementation and
  // the convolution's sums are the plain plan's, bit for bit; the post-op then clips them.
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  P.fwd_pd = dnnl::convolution_forward::primitive_desc(d, attr, ops_detail::cpu_engine());
  P.fwd = dnnl::convolution_forward(P.fwd_pd);
  P.x_to_fwd = ops_detail::make_reorder(P.x_md, P.fwd_pd.src_desc());
  P.w_to_fwd = ops_detail::make_reorder(P.w_md, P.fwd_pd.weights_desc());
  P.fwd_to_y = ops_detail::make_reorder(P.fwd_pd.dst_desc(), P.y_md);
}

void init_backward(ConvPlan& P) {
  const Conv2dShape& s = P.s;
  auto B = std::make_unique<ConvBackwardPlan>();
  const memory::dims strides{s.stride, s.stride}, pads{s.pad, s.pad};
  const bool plain = s.Cg() < kPlainBackwardDataBelowChannels;
  memory::desc dx_md = plain ? P.x_md : any_like(P.x_md);
  memory::desc w_md = plain ? P.w_md : any_like(P.w_md);
  memory::desc dy_md = plain ? P.y_md : any_like(P.y_md);
  B->data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, dx_md, w_md,
                                            dy_md, strides, pads, pads),
      ops_detail::cpu_engine(), P.fwd_pd);
  B->data = dnnl::convolution_backward_data(B->data_pd);
  B->dy_to_data = ops_detail::make_reorder(P.y_md, B->data_pd.diff_dst_desc());
  B->w_to_data = ops_detail::make_reorder(P.w_md, B->data_pd.weights_desc());
  B->data_to_dx = ops_detail::make_reorder(B->data_pd.diff_src_desc(), P.x_md, true);
  B->own_dy_to_data = ops_detail::make_reorder(P.fwd_pd.dst_desc(), B->data_pd.diff_dst_desc());

  B->weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct,
                                               any_like(P.x_md), any_like(P.w_md), P.b_md,
                                               any_like(P.y_md), strides, pads, pads),
      ops_detail::cpu_engine(), P.fwd_pd);
  B->weights = dnnl::convolution_backward_weights(B->weights_pd);
  B->x_to_weights = ops_detail::make_reorder(P.x_md, B->weights_pd.src_desc());
  B->dy_to_weights = ops_detail::make_reorder(P.y_md, B->weights_pd.diff_dst_desc());
  B->weights_to_dw = ops_detail::make_reorder(B->weights_pd.diff_weights_desc(), P.w_md, true);
  B->own_dy_to_weights =
      ops_detail::make_reorder(P.fwd_pd.dst_desc(), B->weights_pd.diff_dst_desc());
  P.bwd = std::move(B);
}

std::string conv_plan_key(const Conv2dShape& s, bool has_bias, bool relu) {
  return std::to_string(s.N) + "," + std::to_string(s.C) + "," + std::to_string(s.H) + "," +
         std::to_string(s.W) + "," + std::to_string(s.K) + "," + std::to_string(s.R) + "," +
         std::to_string(s.S) + "," + std::to_string(s.stride) + "," + std::to_string(s.pad) +
         "," + std::to_string(s.groups) + "," + (has_bias ? "b" : "nb") + (relu ? "r" : "") +
         ops_detail::threads_key();
}

ConvPlan& conv_plan(const Conv2dShape& s, bool has_bias, bool relu = false) {
  const std::string key = conv_plan_key(s, has_bias, relu);
  return ops_detail::cached_plan<ConvPlan>(key,
                                           [&](ConvPlan& P) { init_plan(P, s, has_bias, relu); });
}

// ym = conv(x, w) + b (b may be null) in the primitive's dst layout; not waited for.
void run_forward(ConvPlan& P, const Buffer& ym, const float* x, const float* w, const float* b) {
  using namespace ops_detail;
  const Buffer xm = to_layout(P.x_to_fwd, wrap(P.x_md, x), P.fwd_pd.src_desc());
  const Buffer wm = to_layout(P.w_to_fwd, wrap(P.w_md, w), P.fwd_pd.weights_desc());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, xm.mem}, {DNNL_ARG_WEIGHTS, wm.mem}, {DNNL_ARG_DST, ym.mem}};
  if (b) args[DNNL_ARG_BIAS] = wrap(P.b_md, b).mem;
  P.fwd.execute(cpu_stream(), args);
}

// y = conv(x, w) + b   (b may be null), NCHW
void conv2d_forward_fast(ConvPlan& P, float* y, const float* x, const float* w, const float* b) {
  using namespace ops_detail;
  const Buffer yu = wrap(P.y_md, y);
  const Buffer ym = output_buffer(P.fwd_to_y, yu, P.fwd_pd.dst_desc());
  run_forward(P, ym, x, w, b);
  from_layout(P.fwd_to_y, ym, yu);
  cpu_stream().wait();
}

// Adds into dx, dw, db (each may be null). dyu is dy in NCHW (P.y_md) or, own_layout, in the
// forward's dst layout.
void conv2d_backward_fast(ConvPlan& P, float* dx, float* dw, float* db, const Buffer& dyu,
                          bool own_layout, const float* x, const float* w) {
  using namespace ops_detail;
  std::call_once(P.backward_once, [&] { init_backward(P); });
  ConvBackwardPlan& B = *P.bwd;
  Buffer dy_data;  // dy in backward-data's layout, shared with backward-weights when equal
  if (dx) {
    dy_data = to_layout(own_layout ? B.own_dy_to_data : B.dy_to_data, dyu,
                        B.data_pd.diff_dst_desc());
    const Buffer wm = to_layout(B.w_to_data, wrap(P.w_md, w), B.data_pd.weights_desc());
    const Buffer dxm = scratch(B.data_pd.diff_src_desc());
    B.data.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, dy_data.mem},
                                  {DNNL_ARG_WEIGHTS, wm.mem},
                                  {DNNL_ARG_DIFF_SRC, dxm.mem}});
    from_layout(B.data_to_dx, dxm, wrap(P.x_md, dx));
  }
  if (dw || db) {
    const Buffer dy_w = dx && B.data_pd.diff_dst_desc() == B.weights_pd.diff_dst_desc()
                            ? dy_data
                            : to_layout(own_layout ? B.own_dy_to_weights : B.dy_to_weights,
                                        dyu, B.weights_pd.diff_dst_desc());
    const Buffer xm = to_layout(B.x_to_weights, wrap(P.x_md, x), B.weights_pd.src_desc());
    const Buffer dwm = scratch(B.weights_pd.diff_weights_desc());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, xm.mem}, {DNNL_ARG_DIFF_DST, dy_w.mem}, {DNNL_ARG_DIFF_WEIGHTS, dwm.mem}};
    Buffer dbm;
    if (P.has_bias) {
      dbm = scratch(B.weights_pd.diff_bias_desc());
      args[DNNL_ARG_DIFF_BIAS] = dbm.mem;
    }
    B.weights.execute(cpu_stream(), args);
    if (dw) from_layout(B.weights_to_dw, dwm, wrap(P.w_md, dw));
    cpu_stream().wait();
    if (db) {
      const float* src = static_cast<const float*>(dbm.mem.get_data_handle());
      for (int k = 0; k < P.s.K; ++k) db[k] += src[k];
    }
  }
  cpu_stream().wait();
}

std::string describe(const char* what, const Shape& shape) {
  return std::string(what) + " " + shape_str(shape);
}

Conv2dShape check_conv2d(const Tensor& x, const Tensor& w, const Tensor* b,
                         const Conv2dParams& p) {
  auto fail = [&](const std::string& why) {
    throw InputError("conv2d: " + describe("input", x.shape()) + ", " +
                     describe("weight", w.shape()) +
                     (b ? ", " + describe("bias", b->shape()) : std::string()) + ", stride " +
                     std::to_string(p.stride) + ", pad " + std::to_string(p.pad) + ", groups " +
                     std::to_string(p.groups) + ": " + why);
  };
  if (x.ndim() != 4) fail("expected input [N, C, H, W]");
  if (w.ndim() != 4) fail("expected weight [K, C/groups, R, S]");
  if (p.stride < 1 || p.pad < 0 || p.groups < 1)
    fail("expected stride >= 1, pad >= 0, groups >= 1");
  for (int i = 0; i < 4; ++i)
    if (x.dim(i) < 1 || w.dim(i) < 1) fail("expected every dimension >= 1");
  Conv2dShape s;
  s.N = int(x.dim(0)), s.C = int(x.dim(1)), s.H = int(x.dim(2)), s.W = int(x.dim(3));
  s.K = int(w.dim(0)), s.R = int(w.dim(2)), s.S = int(w.dim(3));
  s.stride = p.stride, s.pad = p.pad, s.groups = p.groups;
  if (s.C % s.groups || s.K % s.groups) fail("channels not divisible by groups");
  if (w.dim(1) * s.groups != s.C)
    fail("weight expects " + std::to_string(w.dim(1) * s.groups) + " input channels, input has " +
         std::to_string(s.C));
  if (b && (b->ndim() != 1 || b->dim(0) != s.K))
    fail("expected bias [" + std::to_string(s.K) + "]");
  if (s.H + 2 * s.pad < s.R || s.W + 2 * s.pad < s.S) fail("kernel larger than padded input");
  return s;
}

}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  const Conv2dShape s = check_conv2d(x->value, w->value, b ? &b->value : nullptr, p);
  ConvPlan& plan = conv_plan(s, b != nullptr);
  Tensor y = Tensor::empty({s.N, s.K, s.Ho(), s.Wo()});
  conv2d_forward_fast(plan, y.data(), x->value.data(), w->value.data(),
                      b ? b->value.data() : nullptr);
  std::vector<Var> inputs{x, w};
  if (b) inputs.push_back(b);
  ConvPlan* P = &plan;
  return make_result(std::move(y), std::move(inputs), [P](Node& self) {
    Node& x = *self.inputs[0];
    Node& w = *self.inputs[1];
    Node* b = self.inputs.size() > 2 ? self.inputs[2].get() : nullptr;
    conv2d_backward_fast(*P, x.requires_grad ? x.grad_buffer().data() : nullptr,
                         w.requires_grad ? w.grad_buffer().data() : nullptr,
                         b && b->requires_grad ? b->grad_buffer().data() : nullptr,
                         ops_detail::wrap(P->y_md, self.grad.data()), false, x.value.data(),
                         w.value.data());
  });
}

namespace ops_detail {

ConvPlan& conv2d_relu_forward_own_layout(const Tensor& x, const Tensor& w, const Tensor* b,
                                         const Conv2dParams& p, Buffer* y,
                                         std::string* plan_key) {
  const Conv2dShape s = check_conv2d(x, w, b, p);
  ConvPlan& P = conv_plan(s, b != nullptr, true);
  *plan_key = conv_plan_key(s, b != nullptr, true);
  *y = scratch(P.fwd_pd.dst_desc());
  run_forward(P, *y, x.data(), w.data(), b ? b->data() : nullptr);
  cpu_stream().wait();
  return P;
}

void conv2d_backward_own_layout(ConvPlan& P, const Buffer& dy, float* dx, float* dw, float* db,
                                const float* x, const float* w) {
  conv2d_backward_fast(P, dx, dw, db, dy, true, x, w);
}

}  // namespace ops_detail

Var conv2d_relu_inference(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  if (grad_enabled() && (x->requires_grad || w->requires_grad || (b && b->requires_grad)))
    throw std::logic_error("conv2d_relu_inference: gradients are on (the fused ReLU has no "
                           "backward); run it under NoGradGuard");
  const Conv2dShape s = check_conv2d(x->value, w->value, b ? &b->value : nullptr, p);
  ConvPlan& plan = conv_plan(s, b != nullptr, true);
  Tensor y = Tensor::empty({s.N, s.K, s.Ho(), s.Wo()});
  conv2d_forward_fast(plan, y.data(), x->value.data(), w->value.data(),
                      b ? b->value.data() : nullptr);
  return leaf(std::move(y));
}

}  // namespace wp
