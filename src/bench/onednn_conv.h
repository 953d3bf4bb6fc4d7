#pragma once
// A oneDNN forward-inference convolution, the baseline of the conv and net suites: memories
// reordered into the primitive's own layouts once (outside any timer), then run() executes it.
// Internal to src/bench (bench_conv.cpp, bench_net.cpp).
#include <dnnl.hpp>

namespace wp {

// A oneDNN forward-inference convolution with its memories already in the primitive's layouts.
struct OnednnConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::convolution_forward prim;
  dnnl::memory src, wei, bias, dst;

  // Throws dnnl::error (status unimplemented) when oneDNN has no implementation.
  OnednnConv(dnnl::algorithm alg, int N, int C, int H, int K, int r, int pad, int groups,
             const float* x, const float* w, const float* b) {
    using dnnl::memory;
    using tag = memory::format_tag;
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
    auto import = [&](const memory::desc& want, memory::dims dims, tag user_tag,
                      const float* data) {
      memory user(memory::desc(dims, f32, user_tag), eng, const_cast<float*>(data));
      memory own(want, eng);
      dnnl::reorder(user, own).execute(strm, user, own);
      return own;
    };
    src = import(pd.src_desc(), src_d, tag::nchw, x);
    wei = import(pd.weights_desc(), wei_d, groups == 1 ? tag::oihw : tag::goihw, w);
    bias = import(pd.bias_desc(), bias_d, tag::x, b);
    dst = memory(pd.dst_desc(), eng);
    strm.wait();
    prim = dnnl::convolution_forward(pd);
  }
  void run() {
    prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bias},
                        {DNNL_ARG_DST, dst}});
    strm.wait();
  }
};

}  // namespace wp
