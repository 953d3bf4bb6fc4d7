#pragma once
// Position-aware saliency for magnitude pruning of Winograd layers.
//
// A Winograd weight W [t*t][K][C/g] holds t^2 positions j = p*t + q whose coefficients reach the
// output with very different gains: perturbing W_j[k][c] by d changes output tile k by
//   dY = d * V_j[c] * A_p A_q^T          (A_p: row p of A, i.e. column p of A^T)
// and V_j = (B^T d B)_pq has, for iid inputs of variance v, E[V_j^2] = v * b_p^2 b_q^2 with b_p
// the norm of row p of B^T. Raw |W| is therefore a poor saliency: ranked by |W| the magnitude
// pruners emptied whole positions (alexnet-small, conv2..5, AGP to 80%: per-position sparsity
// 12%..100%, val top-1 35% -> 10.6%). The pruners instead rank by score = |W_j[k][c]| * s_j:
//
//   none          s_j = 1                          raw |W| (the old behaviour)
//   output        s_j = a_p a_q                    a_p = ||A_p||; the factor the reference's
//                                                  per-position thresholds thr0/(a_p a_q) use
//   output_input  s_j = a_p a_q b_p b_q / m        RMS change per output pixel for iid inputs
//                                                  (||dY||_F spread over the m x m tile)
//
// F(4x4,3x3): a = [1, 2, 2, 9.22, 9.22, 1], b = [6.48, 5.83, 5.83, 3.16, 3.16, 6.48].
// Within one layer a constant factor changes nothing; it matters only in global mode, where
// Winograd scores meet unscaled conv/fc |w| or layers of another m. output_input's 1/m makes
// its score the per-pixel output change, the unit of a spatial weight's |w|, and it equals
// the optimizer's preconditioner: Parameter::lr_scale_j = 1 / s_j^2 (position_lr_scale in
// src/nn/winograd_conv2d_layer.cpp). output keeps the reference's unnormalized factor.
// Conv and fc layers are never scaled (s = 1).
#include <optional>
#include <string>
#include <vector>

namespace wp {

enum class PositionScale { none, output, output_input };

// The default of the magnitude, gradual and steps pruners and of sensitivity sweeps, chosen by
// measurement. alexnet-small on Fashion-MNIST (train limit 6400, batch 64, default widths),
// 2 epochs train, convert conv2..5 (dense val top-1 66.97%), AGP to 80% on the Winograd
// layers over iterations 0..60 every 10 (lr 0.005, 2 epochs), 1 epoch fine-tune (lr 0.002);
// final top-1 on the full 10,000-image test split, seeds 5 / 6 / 7:
//   none          16.5% / 16.8% / 32.2%   (per-position sparsity 11%..100%: positions emptied)
//   output        65.2% / 65.4% / 67.2%
//   output_input  67.3% / 67.0% / 69.8%
// One-shot (no retraining) pruning of the same converted model, 2,000 val images, baseline
// 68.6%: at 30% none 27.4%, output 63.9%, output_input 66.3%; at 50% 11.5%, 13.5%, 25.9%.
// On the tiny variant (widths 16/32, 1280 train images, dense 35.4%) all three collapse to
// chance (10.0% / 10.0% / 10.1%): the training loss jumps at the 39% and 63% steps and the
// net never recovers. A data-driven factor did better one-shot (s_jc = a_p a_q RMS(V_jc) from
// measured inputs, per position and input channel: 68.3% at 30%, 60.1% at 50%), but needs
// activation statistics the pruners do not have.
constexpr PositionScale kDefaultPositionScale = PositionScale::output_input;

const char* position_scale_name(PositionScale s);                  // "none", "output", ...
std::optional<PositionScale> parse_position_scale(const std::string& name);

// s_j for j = p*t + q in [0, t*t) of a Winograd layer F(m x m, r x r); EMPTY (meaning: unscaled)
// for PositionScale::none and for m == 0 (conv and fc layers, PrunableLayer::m == 0).
std::vector<double> position_scale_factors(PositionScale s, int m, int r);

}  // namespace wp
