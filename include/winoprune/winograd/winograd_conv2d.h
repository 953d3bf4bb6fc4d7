#pragma once
// The Winograd layer (docs/method.md section 1): a drop-in for a stride-1 conv2d whose parameter
// is the Winograd-domain kernel W [t*t][K][C/groups] itself.
//   forward:  Y_k = A^T [ sum_c W_{k,c} (.) (B^T d_c B) ] A        per tile
//   dW_{k,c} = sum over tiles of (A dY_k A^T) (.) (B^T d_c B)
//   dX_c     = B [ sum_k W_{k,c} (.) (A dY_k A^T) ] B^T, scatter-added over overlapping tiles
#include <cstdint>
#include <functional>
#include <memory>

#include "winoprune/autograd.h"
#include "winoprune/tensor.h"

namespace wp {

struct WinogradConvParams {
  int m = 4;       // output tile
  int r = 3;       // kernel size
  int pad = 1;     // implicit zero padding on each side
  int groups = 1;
  // Bound on the transformed input or output of one chunk of images: the batch is processed
  // in chunks so the scratch stays bounded and mostly in L3. Measured on AlexNet conv3-5 at
  // batch 64 (single thread, forward+backward): 8 MB is 3-11% faster than 32 MB or 4 MB; the
  // GEMMs keep ~240 GFLOP/s down to ~128 columns. Results do not depend on it beyond the float
  // rounding of dW's sum over chunks.
  int64_t chunk_bytes = int64_t(8) << 20;
  // y = max(0, conv) as the output transform stores it (the network's ReLU after the layer);
  // backward first zeroes dy where y is 0. Saves the ReLU's own pass over y each way.
  bool relu = false;
};

// x [N, C, H, W], W [t*t, K, C/groups], bias [K] (may be null)
// -> y [N, K, H + 2*pad - r + 1, W + 2*pad - r + 1]
Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias, const WinogradConvParams& p);

struct MaskedProductPattern;   // winograd/masked_products.h
// The same under a frozen mask: the transform-domain products (forward, data gradient, weight
// gradient) run over pattern's unmasked entries only (masked_products.h). The weight must be
// zero outside the pattern; the weight gradient is accumulated at the pattern's entries only.
// pattern null = the dense path above. InputError if the pattern is for another shape.
Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias, const WinogradConvParams& p,
                    std::shared_ptr<const MaskedProductPattern> pattern);

// The same with the forward value computed by `forward(x, y)` instead of the transforms and
// masked products (the layer's sparse kernel packed from the same mask, bias included; y comes
// in shaped [N, K, Ho, Wo]); backward is unchanged. It must compute the same function as the
// path it replaces (the ReLU included when p.relu), up to float rounding.
// by_c_weights, when defined: the weights at pattern's entries in its by-input-channel order
// (pattern->nnz() floats, by_c_w's order), which backward would otherwise gather from W (the
// layer takes them from its pack's compact values).
using WinogradForward = std::function<void(const Tensor& x, Tensor& y)>;
Var winograd_conv2d(const Var& x, const Var& weight, const Var& bias, const WinogradConvParams& p,
                    std::shared_ptr<const MaskedProductPattern> pattern,
                    const WinogradForward& forward, const Tensor& by_c_weights = Tensor());

// W = G g G^T for every (k, c): g [K, C/groups, r, r] -> W [t*t, K, C/groups].
Tensor spatial_to_winograd(const Tensor& g, int m);

}  // namespace wp
