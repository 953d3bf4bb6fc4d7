#pragma once
// Standalone oneDNN forward-inference primitives, the baselines of the bench suites, each with
// its memories prepared outside any timer; run() executes it.
//   OnednnConv: the convolution baseline of the conv and net suites (direct or Winograd).
//   make_onednn_twin: the yardstick of the net suite's per-layer breakdown: for each conv (not
// Winograd), LRN, max-pool, ReLU and fully connected layer, the
// oneDNN primitive of the same shape run alone, its memories prepared outside the timer:
//   convolution (and a following ReLU as its post-op): src, weights and dst in the layouts the
//     primitive chooses (format any), so no reorder is timed (the layer converts NCHW in and out);
//   LRN, max pooling, ReLU: plain NCHW, the layout the network's tensors have;
//   inner product: src [N, in] plain, weights in the primitive's layout, dst plain.
// Internal to src/bench (bench_conv.cpp, bench_net.cpp).
#include <dnnl.hpp>

#include <memory>
#include <unordered_map>

#include "winoprune/nn/layers.h"

namespace wp {

struct OnednnTwin {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  void run() {
    prim.execute(strm, args);
    strm.wait();
  }
};

namespace onednn_twin_detail {

using dnnl::memory;
using tag = memory::format_tag;

inline memory::desc plain(const Shape& s) {
  memory::dims d(s.begin(), s.end());
  return memory::desc(d, memory::data_type::f32, s.size() == 4 ? tag::nchw : tag::nc);
}

// A memory of layout `want` holding `data` (plain layout `from`), reordered once.
inline memory import(OnednnTwin& t, const memory::desc& want, const memory::desc& from,
                     const float* data) {
  memory user(from, t.eng, const_cast<float*>(data));
  memory own(want, t.eng);
  dnnl::reorder(user, own).execute(t.strm, user, own);
  t.strm.wait();
  return own;
}

}  // namespace onednn_twin_detail

// A oneDNN forward-inference convolution (stride 1, symmetric padding) with its memories
// already in the primitive's layouts. Throws dnnl::error (status unimplemented) when oneDNN has
// no implementation (e.g. Winograd for some shapes).
struct OnednnConv : OnednnTwin {
  OnednnConv(dnnl::algorithm alg, int N, int C, int H, int K, int r, int pad, int groups,
             const float* x, const float* w, const float* b) {
    using namespace onednn_twin_detail;
    const auto f32 = memory::data_type::f32;
    const int Ho = H + 2 * pad - r + 1;
    memory::dims src_d{N, C, H, H}, dst_d{N, K, Ho, Ho}, bias_d{K};
    memory::dims wei_d = groups == 1 ? memory::dims{K, C, r, r}
                                     : memory::dims{groups, K / groups, C / groups, r, r};
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, alg, memory::desc(src_d, f32, tag::any),
        memory::desc(wei_d, f32, tag::any), memory::desc(bias_d, f32, tag::x),
        memory::desc(dst_d, f32, tag::any), {1, 1}, {pad, pad}, {pad, pad});
    dnnl::convolution_forward::primitive_desc pd(desc, eng);
    args[DNNL_ARG_SRC] = import(*this, pd.src_desc(), memory::desc(src_d, f32, tag::nchw), x);
    args[DNNL_ARG_WEIGHTS] = import(
        *this, pd.weights_desc(),
        memory::desc(wei_d, f32, groups == 1 ? tag::oihw : tag::goihw), w);
    args[DNNL_ARG_BIAS] = import(*this, pd.bias_desc(), memory::desc(bias_d, f32, tag::x), b);
    args[DNNL_ARG_DST] = memory(pd.dst_desc(), eng);
    prim = dnnl::convolution_forward(pd);
  }
};

// The twin of `layer` on `input` (its input in the network), with `relu` the following ReLU
// fused (convolution only); null for layers without one (Winograd, flatten, dropout).
inline std::unique_ptr<OnednnTwin> make_onednn_twin(Layer& layer, const Tensor& input,
                                                    bool relu) {
  using namespace onednn_twin_detail;
  const auto f32 = memory::data_type::f32;
  auto t = std::make_unique<OnednnTwin>();
  const memory::desc src_plain = plain(input.shape());
  const Shape out_shape = layer.output_shape(input.shape());
  const auto inference = dnnl::prop_kind::forward_inference;
  if (auto* c = dynamic_cast<Conv2dLayer*>(&layer)) {
    const Conv2dParams& p = c->params();
    const Tensor& w = c->weight().value();
    memory::dims wd = p.groups == 1 ? memory::dims{w.dim(0), w.dim(1), w.dim(2), w.dim(3)}
                                    : memory::dims{p.groups, w.dim(0) / p.groups, w.dim(1),
                                                   w.dim(2), w.dim(3)};
    const memory::desc w_plain(wd, f32, p.groups == 1 ? tag::oihw : tag::goihw);
    const memory::desc b_md({w.dim(0)}, f32, tag::x);
    memory::dims sd(input.shape().begin(), input.shape().end());
    memory::dims dd(out_shape.begin(), out_shape.end());
    dnnl::convolution_forward::desc d(
        inference, dnnl::algorithm::convolution_direct, memory::desc(sd, f32, tag::any),
        memory::desc(wd, f32, tag::any), b_md, memory::desc(dd, f32, tag::any),
        {p.stride, p.stride}, {p.pad, p.pad}, {p.pad, p.pad});
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::primitive_desc pd(d, attr, t->eng);
    t->args[DNNL_ARG_SRC] = import(*t, pd.src_desc(), src_plain, input.data());
    t->args[DNNL_ARG_WEIGHTS] = import(*t, pd.weights_desc(), w_plain, w.data());
    t->args[DNNL_ARG_BIAS] = import(*t, b_md, b_md, c->bias().value().data());
    t->args[DNNL_ARG_DST] = memory(pd.dst_desc(), t->eng);
    t->prim = dnnl::convolution_forward(pd);
    return t;
  }
  if (relu) return nullptr;   // only convolutions take the ReLU as a post-op here
  if (auto* l = dynamic_cast<LRNLayer*>(&layer)) {
    dnnl::lrn_forward::desc d(inference, dnnl::algorithm::lrn_across_channels, src_plain,
                              l->size(), l->alpha(), l->beta(), l->k());
    dnnl::lrn_forward::primitive_desc pd(d, t->eng);
    t->prim = dnnl::lrn_forward(pd);
  } else if (auto* m = dynamic_cast<MaxPoolLayer*>(&layer)) {
    dnnl::pooling_forward::desc d(inference, dnnl::algorithm::pooling_max, src_plain,
                                  plain(out_shape), {m->stride(), m->stride()},
                                  {m->kernel(), m->kernel()}, {0, 0}, {0, 0});
    dnnl::pooling_forward::primitive_desc pd(d, t->eng);
    t->prim = dnnl::pooling_forward(pd);
  } else if (dynamic_cast<ReLULayer*>(&layer)) {
    dnnl::eltwise_forward::desc d(inference, dnnl::algorithm::eltwise_relu, src_plain, 0.0f,
                                  0.0f);
    dnnl::eltwise_forward::primitive_desc pd(d, t->eng);
    t->prim = dnnl::eltwise_forward(pd);
  } else if (auto* f = dynamic_cast<LinearLayer*>(&layer)) {
    const Tensor& w = f->weight().value();
    const memory::desc w_plain({w.dim(0), w.dim(1)}, f32, tag::oi);
    const memory::desc b_md({w.dim(0)}, f32, tag::x);
    dnnl::inner_product_forward::desc d(inference, src_plain,
                                        memory::desc({w.dim(0), w.dim(1)}, f32, tag::any), b_md,
                                        plain(out_shape));
    dnnl::inner_product_forward::primitive_desc pd(d, t->eng);
    t->args[DNNL_ARG_WEIGHTS] = import(*t, pd.weights_desc(), w_plain, w.data());
    t->args[DNNL_ARG_BIAS] = import(*t, b_md, b_md, f->bias().value().data());
    t->prim = dnnl::inner_product_forward(pd);
  } else {
    return nullptr;
  }
  t->args[DNNL_ARG_SRC] = import(*t, src_plain, src_plain, input.data());
  t->args[DNNL_ARG_DST] = memory(plain(out_shape), t->eng);
  return t;
}

}  // namespace wp
