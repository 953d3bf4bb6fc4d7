// The Winograd layer, forward and backward (docs/method.md section 1), as NNPACK's four named
// phases: input transform, transform-domain GEMMs, output transform (and their transposes).
//   forward:  V = B^T d B (all tiles);  M_j = W_j . V_j  (t*t GEMMs per group);
//             y = A^T M A + bias, outputs beyond Ho, Wo dropped (then max(0, y) if p.relu)
//   backward: (if p.relu: dY = 0 where y = 0)  dM = A dY A^T;  dW_j += dM_j . V_j^T;  dV_j = W_j^T . dM_j;
//             dx += B dV B^T scatter-added over overlapping tiles;  dbias_k += sum dY_k
// Legend: N images, C / K input / output channels (all groups), Cg = C/groups, Kg = K/groups,
// T tiles of a chunk of images (tiles are numbered image-major, tile_transforms.h), t*t
// positions j.
// Buffers: x [N, C, H, W]; W [t*t][K][Cg]; y [N, K, Ho, Wo]; per chunk V [t*t][C][T] and
// M [t*t][K][T] (rows ld >= T floats apart, Chunk; position strides padded, kPositionPad).
// With this layout, group g of position j is the row-major GEMM
//   M[j][g*Kg .. +Kg][T] (Kg x T) = W[j][g*Kg .. +Kg][Cg] (Kg x Cg) . V[j][g*Cg .. +Cg][T] (Cg x T).
// The batch is processed in chunks of images whose V and M fit params.chunk_bytes (8 MB:
// AlexNet conv3 takes 9 images = 144 tiles per chunk): the scratch stays bounded, reused
// (scratch.h) and mostly in L3 between a phase and the next.
// V is recomputed in backward rather than kept from forward: it is 2.1x the input for F(4,3)
// on 13x13 maps (36 positions per 16 outputs, 16 tiles per 169 pixels) and costs a few percent
// of the layer's time to rebuild.
// Under a frozen mask (fine-tuning) the three GEMM phases are replaced by the masked products
// of masked_products.h, over the unmasked weights only; the transforms are the same. The caller
// may also supply the forward value (the nn layer runs its sparse kernel, packed from the mask:
// the fused transforms and products of src/sparse), leaving backward as it is.
// Every phase writes disjoint outputs per work item in a fixed order: results do not depend on
// the thread count (given a deterministic sgemm); dW sums the chunks in order.
#include <omp.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "scratch.h"
#include "winoprune/error.h"
#include "winoprune/gemm.h"
#include "winoprune/ops/ops.h"
#include "winoprune/winograd/masked_products.h"
#include "winoprune/winograd/tile_transforms.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

namespace {

using winograd_detail::ScratchLease;

// Work items of the transform phases: 128 tiles x 8 channels. 128 tiles keep one channel's
// 36 position rows of V (36 x 512 B = 18 KB) in L1; 8 channels amortize the tile geometry
// (each call recomputes it: with 4 channels it took a quarter of the transposed output
// transform at F(2x2,5x5), perf of a /tmp driver). 4 -> 8 channels, `bench --suite train`,
// medians of 9 (AlexNet: 3), two runs each: alexnet-small b128 F(2x2) Winograd step 202 ->
// 196 ms, fine-tune 128 -> 124 ms; F(4x4) unchanged (123 / 81 ms); AlexNet-227 b64 Winograd
// step 762 -> 712 ms, fine-tune 509 -> 503 ms. 16 channels measured the same as 8.
// The phases hand items out dynamically (items own disjoint outputs, so the result does not
// depend on which thread runs which): on this machine's two vCPUs the same memory-bound items
// ran up to 1.5x slower on one than on the other, and with static halves the faster thread
// waited at every phase's end (perf, AlexNet-227 fine-tune step at batch 64: the main thread
// spun in libgomp for 6% of all samples while the other ran the same transforms 1.2-1.5x
// longer). AlexNet's phases have 50-200 items.
constexpr int64_t kTileBlock = 128;
constexpr int kChannelBlock = 8;

// Position strides of V and M are C*ld + 16 and K*ld + 16 floats. Unpadded, with C*ld a
// multiple of 1024 floats (AlexNet conv3: 256 x 16 tiles per image), the t*t rows one
// (channel, tile block) writes all map to the same L1/L2 set and evict each other; 16 floats
// (one cache line) staggers them. Measured: input transform of conv3 at batch 16, 2.0 -> 1.5 ms.
constexpr int64_t kPositionPad = 16;

struct Layer {
  TileGrid grid;
  int groups, Cg, Kg, tt;
  int images_per_chunk;
};

// A chunk: images [n0, n1), tiles [tile0, tile0 + T), its buffers' channel stride ld (T rounded
// up to 16 floats: every row of V, M, dM and dV starts on a cache line) and position strides.
// Rows of T floats at any other stride straddle cache lines: each 64-byte load of the products
// and dots then touches two lines. AlexNet conv2 at F(4x4,5x5) runs chunks of two images, T =
// 98: a standalone driver of its weight-gradient dots (256 x 96, 10% kept, 64 positions, one
// thread) ran at 34.5-35.3 GFLOP/s with rows 98 floats apart, 40.3-42.8 with 112. The padding
// tiles [T, ld) are never written nor read.
struct Chunk {
  int64_t tile0, T, ld;
  int n0, n1;
  int64_t ldv, ldm;
};

Chunk make_chunk(const Layer& L, int n0) {
  Chunk ch;
  ch.n0 = n0;
  ch.n1 = std::min(n0 + L.images_per_chunk, L.grid.N);
  ch.tile0 = n0 * L.grid.tiles_per_image;
  ch.T = (ch.n1 - ch.n0) * L.grid.tiles_per_image;
  ch.ld = (ch.T + 15) / 16 * 16;
  ch.ldv = int64_t(L.grid.C) * ch.ld + kPositionPad;
  ch.ldm = int64_t(L.grid.K) * ch.ld + kPositionPad;
  return ch;
}

// V [t*t][C][T] = B^T d B for every channel and tile of the chunk.
void input_transform_phase(const Layer& L, const Chunk& ch, const float* x, float* V) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T, nt = (T + kTileBlock - 1) / kTileBlock;
  const int64_t nc = (g.C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < nc * nt; ++item) {
    const int c0 = int(item / nt) * kChannelBlock, c1 = std::min(c0 + kChannelBlock, g.C);
    const int64_t t0 = (item % nt) * kTileBlock, t1 = std::min(t0 + kTileBlock, T);
    input_transform_tiles(g, x, c0, c1, ch.tile0 + t0, ch.tile0 + t1, V + c0 * ch.ld + t0,
                          ch.ldv, ch.ld);
  }
}

// y [N, K, Ho, Wo] = A^T M A + bias (then max(0, .) if relu) for the chunk's images.
void output_transform_phase(const Layer& L, const Chunk& ch, const float* M, const float* bias,
                            bool relu, float* y) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T, nt = (T + kTileBlock - 1) / kTileBlock;
  const int64_t nk = (g.K + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < nk * nt; ++item) {
    const int k0 = int(item / nt) * kChannelBlock, k1 = std::min(k0 + kChannelBlock, g.K);
    const int64_t t0 = (item % nt) * kTileBlock, t1 = std::min(t0 + kTileBlock, T);
    output_transform_tiles(g, M + k0 * ch.ld + t0, ch.ldm, ch.ld, k0, k1, ch.tile0 + t0,
                           ch.tile0 + t1, bias, relu, y);
  }
}

// dM [t*t][K][T] = A dY A^T.
void output_transposed_phase(const Layer& L, const Chunk& ch, const float* dy, float* dM) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T, nt = (T + kTileBlock - 1) / kTileBlock;
  const int64_t nk = (g.K + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < nk * nt; ++item) {
    const int k0 = int(item / nt) * kChannelBlock, k1 = std::min(k0 + kChannelBlock, g.K);
    const int64_t t0 = (item % nt) * kTileBlock, t1 = std::min(t0 + kTileBlock, T);
    output_transform_transposed_tiles(g, dy, k0, k1, ch.tile0 + t0, ch.tile0 + t1,
                                      dM + k0 * ch.ld + t0, ch.ldm, ch.ld);
  }
}

// dx += B dV B^T, scatter-added. One work item per (block of whole images, channel block):
// items own disjoint planes of dx and add their tiles in order, so the result does not depend
// on the thread count. (Not bit-identical to one image per item: where the kernel's tile group
// splits an image, its two parts reach dx as two partial sums.) The image blocks hold about
// kTileBlock tiles: with one image per item,
// 7x7 maps at F(4x4) gave the 16-lane kernels 4 tiles at a time and this phase took 2.7x the
// forward input transform (alexnet-small conv3, batch 128); AlexNet's 13x13 maps take 8 images.
// With `fresh`, dx is a gradient just allocated (Node::grad_target), its contents garbage: each
// item first zeroes the planes it owns, in cache right before its tiles are added, instead of
// a separate zero fill of the whole dx (up to 18 MB per AlexNet layer) read back here.
void input_transposed_phase(const Layer& L, const Chunk& ch, const float* dV, float* dx,
                            bool fresh) {
  const TileGrid& g = L.grid;
  const int64_t tpi = g.tiles_per_image, plane = int64_t(g.H) * g.W;
  const int images = ch.n1 - ch.n0;
  const int per_item = int(std::max<int64_t>(1, kTileBlock / tpi));
  const int nblocks = (images + per_item - 1) / per_item;
  const int64_t nc = (g.C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t item = 0; item < nc * nblocks; ++item) {
    const int c0 = int(item / nblocks) * kChannelBlock, c1 = std::min(c0 + kChannelBlock, g.C);
    const int n0 = int(item % nblocks) * per_item, n1 = std::min(n0 + per_item, images);
    const int64_t t0 = n0 * tpi, t1 = n1 * tpi;
    if (fresh)
      for (int n = ch.n0 + n0; n < ch.n0 + n1; ++n)
        std::fill_n(dx + (int64_t(n) * g.C + c0) * plane, int64_t(c1 - c0) * plane, 0.0f);
    input_transform_transposed_tiles(g, dV + c0 * ch.ld + t0, ch.ldv, ch.ld, c0, c1,
                                     ch.tile0 + t0, ch.tile0 + t1, dx);
  }
}

// The GEMM phases run one (position, group) GEMM per thread (oneDNN's sgemm is sequential
// inside a parallel region): 10-30% faster than 36 calls each split over the 2 threads at
// AlexNet's chunk shapes (256 x 144 x 384: 500 vs 380-475 GFLOP/s), and deterministic.

// Runs gemm(item) for item in [0, count) over the threads; the first exception (sgemm throws on
// a oneDNN error) is rethrown after the parallel region, which must not be left by a throw.
template <typename Gemm>
void parallel_gemms(int count, const Gemm& gemm) {
  std::exception_ptr error;
#pragma omp parallel for schedule(static)
  for (int item = 0; item < count; ++item) {
    try {
      gemm(item);
    } catch (...) {
#pragma omp critical(wp_winograd_gemm_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// M_j (per group) = W_j . V_j.
void forward_gemm_phase(const Layer& L, const Chunk& ch, const float* W, const float* V,
                        float* M) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T;
  parallel_gemms(L.tt * L.groups, [&](int item) {
    const int j = item / L.groups, grp = item % L.groups;
    sgemm(false, false, L.Kg, T, L.Cg, 1.0f, W + (int64_t(j) * g.K + grp * L.Kg) * L.Cg, L.Cg,
          V + j * ch.ldv + int64_t(grp) * L.Cg * ch.ld, ch.ld, 0.0f,
          M + j * ch.ldm + int64_t(grp) * L.Kg * ch.ld, ch.ld);
  });
}

// dW_j += dM_j . V_j^T.
// beta 0 (the first chunk into a fresh gradient) overwrites dW instead of adding into it.
void weight_gradient_gemm_phase(const Layer& L, const Chunk& ch, const float* dM,
                                const float* V, float* dW, float beta) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T;
  parallel_gemms(L.tt * L.groups, [&](int item) {
    const int j = item / L.groups, grp = item % L.groups;
    sgemm(false, true, L.Kg, L.Cg, T, 1.0f, dM + j * ch.ldm + int64_t(grp) * L.Kg * ch.ld,
          ch.ld, V + j * ch.ldv + int64_t(grp) * L.Cg * ch.ld, ch.ld, beta,
          dW + (int64_t(j) * g.K + grp * L.Kg) * L.Cg, L.Cg);
  });
}

// dV_j = W_j^T . dM_j.
void data_gradient_gemm_phase(const Layer& L, const Chunk& ch, const float* W, const float* dM,
                              float* dV) {
  const TileGrid& g = L.grid;
  const int64_t T = ch.T;
  parallel_gemms(L.tt * L.groups, [&](int item) {
    const int j = item / L.groups, grp = item % L.groups;
    sgemm(true, false, L.Cg, T, L.Kg, 1.0f, W + (int64_t(j) * g.K + grp * L.Kg) * L.Cg, L.Cg,
          dM + j * ch.ldm + int64_t(grp) * L.Kg * ch.ld, ch.ld, 0.0f,
          dV + j * ch.ldv + int64_t(grp) * L.Cg * ch.ld, ch.ld);
  });
}

// The same three products with a frozen mask's pattern (masked_products.h). A work item is
// one position's rows, split in as few row blocks as give every thread ~4 items: the kernels
// keep a column block of V_j or dM_j in L1 for all of an item's rows, so the more rows per item
// the more reuse. Items write disjoint rows (and dW entries) in a fixed order: the result does
// not depend on the thread count. Dynamic scheduling: positions differ in density (corners are
// pruned harder).
int row_splits(int positions, int rows) {
  const int threads = omp_get_max_threads();
  return std::min(rows, std::max(1, (4 * threads + positions - 1) / positions));
}

template <typename Rows>
void parallel_rows(int positions, int rows, const Rows& fn) {
  const int splits = row_splits(positions, rows);
  const int per = (rows + splits - 1) / splits;
  const int nb = (rows + per - 1) / per;
#pragma omp parallel for schedule(dynamic, 1)
  for (int item = 0; item < positions * nb; ++item) {
    const int j = item / nb, r0 = (item % nb) * per;
    fn(j, r0, std::min(r0 + per, rows));
  }
}

// out_j = W_j . in_j (forward: rows k, in V, out M) or W_j^T . in_j (data gradient: rows c, in
// dM, out dV) over the unmasked entries, listed per output row by (start, src, widx). widx
// null: W holds every entry's value in entry order (gather_in_entry_order), all positions.
// masked_product_rows is one work item: position j's rows [r0, r1).
void masked_product_rows(const Layer& L, int rows, const int64_t* start, const int32_t* src,
                         const int32_t* widx, const float* W, const float* in, int64_t ld_in,
                         float* out, int64_t ld_out, const Chunk& ch, int j, int r0, int r1) {
  masked_rows_product(start + int64_t(j) * rows, src, widx,
                      widx ? W + int64_t(j) * L.grid.K * L.Cg : W, in + j * ld_in, ch.ld, ch.T,
                      out + j * ld_out, ch.ld, r0, r1);
}

void masked_product_phase(const Layer& L, int rows, const int64_t* start, const int32_t* src,
                          const int32_t* widx, const float* W, const float* in, int64_t ld_in,
                          float* out, int64_t ld_out, const Chunk& ch) {
  parallel_rows(L.tt, rows, [&](int j, int r0, int r1) {
    masked_product_rows(L, rows, start, src, widx, W, in, ld_in, out, ld_out, ch, j, r0, r1);
  });
}

// values[e] = W_j[widx[e]] for the entries of every position j, listed per row by start (rows
// per position). The data gradient lists entries by input channel, which strides W_j by C/groups
// floats from one entry to the next: gathered once per backward instead of once per entry and
// chunk, its products ran 1.6x faster (include/winoprune/kernels/masked_products.h).
void gather_in_entry_order(const Layer& L, int rows, const int64_t* start, const int32_t* widx,
                           const float* W, float* values) {
#pragma omp parallel for schedule(static)
  for (int j = 0; j < L.tt; ++j) {
    const float* Wj = W + int64_t(j) * L.grid.K * L.Cg;
    for (int64_t e = start[int64_t(j) * rows]; e < start[int64_t(j + 1) * rows]; ++e)
      values[e] = Wj[widx[e]];
  }
}

// The twin of gather_in_entry_order for the by-k order: W_j[widx[e]] += values[e] (each entry
// names its own weight, so the positions' loops write disjoint elements). With `fresh`, W is a
// gradient just allocated (Node::grad_target), its contents garbage: each row of W_j is zeroed
// right before its entries land in it, instead of a zero fill of the whole dW (AlexNet
// conv2..conv5: 56 MB per step) and a second pass that reads it back.
void scatter_from_entry_order(const Layer& L, const int64_t* start, const int32_t* widx,
                              const float* values, float* W, bool fresh) {
  const int K = L.grid.K;
#pragma omp parallel for schedule(static)
  for (int j = 0; j < L.tt; ++j) {
    float* Wj = W + int64_t(j) * K * L.Cg;
    for (int k = 0; k < K; ++k) {
      if (fresh) std::fill_n(Wj + int64_t(k) * L.Cg, L.Cg, 0.0f);
      for (int64_t e = start[int64_t(j) * K + k]; e < start[int64_t(j) * K + k + 1]; ++e)
        Wj[widx[e]] += values[e];
    }
  }
}

// The masked backward's two products, for every position of the chunk:
// - the weight gradient dW_e += (dM_j . V_j^T)_e at the unmasked entries only, into dWe (when
//   not null): the gradient in the pattern's by-k entry order (all positions), scattered into
//   W's layout once per backward (scatter_from_entry_order). Summed in place through widx,
//   every dot read and wrote its own element of a 384 KB dW_j; in entry order kLanes dots land
//   in one vector (the kernel's blocks of kLanes entries);
// - the data gradient dV_j = W_j^T . dM_j over the entries in by-c order with their values
//   gathered in Wc (when not null), written over V_j.
// Where every position is one work item of both (row_splits 1: AlexNet's 36 and 64 positions
// at 2 threads) an item runs both on its position, so the data gradient reads dM_j while the
// dots have left it in L2 (221 KB at conv4's chunk) and writes dV_j over V_j's lines, also
// still there: run as two phases over all 36 positions, each re-read its 8 MB chunk of dM from
// memory. The dots of position j read V_j before its dV_j overwrites it, in the same item;
// with rows split across items they could not share the buffer, so the phases then run one
// after the other.
void masked_backward_phase(const Layer& L, const MaskedProductPattern& pat, const Chunk& ch,
                           const float* dM, float* V, float* dWe, const float* Wc) {
  const TileGrid& g = L.grid;
  auto dots = [&](int j, int r0, int r1) {
    masked_rows_dot(pat.by_k_start.data() + int64_t(j) * g.K, pat.by_k_src.data(), nullptr,
                    dM + j * ch.ldm, ch.ld, V + j * ch.ldv, ch.ld, ch.T, dWe, r0, r1);
  };
  auto data_gradient = [&](int j, int r0, int r1) {
    masked_product_rows(L, g.C, pat.by_c_start.data(), pat.by_c_src.data(), nullptr, Wc, dM,
                        ch.ldm, V, ch.ldv, ch, j, r0, r1);
  };
  if (row_splits(L.tt, g.K) > 1 || row_splits(L.tt, g.C) > 1) {
    if (dWe) parallel_rows(L.tt, g.K, dots);
    if (Wc) parallel_rows(L.tt, g.C, data_gradient);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int j = 0; j < L.tt; ++j) {
    if (dWe) dots(j, 0, g.K);
    if (Wc) data_gradient(j, 0, g.C);
  }
}

// dbias_k += sum over images and pixels of dY_k: per plane in float (vectorized partial
// sums, a fixed order), planes added in double. A serial double sum ran at one element per add
// latency: ~6 ms for AlexNet conv3 at batch 64.
// With relu_y (the fused ReLU's output), dY is first zeroed where y is not positive, in place,
// plane by plane as the sum reads it: one pass over dY instead of relu_backward_in_place's
// pass and then this one (AlexNet conv2..conv5 at batch 64: 90 MB of dY per step).
void bias_gradient_phase(const Layer& L, float* dy, const float* relu_y, float* dbias) {
  const TileGrid& g = L.grid;
  const int64_t plane = int64_t(g.Ho) * g.Wo;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < g.K; ++k) {
    double sum = 0;
    for (int n = 0; n < g.N; ++n) {
      float* p = dy + (int64_t(n) * g.K + k) * plane;
      float s = 0;
      if (relu_y) {
        const float* y = relu_y + (int64_t(n) * g.K + k) * plane;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < plane; ++i) {
          p[i] = y[i] > 0.0f ? p[i] : 0.0f;
          s += p[i];
        }
      } else {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < plane; ++i) s += p[i];
      }
      sum += s;
    }
    dbias[k] += float(sum);
  }
}

Layer make_layer(const Tensor& x, const Tensor& w, const Tensor& b,
                 const WinogradConvParams& p) {
  auto shapes = [&] {
    return "x " + shape_str(x.shape()) + ", weight " + shape_str(w.shape()) +
           (b.defined() ? ", bias " + shape_str(b.shape()) : std::string()) + ", F(" +
           std::to_string(p.m) + "," + std::to_string(p.r) + "), groups " +
           std::to_string(p.groups);
  };
  if (x.ndim() != 4 || w.ndim() != 3 || p.groups < 1)
    throw InputError("winograd_conv2d: expected x [N, C, H, W] and weight [t*t, K, C/groups], "
                     "got " + shapes());
  const int N = int(x.dim(0)), C = int(x.dim(1)), H = int(x.dim(2)), Wd = int(x.dim(3));
  const int K = int(w.dim(1)), Cg = int(w.dim(2));
  Layer L;
  L.grid = make_tile_grid(N, C, H, Wd, K, p.pad, p.m, p.r);
  L.groups = p.groups;
  L.Cg = Cg;
  L.Kg = K / p.groups;
  L.tt = L.grid.t * L.grid.t;
  if (w.dim(0) != L.tt || Cg * p.groups != C || K % p.groups != 0)
    throw InputError("winograd_conv2d: expected weight [" + std::to_string(L.tt) + ", K, " +
                     std::to_string(C / p.groups) + "] with K divisible by groups, got " +
                     shapes());
  if (b.defined() && (b.ndim() != 1 || b.dim(0) != K))
    throw InputError("winograd_conv2d: expected bias [" + std::to_string(K) + "], got " +
                     shapes());
  // Images per chunk: as many as keep V and M under chunk_bytes, then balanced over chunks.
  const int64_t per_image = int64_t(L.tt) * std::max(C, K) * L.grid.tiles_per_image * 4;
  const int64_t fit64 = std::max<int64_t>(1, p.chunk_bytes / std::max<int64_t>(per_image, 1));
  const int fit = int(std::min<int64_t>(fit64, std::max(N, 1)));
  const int chunks = std::max(1, (N + fit - 1) / fit);
  L.images_per_chunk = std::max(1, (N + chunks - 1) / chunks);
  return L;
}

}  // namespace

Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias,
                    const WinogradConvParams& p) {
  return winograd_conv2d(x, weight, bias, p, nullptr);
}

Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias, const WinogradConvParams& p,
                    std::shared_ptr<const MaskedProductPattern> pattern) {
  return winograd_conv2d(x, weight, bias, p, std::move(pattern), WinogradForward());
}

Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias, const WinogradConvParams& p,
                    std::shared_ptr<const MaskedProductPattern> pattern,
                    const WinogradForward& forward, const Tensor& by_c_weights) {
  const Layer L = make_layer(x->value, weight->value, bias ? bias->value : Tensor(), p);
  const TileGrid& g = L.grid;
  if (pattern && (pattern->positions != L.tt || pattern->K != g.K || pattern->C != g.C ||
                  pattern->groups != L.groups))
    throw InputError("winograd_conv2d: the mask pattern is for W [" +
                     std::to_string(pattern->positions) + ", " + std::to_string(pattern->K) +
                     ", " + std::to_string(pattern->C / pattern->groups) + "], groups " +
                     std::to_string(pattern->groups) + ", not for weight " +
                     shape_str(weight->value.shape()));
  if (by_c_weights.defined() && (!pattern || by_c_weights.numel() != pattern->nnz()))
    throw InputError("winograd_conv2d: by_c_weights of " + std::to_string(by_c_weights.numel()) +
                     " floats, expected one per entry of the mask pattern (" +
                     std::to_string(pattern ? pattern->nnz() : 0) + ")");
  Tensor y = Tensor::empty({g.N, g.K, g.Ho, g.Wo});
  if (g.N > 0 && forward) {
    forward(x->value, y);
  } else if (g.N > 0) {
    const Chunk first = make_chunk(L, 0);  // the largest chunk
    ScratchLease V(size_t(L.tt) * first.ldv), M(size_t(L.tt) * first.ldm);
    for (int n0 = 0; n0 < g.N; n0 += L.images_per_chunk) {
      const Chunk ch = make_chunk(L, n0);
      input_transform_phase(L, ch, x->value.data(), V.data());
      if (pattern)
        masked_product_phase(L, g.K, pattern->by_k_start.data(), pattern->by_k_src.data(),
                             pattern->by_k_w.data(), weight->value.data(), V.data(), ch.ldv,
                             M.data(), ch.ldm, ch);
      else
        forward_gemm_phase(L, ch, weight->value.data(), V.data(), M.data());
      output_transform_phase(L, ch, M.data(), bias ? bias->value.data() : nullptr, p.relu,
                             y.data());
    }
  }
  // With the ReLU fused, backward needs y's sign pattern: the closure keeps y (the ReLU layer
  // kept it before).
  const Tensor y_kept = p.relu ? y : Tensor();
  Var result = make_result(y, {x, weight, bias}, [L, pattern, y_kept, by_c_weights](Node& self) {
    const TileGrid& g = L.grid;
    const Var& x = self.inputs[0];
    const Var& w = self.inputs[1];
    const Var& b = self.inputs[2];
    if (g.N == 0) {
      for (const Var& in : self.inputs)
        if (in && in->requires_grad) in->grad_buffer();
      return;
    }
    const float* relu_y = y_kept.defined() ? y_kept.data() : nullptr;
    if (b && b->requires_grad)
      bias_gradient_phase(L, self.grad.data(), relu_y, b->grad_buffer().data());
    else if (relu_y)
      relu_backward_in_place(self.grad.data(), relu_y, y_kept.numel());
    const float* dy = self.grad.data();
    const bool need_dw = w->requires_grad, need_dx = x->requires_grad;
    if (!need_dw && !need_dx) return;
    // Fresh gradients are written rather than added into zeros (Node::grad_target): dx by
    // input_transposed_phase, dW by the first chunk's GEMMs or, on the masked path, by the
    // scatter of its entries (zeros at the pruned weights).
    float dx_beta = 1.0f, dw_beta = 1.0f;
    float* dx = need_dx ? x->grad_target(dx_beta) : nullptr;
    float* dw = need_dw ? w->grad_target(dw_beta) : nullptr;
    const Chunk first = make_chunk(L, 0);
    ScratchLease dM(size_t(L.tt) * first.ldm), V(size_t(L.tt) * first.ldv);  // V, then dV
    // The data gradient's weights in its entry order (by input channel), for all chunks: the
    // caller's, or gathered from W.
    std::optional<ScratchLease> Wc_gathered;
    const float* Wc = nullptr;
    if (pattern && need_dx && by_c_weights.defined() && pattern->nnz() > 0) {
      Wc = by_c_weights.data();
    } else if (pattern && need_dx) {
      Wc_gathered.emplace(size_t(std::max<int64_t>(pattern->nnz(), 1)));
      gather_in_entry_order(L, g.C, pattern->by_c_start.data(), pattern->by_c_w.data(),
                            w->value.data(), Wc_gathered->data());
      Wc = Wc_gathered->data();
    }
    // The weight gradient in the by-k entry order, summed over all chunks.
    std::optional<ScratchLease> dWe;
    if (pattern && need_dw) {
      dWe.emplace(size_t(std::max<int64_t>(pattern->nnz(), 1)));
      std::fill_n(dWe->data(), pattern->nnz(), 0.0f);
    }
    for (int n0 = 0; n0 < g.N; n0 += L.images_per_chunk) {
      const Chunk ch = make_chunk(L, n0);
      output_transposed_phase(L, ch, dy, dM.data());
      if (need_dw) input_transform_phase(L, ch, x->value.data(), V.data());
      if (pattern) {
        masked_backward_phase(L, *pattern, ch, dM.data(), V.data(),
                              dWe ? dWe->data() : nullptr, Wc);
      } else {
        if (need_dw)
          weight_gradient_gemm_phase(L, ch, dM.data(), V.data(), dw, n0 == 0 ? dw_beta : 1.0f);
        if (need_dx) data_gradient_gemm_phase(L, ch, w->value.data(), dM.data(), V.data());
      }
      if (need_dx) input_transposed_phase(L, ch, V.data(), dx, dx_beta == 0.0f);
    }
    if (dWe)
      scatter_from_entry_order(L, pattern->by_k_start.data(), pattern->by_k_w.data(),
                               dWe->data(), dw, dw_beta == 0.0f);
  });
  result->allocates_input_grads = true;
  return result;
}

}  // namespace wp
