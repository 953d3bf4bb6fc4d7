#pragma once
// Plain reference twins of the Winograd layer (the specification of src/winograd/): loops
// straight from docs/method.md section 1's formulas, one tile at a time, with the transform
// matrices of winograd_transform(m, r) converted to T. Instantiated for float and double; the
// tests' finite-difference checks use double. Backward functions ADD into their outputs.
//   forward:       Y_k = A^T [ sum_c W_{k,c} (.) (B^T d_c B) ] A + bias_k     per tile
//   backward data: dX_c += B [ sum_k W_{k,c} (.) (A dY_k A^T) ] B^T, scatter-added per tile
//   backward wts:  dW_{k,c} += sum over images and tiles (A dY_k A^T) (.) (B^T d_c B),
//                  dbias_k += sum dY_k
// Buffers: x [N, C, H, W], y / dy [N, K, Ho, Wo], w [t*t, K, C/groups], bias [K] (may be null),
// spatial kernel g [K, C/groups, r, r].
#include <cstdint>

namespace wp {

struct ConvShape {
  int N = 1, C = 1, H = 1, W = 1, K = 1;
  int r = 3, pad = 1, groups = 1;
  int m = 4;  // Winograd output tile (ignored by the spatial reference)
  int Ho() const { return H + 2 * pad - r + 1; }
  int Wo() const { return W + 2 * pad - r + 1; }
};

template <typename T>
void winograd_conv2d_forward_reference(const ConvShape& s, const T* x, const T* w, const T* bias,
                                       T* y);
template <typename T>
void winograd_conv2d_backward_data_reference(const ConvShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void winograd_conv2d_backward_weights_reference(const ConvShape& s, const T* dy, const T* x,
                                                T* dw, T* dbias);

// Direct stride-1 correlation: y[n,k,i,j] = bias[k] + sum_{c,a,b} g[k,c,a,b] x[n,c',i+a-pad,j+b-pad]
// (c' = group(k) * C/groups + c), accumulated in double whatever T is.
template <typename T>
void conv2d_spatial_reference(const ConvShape& s, const T* x, const T* g, const T* bias, T* y);

// W = G g G^T per (k, c), in double: g [K, Cg, r, r] -> w [t*t, K, Cg].
template <typename T>
void spatial_to_winograd_reference(const ConvShape& s, const T* g, T* w);

}  // namespace wp
