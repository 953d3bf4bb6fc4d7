// conv2d_relu_lrn_pool_inference: AlexNet's first block, conv -> ReLU -> [LRN] -> max-pool, as
// one inference op whose intermediate activations stay in the layout oneDNN's convolution
// writes (nhwc for conv1's 3 input channels); one reorder to NCHW at the end, on the pooled
// output (4x smaller than the convolution's).
//   y = max_pool2d(lrn(max(0, conv2d(x, w, b)))), each as the op of the same name computes it
// Reference twin: that composition of the engine's ops (tests/ops/test_conv2d_relu_lrn_pool.cpp).
// Why: run op by op, the convolution's output is converted to NCHW (74 MB for AlexNet conv1 at
// batch 64) and LRN and pooling run on the plain layout, where oneDNN's LRN is an avx2 kernel.
// Measured (/tmp program, AlexNet conv1 block at batch 64, 2 threads, medians of 9, ms):
//   conv 34.4 | op by op: reorder 4.5, LRN 8.6, pool 3.9 (51.4) | here: LRN 2.5, pool 2.5,
//   reorder 1.0 (40.4).
#include <string>
#include <unordered_map>

#include "dnnl_util.h"
#include "winoprune/error.h"
#include "winoprune/ops/ops.h"

namespace wp {

namespace {

using dnnl::memory;

struct BlockPlan {
  bool has_lrn = false;
  dnnl::lrn_forward lrn;                // on the convolution's layout
  memory::desc lrn_dst;
  dnnl::pooling_forward pool;           // on the LRN's (or the convolution's) layout
  memory::desc pool_dst;
  memory::desc y_md;                    // NCHW
  ops_detail::Reorder pool_to_y;
};

}  // namespace

Var conv2d_relu_lrn_pool_inference(const Var& x, const Var& w, const Var& b,
                                   const Conv2dParams& p, const LrnParams* lrn, int pool_kernel,
                                   int pool_stride) {
  ops_detail::require_no_grad("conv2d_relu_lrn_pool_inference", {x, w, b});
  std::string conv_key;
  const ops_detail::Buffer a = ops_detail::conv2d_relu_inference_own_layout(
      x->value, w->value, b ? &b->value : nullptr, p, &conv_key);
  const memory::desc a_md = a.mem.get_desc();
  const memory::dims d = a_md.dims();   // N, K, Ho, Wo of the convolution
  if (pool_kernel < 1 || pool_stride < 1 || d[2] < pool_kernel || d[3] < pool_kernel)
    throw InputError("conv2d_relu_lrn_pool_inference: pooling kernel " +
                     std::to_string(pool_kernel) + ", stride " + std::to_string(pool_stride) +
                     " on the convolution's output [" + std::to_string(d[0]) + ", " +
                     std::to_string(d[1]) + ", " + std::to_string(d[2]) + ", " +
                     std::to_string(d[3]) + "]: expected 1 <= kernel <= H, W and stride >= 1");
  if (lrn && (lrn->size < 1 || !(lrn->k > 0.0f)))
    throw InputError("conv2d_relu_lrn_pool_inference: LRN size " + std::to_string(lrn->size) +
                     ", k " + std::to_string(lrn->k) + ": expected size >= 1 and k > 0");
  const memory::dims yd{d[0], d[1], (d[2] - pool_kernel) / pool_stride + 1,
                        (d[3] - pool_kernel) / pool_stride + 1};
  std::string key = conv_key + "|pool" + std::to_string(pool_kernel) + "s" +
                    std::to_string(pool_stride);
  if (lrn)
    key += "|lrn" + std::to_string(lrn->size) + "," + std::to_string(lrn->alpha) + "," +
           std::to_string(lrn->beta) + "," + std::to_string(lrn->k);
  BlockPlan& P = ops_detail::cached_plan<BlockPlan>(key, [&](BlockPlan& B) {
    const auto inference = dnnl::prop_kind::forward_inference;
    const dnnl::engine& eng = ops_detail::cpu_engine();
    B.has_lrn = lrn != nullptr;
    memory::desc pool_src = a_md;
    if (lrn) {
      dnnl::lrn_forward::primitive_desc pd(
          dnnl::lrn_forward::desc(inference, dnnl::algorithm::lrn_across_channels, a_md,
                                  lrn->size, lrn->alpha, lrn->beta, lrn->k),
          eng);
      B.lrn = dnnl::lrn_forward(pd);
      B.lrn_dst = pd.dst_desc();
      pool_src = B.lrn_dst;
    }
    dnnl::pooling_forward::primitive_desc pd(
        dnnl::pooling_forward::desc(inference, dnnl::algorithm::pooling_max, pool_src,
                                    memory::desc(yd, memory::data_type::f32,
                                                 memory::format_tag::any),
                                    {pool_stride, pool_stride}, {pool_kernel, pool_kernel},
                                    {0, 0}, {0, 0}),
        eng);
    B.pool = dnnl::pooling_forward(pd);
    B.pool_dst = pd.dst_desc();
    B.y_md = memory::desc(yd, memory::data_type::f32, memory::format_tag::nchw);
    B.pool_to_y = ops_detail::make_reorder(B.pool_dst, B.y_md);
  });
  Tensor y = Tensor::empty({yd[0], yd[1], yd[2], yd[3]});
  dnnl::stream& s = ops_detail::cpu_stream();
  ops_detail::Buffer pool_src = a;
  if (P.has_lrn) {
    pool_src = ops_detail::scratch(P.lrn_dst);
    P.lrn.execute(s, {{DNNL_ARG_SRC, a.mem}, {DNNL_ARG_DST, pool_src.mem}});
  }
  const ops_detail::Buffer yu = ops_detail::wrap(P.y_md, y.data());
  const ops_detail::Buffer pooled = ops_detail::output_buffer(P.pool_to_y, yu, P.pool_dst);
  P.pool.execute(s, {{DNNL_ARG_SRC, pool_src.mem}, {DNNL_ARG_DST, pooled.mem}});
  ops_detail::from_layout(P.pool_to_y, pooled, yu);
  s.wait();
  return leaf(std::move(y));
}

}  // namespace wp
