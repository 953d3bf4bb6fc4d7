// conv2d_relu_lrn_pool: AlexNet's first block, conv -> ReLU -> [LRN] -> max-pool, as one op
// whose intermediate activations stay in the layout oneDNN's convolution writes (nChw16c for
// conv1); one reorder to NCHW at the end, on the pooled output (4x smaller than the
// convolution's), and in backward one from NCHW at the start.
//   A = max(0, conv2d(x, w, b))   B = lrn(A)   y = max_pool2d(B)   (B = A without LRN)
//   backward: dB = pool'(dy) (argmax workspace), dA = lrn'(A, dB) (LRN workspace),
//             dZ = dA where A > 0, then the convolution's backward from dZ
// Reference twin: that composition of the engine's ops, conv2d, relu, lrn, max_pool2d
// (tests/ops/test_conv2d_relu_lrn_pool.cpp, forward and gradients).
// Why: op by op, the convolution's output is converted to NCHW (74 MB for AlexNet conv1 at
// batch 64) and back for its backward, the ReLU is a pass of its own each way, and LRN and
// pooling run on the plain layout, where oneDNN's LRN is an avx2 kernel. Measured (/tmp
// programs, AlexNet conv1 block at batch 64, 2 threads, medians of 9-11): inference 44.8 ms here
// against 50.3 op by op (LRN 5.9 against 8.6 ms, pooling 4.0 against 3.9, the 4.5 ms reorder of
// the convolution's output replaced by 0.9 ms of the pooled one); forward + backward (weights
// and bias, a 2-way linear head and cross-entropy after it) 103 ms against 126.
#include <string>
#include <unordered_map>

#include "dnnl_util.h"
#include "winoprune/error.h"
#include "winoprune/ops/ops.h"

namespace wp {

namespace {

using dnnl::memory;
using ops_detail::Buffer;

struct BlockPlan {
  bool has_lrn = false;
  dnnl::lrn_forward::primitive_desc lrn_pd;      // on the convolution's layout
  dnnl::lrn_forward lrn;
  dnnl::pooling_forward::primitive_desc pool_pd; // on the LRN's (or the convolution's) layout
  dnnl::pooling_forward pool;
  memory::desc y_md;                             // NCHW
  ops_detail::Reorder pool_to_y, y_to_pool;
  dnnl::lrn_backward lrn_bwd;                    // training plans only
  dnnl::pooling_backward pool_bwd;
};

BlockPlan& block_plan(const std::string& key, const memory::desc& a_md, const LrnParams* lrn,
                      int pool_kernel, int pool_stride, bool training) {
  return ops_detail::cached_plan<BlockPlan>(key, [&](BlockPlan& B) {
    const auto prop = training ? dnnl::prop_kind::forward_training
                               : dnnl::prop_kind::forward_inference;
    const dnnl::engine& eng = ops_detail::cpu_engine();
    const memory::dims d = a_md.dims();
    const memory::dims yd{d[0], d[1], (d[2] - pool_kernel) / pool_stride + 1,
                          (d[3] - pool_kernel) / pool_stride + 1};
    B.has_lrn = lrn != nullptr;
    memory::desc pool_src = a_md;
    if (lrn) {
      const dnnl::lrn_forward::desc ld(prop, dnnl::algorithm::lrn_across_channels, a_md,
                                       lrn->size, lrn->alpha, lrn->beta, lrn->k);
      B.lrn_pd = dnnl::lrn_forward::primitive_desc(ld, eng);
      B.lrn = dnnl::lrn_forward(B.lrn_pd);
      pool_src = B.lrn_pd.dst_desc();
      if (training)
        B.lrn_bwd = dnnl::lrn_backward(dnnl::lrn_backward::primitive_desc(
            dnnl::lrn_backward::desc(dnnl::algorithm::lrn_across_channels, a_md, pool_src,
                                     lrn->size, lrn->alpha, lrn->beta, lrn->k),
            eng, B.lrn_pd));
    }
    const memory::desc y_any(yd, memory::data_type::f32, memory::format_tag::any);
    const memory::dims strides{pool_stride, pool_stride}, kernel{pool_kernel, pool_kernel};
    B.pool_pd = dnnl::pooling_forward::primitive_desc(
        dnnl::pooling_forward::desc(prop, dnnl::algorithm::pooling_max, pool_src, y_any,
                                    strides, kernel, {0, 0}, {0, 0}),
        eng);
    B.pool = dnnl::pooling_forward(B.pool_pd);
    B.y_md = memory::desc(yd, memory::data_type::f32, memory::format_tag::nchw);
    B.pool_to_y = ops_detail::make_reorder(B.pool_pd.dst_desc(), B.y_md);
    if (training) {
      B.pool_bwd = dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
          dnnl::pooling_backward::desc(dnnl::algorithm::pooling_max, pool_src,
                                       B.pool_pd.dst_desc(), strides, kernel, {0, 0}, {0, 0}),
          eng, B.pool_pd));
      B.y_to_pool = ops_detail::make_reorder(B.y_md, B.pool_pd.dst_desc());
    }
  });
}

}  // namespace

Var conv2d_relu_lrn_pool(const Var& x, const Var& w, const Var& b, const Conv2dParams& p,
                         const LrnParams* lrn, int pool_kernel, int pool_stride) {
  const bool training =
      grad_enabled() && (x->requires_grad || w->requires_grad || (b && b->requires_grad));
  std::string conv_key;
  Buffer a;
  ops_detail::ConvPlan& conv = ops_detail::conv2d_relu_forward_own_layout(
      x->value, w->value, b ? &b->value : nullptr, p, &a, &conv_key);
  const memory::desc a_md = a.mem.get_desc();
  const memory::dims d = a_md.dims();   // N, K, Ho, Wo of the convolution
  if (pool_kernel < 1 || pool_stride < 1 || d[2] < pool_kernel || d[3] < pool_kernel)
    throw InputError("conv2d_relu_lrn_pool: pooling kernel " + std::to_string(pool_kernel) +
                     ", stride " + std::to_string(pool_stride) +
                     " on the convolution's output [" + std::to_string(d[0]) + ", " +
                     std::to_string(d[1]) + ", " + std::to_string(d[2]) + ", " +
                     std::to_string(d[3]) + "]: expected 1 <= kernel <= H, W and stride >= 1");
  if (lrn && (lrn->size < 1 || !(lrn->k > 0.0f)))
    throw InputError("conv2d_relu_lrn_pool: LRN size " + std::to_string(lrn->size) + ", k " +
                     std::to_string(lrn->k) + ": expected size >= 1 and k > 0");
  std::string key = conv_key + "|pool" + std::to_string(pool_kernel) + "s" +
                    std::to_string(pool_stride) + (training ? "T" : "I");
  if (lrn)
    key += "|lrn" + std::to_string(lrn->size) + "," + std::to_string(lrn->alpha) + "," +
           std::to_string(lrn->beta) + "," + std::to_string(lrn->k);
  BlockPlan& P = block_plan(key, a_md, lrn, pool_kernel, pool_stride, training);

  dnnl::stream& s = ops_detail::cpu_stream();
  Buffer pool_src = a, lrn_ws, pool_ws;
  if (P.has_lrn) {
    pool_src = ops_detail::scratch(P.lrn_pd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, a.mem}, {DNNL_ARG_DST, pool_src.mem}};
    if (training) {
      lrn_ws = ops_detail::scratch(P.lrn_pd.workspace_desc());
      args[DNNL_ARG_WORKSPACE] = lrn_ws.mem;
    }
    P.lrn.execute(s, args);
  }
  const memory::dims yd = P.y_md.dims();
  Tensor y = Tensor::empty({yd[0], yd[1], yd[2], yd[3]});
  const Buffer yu = ops_detail::wrap(P.y_md, y.data());
  const Buffer pooled = ops_detail::output_buffer(P.pool_to_y, yu, P.pool_pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, pool_src.mem}, {DNNL_ARG_DST, pooled.mem}};
  if (training) {
    pool_ws = ops_detail::scratch(P.pool_pd.workspace_desc());
    args[DNNL_ARG_WORKSPACE] = pool_ws.mem;
  }
  P.pool.execute(s, args);
  ops_detail::from_layout(P.pool_to_y, pooled, yu);
  s.wait();
  if (!training) return leaf(std::move(y));

  // Backward keeps A (the ReLU's output: its sign pattern and the LRN's input) and the two
  // workspaces; the LRN's output is needed by nothing and is freed here.
  std::vector<Var> inputs{x, w};
  if (b) inputs.push_back(b);
  BlockPlan* plan = &P;
  ops_detail::ConvPlan* conv_plan = &conv;
  Var result = make_result(std::move(y), std::move(inputs),
                           [plan, conv_plan, a, lrn_ws, pool_ws](Node& self) {
    dnnl::stream& s = ops_detail::cpu_stream();
    const BlockPlan& P = *plan;
    const Buffer dy = ops_detail::to_layout(
        P.y_to_pool, ops_detail::wrap(P.y_md, self.grad.data()), P.pool_pd.dst_desc());
    const Buffer d_pool_src = ops_detail::scratch(P.pool_pd.src_desc());
    P.pool_bwd.execute(s, {{DNNL_ARG_DIFF_DST, dy.mem},
                           {DNNL_ARG_WORKSPACE, pool_ws.mem},
                           {DNNL_ARG_DIFF_SRC, d_pool_src.mem}});
    Buffer da = d_pool_src;
    if (P.has_lrn) {
      da = ops_detail::scratch(a.mem.get_desc());
      P.lrn_bwd.execute(s, {{DNNL_ARG_SRC, a.mem},
                            {DNNL_ARG_DIFF_DST, d_pool_src.mem},
                            {DNNL_ARG_WORKSPACE, lrn_ws.mem},
                            {DNNL_ARG_DIFF_SRC, da.mem}});
    }
    s.wait();
    relu_backward_in_place(static_cast<float*>(da.mem.get_data_handle()),
                           static_cast<const float*>(a.mem.get_data_handle()),
                           int64_t(a.mem.get_desc().get_size() / sizeof(float)));
    Node& x = *self.inputs[0];
    Node& w = *self.inputs[1];
    Node* b = self.inputs.size() > 2 ? self.inputs[2].get() : nullptr;
    ops_detail::conv2d_backward_own_layout(
        *conv_plan, da, x.requires_grad ? x.grad_buffer().data() : nullptr,
        w.requires_grad ? w.grad_buffer().data() : nullptr,
        b && b->requires_grad ? b->grad_buffer().data() : nullptr, x.value.data(),
        w.value.data());
  });
  return result;
}

}  // namespace wp
