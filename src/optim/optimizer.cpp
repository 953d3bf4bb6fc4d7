// SGD with momentum / Nesterov, and Adam; weight decay, L1 and masks (formulas in optim/optimizer.h).
#include "winoprune/optim/optimizer.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "winoprune/error.h"

namespace wp {

namespace {

bool is_bias(const Parameter& p) {
  const std::string suffix = ".bias";
  return p.name.size() >= suffix.size() &&
         p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_state_shape(const Parameter& p, const Tensor& t, const char* what) {
  if (t.defined() && t.shape() != p.value().shape())
    throw InputError(p.name + ": " + what + " has shape " + shape_str(t.shape()) +
                     ", expected " + shape_str(p.value().shape()));
}

// All parameters are cut into chunks of at most this many elements and updated in ONE
// OpenMP loop per step: one fork/join instead of one per parameter (alexnet-small has 16
// parameters, a Winograd weight adds one slice per position). 16K floats = 64 KB per array.
constexpr int64_t kChunk = 1 << 14;

// n elements from w, v, v2, grad and mask; or, with idx (frozen masks), the n elements
// w[idx[k]], ... of a parameter's kept entries (mask null: 1 at every kept entry).
struct Chunk {
  float* w;
  float* v;    // SGD velocity or Adam first moment
  float* v2;   // Adam second moment (null for SGD)
  float* grad;
  const float* mask;
  const int32_t* idx;
  int64_t n;
  float lr, decay, l1;
};

// out[b][p] = sum_a Q[p][a] in[a][b] for t x t tiles of nb columns (rows of kBlock floats):
// Q times `in`, transposed. Q is symmetric, so applying it twice gives
// (Q (Q X)^T)^T = Q X Q.
constexpr int64_t kBlock = 128;
void q_times_transposed(const float* q, const float* in, float* out, int t, int64_t nb) {
  for (int p = 0; p < t; ++p)
    for (int b = 0; b < t; ++b) {
      float* dst = out + size_t(b * t + p) * kBlock;
      std::fill(dst, dst + nb, 0.0f);
      for (int a = 0; a < t; ++a) {
        const float qa = q[p * t + a];
        if (qa == 0.0f) continue;
        const float* src = in + size_t(a * t + b) * kBlock;
        for (int64_t i = 0; i < nb; ++i) dst[i] += qa * src[i];
      }
    }
}

// The preconditioned gradient of a Winograd weight (formula in optim/optimizer.h): value, grad, mask
// (or null) and out are [t*t][kc] (kc = K * C/groups), q is the t x t matrix Q, d the
// per-position scale or null. The mask applies to X BEFORE the product: Q (M.X) Q restricted to
// the free entries is P_SS g_S, a descent direction (g_S^T P_SS g_S >= 0); Q X Q masked after
// is not, as the pruned entries' large gradients leak into the kept ones through Q.
// Blocks of kBlock columns keep the t x t x kBlock buffers in L1/L2.
void precondition_tiles(const float* w, const float* grad, const float* mask, const float* q,
                        const float* d, int t, int64_t kc, float spatial, float decay, float l1,
                        float* out) {
  const int64_t blocks = (kc + kBlock - 1) / kBlock;
  const int tt = t * t;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, nb = std::min(kBlock, kc - c0);
    thread_local std::vector<float> x, tmp;
    x.resize(size_t(tt) * kBlock);
    tmp.resize(size_t(tt) * kBlock);
    for (int j = 0; j < tt; ++j) {   // X = grad * mask, this block's columns
      const int64_t o = int64_t(j) * kc + c0;
      float* xj = &x[size_t(j) * kBlock];
      for (int64_t i = 0; i < nb; ++i) xj[i] = mask ? grad[o + i] * mask[o + i] : grad[o + i];
    }
    q_times_transposed(q, x.data(), tmp.data(), t, nb);   // (Q X)^T
    q_times_transposed(q, tmp.data(), x.data(), t, nb);   // Q X Q, over X (no longer needed)
    for (int j = 0; j < tt; ++j) {
      const float dj = d ? d[j] : 0.0f;
      const int64_t o = int64_t(j) * kc + c0;
      const float* yj = &x[size_t(j) * kBlock];
      for (int64_t i = 0; i < nb; ++i) {
        const float wi = w[o + i];
        const float pen = decay * wi + l1 * (float(wi > 0.0f) - float(wi < 0.0f));
        out[o + i] = spatial * (yj[i] + pen) + dj * (grad[o + i] + pen);
      }
    }
  }
}

}  // namespace

namespace {

// The update loop with the per-parameter choices hoisted out, so each variant is a branch-free
// loop the compiler vectorizes (the L1 sign is (w > 0) - (w < 0)). kIdx: element idx[k] of
// the arrays for k < n (a frozen mask's kept entries, mask 1), else element k.
template <bool kMask, bool kMomentum, bool kNesterov, bool kIdx = false>
void update_loop(float* __restrict w, float* __restrict v, const float* __restrict grad,
                 const float* __restrict mask, const int32_t* __restrict idx, int64_t n,
                 float lr, float momentum, float decay, float l1) {
  static_assert(!(kMask && kIdx), "kept entries have mask 1");
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = kIdx ? int64_t(idx[k]) : k;
    const float m = kMask ? mask[i] : 1.0f;
    const float wi = w[i];
    const float sign = float(wi > 0.0f) - float(wi < 0.0f);
    const float g = grad[i] * m + decay * wi + l1 * sign;
    float d = g;
    if (kMomentum) {
      const float vi = momentum * v[i] + g;
      d = kNesterov ? g + momentum * vi : vi;
      v[i] = kMask ? vi * m : vi;
    }
    w[i] = kMask ? (wi - lr * d) * m : wi - lr * d;
  }
}

}  // namespace

void sgd_update(float* w, float* v, const float* grad, const float* mask, int64_t n, float lr,
                float momentum, bool nesterov, float decay, float l1) {
  using Fn = void (*)(float*, float*, const float*, const float*, const int32_t*, int64_t, float,
                      float, float, float);
  static const Fn table[2][2][2] = {
      {{update_loop<false, false, false>, update_loop<false, false, true>},
       {update_loop<false, true, false>, update_loop<false, true, true>}},
      {{update_loop<true, false, false>, update_loop<true, false, true>},
       {update_loop<true, true, false>, update_loop<true, true, true>}}};
  table[mask != nullptr][v != nullptr][nesterov](w, v, grad, mask, nullptr, n, lr, momentum,
                                                 decay, l1);
}

namespace {

// sgd_update at the n entries idx[0..n) of the arrays, each with mask 1.
void sgd_update_at(float* w, float* v, const float* grad, const int32_t* idx, int64_t n,
                   float lr, float momentum, bool nesterov, float decay, float l1) {
  using Fn = void (*)(float*, float*, const float*, const float*, const int32_t*, int64_t, float,
                      float, float, float);
  static const Fn table[2][2] = {
      {update_loop<false, false, false, true>, update_loop<false, false, true, true>},
      {update_loop<false, true, false, true>, update_loop<false, true, true, true>}};
  table[v != nullptr][nesterov](w, v, grad, nullptr, idx, n, lr, momentum, decay, l1);
}

template <bool kMask, bool kIdx = false>
void adam_loop(float* __restrict w, float* __restrict m1, float* __restrict m2,
               const float* __restrict grad, const float* __restrict mask,
               const int32_t* __restrict idx, int64_t n, float step, float beta1, float beta2,
               float root_c2, float eps, float decay, float l1) {
  static_assert(!(kMask && kIdx), "kept entries have mask 1");
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = kIdx ? int64_t(idx[k]) : k;
    const float mk = kMask ? mask[i] : 1.0f;
    const float wi = w[i];
    const float sign = float(wi > 0.0f) - float(wi < 0.0f);
    const float g = grad[i] * mk + decay * wi + l1 * sign;
    const float a = beta1 * m1[i] + (1.0f - beta1) * g;
    const float b = beta2 * m2[i] + (1.0f - beta2) * g * g;
    // step = lr / (1 - beta1^t), root_c2 = sqrt(1 - beta2^t): sqrt(b / c2) = sqrt(b) / root_c2
    const float wn = wi - step * a / (std::sqrt(b) / root_c2 + eps);
    w[i] = kMask ? wn * mk : wn;
    m1[i] = kMask ? a * mk : a;
    m2[i] = kMask ? b * mk : b;
  }
}

// Adam at step t: the bias corrections as adam_loop takes them, then the loop (idx: the kept
// entries idx[0..n), mask null).
void adam_dispatch(float* w, float* m, float* v, const float* grad, const float* mask,
                   const int32_t* idx, int64_t n, float lr, float beta1, float beta2, float eps,
                   int64_t t, float decay, float l1) {
  if (t < 1) throw std::logic_error("adam_update: step t must be >= 1");
  const double c1 = 1.0 - std::pow(double(beta1), double(t));
  const double c2 = 1.0 - std::pow(double(beta2), double(t));
  const float step = float(double(lr) / c1), root_c2 = float(std::sqrt(c2));
  if (idx)
    adam_loop<false, true>(w, m, v, grad, nullptr, idx, n, step, beta1, beta2, root_c2, eps,
                           decay, l1);
  else if (mask)
    adam_loop<true>(w, m, v, grad, mask, nullptr, n, step, beta1, beta2, root_c2, eps, decay, l1);
  else
    adam_loop<false>(w, m, v, grad, mask, nullptr, n, step, beta1, beta2, root_c2, eps, decay, l1);
}

}  // namespace

void adam_update(float* w, float* m, float* v, const float* grad, const float* mask, int64_t n,
                 float lr, float beta1, float beta2, float eps, int64_t t, float decay, float l1) {
  adam_dispatch(w, m, v, grad, mask, nullptr, n, lr, beta1, beta2, eps, t, decay, l1);
}

OptimizerConfig parse_optimizer_config(JsonReader& r) {
  OptimizerConfig c;
  c.type = r.string("type", "sgd", {"sgd", "adam"}) == "adam" ? OptimizerType::adam
                                                             : OptimizerType::sgd;
  c.lr = r.number("lr", c.lr, 0.0, 1e3, true, false);
  c.weight_decay = r.number("weight_decay", c.weight_decay, 0.0, 1.0);
  c.bias_lr_mult = r.optional_number("bias_lr_mult", 0.0, 1e3);
  c.bias_decay_mult = r.optional_number("bias_decay_mult", 0.0, 1e3);
  if (c.type == OptimizerType::adam) {
    // The SGD-only keys are never read, so finish() rejects them as unknown.
    if (std::optional<json> betas = r.optional_raw("betas")) {
      const json& b = *betas;
      if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number())
        r.fail("betas", "expected [beta1, beta2], two numbers in [0, 1), got " + b.dump());
      c.beta1 = b[0].get<double>();
      c.beta2 = b[1].get<double>();
      if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1))
        r.fail("betas", "expected [beta1, beta2], two numbers in [0, 1), got " + b.dump());
    }
    c.eps = r.number("eps", c.eps, 0.0, 1.0, true, false);
    c.position_lr_scale = r.boolean("position_lr_scale", c.position_lr_scale);
    r.finish();
    return c;
  }
  c.momentum = r.number("momentum", c.momentum, 0.0, 1.0, false, true);
  c.nesterov = r.boolean("nesterov", c.nesterov);
  c.position_lr_scale = r.boolean("position_lr_scale", c.position_lr_scale);
  c.spatial_preconditioner =
      r.number("spatial_preconditioner", c.spatial_preconditioner, 0.0, 1e3);
  if (c.nesterov && c.momentum == 0.0)
    r.fail("nesterov", "Nesterov momentum needs momentum > 0");
  r.finish();
  return c;
}

json optimizer_config_to_json(const OptimizerConfig& c) {
  const bool adam = c.type == OptimizerType::adam;
  json j{{"type", adam ? "adam" : "sgd"},
         {"lr", c.lr},
         {"weight_decay", c.weight_decay},
         {"position_lr_scale", c.position_lr_scale}};
  if (adam) {
    j["betas"] = {c.beta1, c.beta2};
    j["eps"] = c.eps;
  } else {
    j["momentum"] = c.momentum;
    j["nesterov"] = c.nesterov;
    j["spatial_preconditioner"] = c.spatial_preconditioner;
  }
  if (c.bias_lr_mult) j["bias_lr_mult"] = *c.bias_lr_mult;
  if (c.bias_decay_mult) j["bias_decay_mult"] = *c.bias_decay_mult;
  return j;
}

Optimizer::Optimizer(std::vector<Parameter*> params, OptimizerConfig config)
    : params_(std::move(params)), config_(config) {
  for (Parameter* p : params_) {
    if (!p || !p->var) throw std::logic_error("Optimizer: null parameter");
    check_state_shape(*p, p->mask, "mask");
    check_state_shape(*p, p->momentum, "momentum");
    check_state_shape(*p, p->second_moment, "second moment");
    if (p->lr_scale.defined() &&
        (p->value().ndim() == 0 || p->lr_scale.shape() != Shape{p->value().dim(0)}))
      throw InputError(p->name + ": lr_scale has shape " + shape_str(p->lr_scale.shape()) +
                       ", expected [" + std::to_string(p->value().dim(0)) + "]");
    if (p->tile_precond.defined()) {
      const int64_t t = p->tile_precond.ndim() == 2 ? p->tile_precond.dim(0) : 0;
      if (t < 1 || p->tile_precond.shape() != Shape{t, t} || p->value().ndim() != 3 ||
          p->value().dim(0) != t * t)
        throw InputError(p->name + ": tile_precond has shape " +
                         shape_str(p->tile_precond.shape()) + ", expected [t, t] with t*t = " +
                         (p->value().ndim() ? std::to_string(p->value().dim(0)) : "?"));
    }
    apply_mask(*p);
  }
}

void Optimizer::step(float lr) {
  const bool adam = config_.type == OptimizerType::adam;
  const float mu = adam ? 0.0f : static_cast<float>(config_.momentum);
  ++steps_;
  std::vector<Chunk> chunks;
  auto add = [&](float* w, float* v, float* v2, float* g, const float* m, int64_t n,
                 float lr_eff, float decay, float l1) {
    for (int64_t o = 0; o < n; o += kChunk)
      chunks.push_back({w + o, v ? v + o : nullptr, v2 ? v2 + o : nullptr, g + o,
                        m ? m + o : nullptr, nullptr, std::min(kChunk, n - o), lr_eff, decay,
                        l1});
  };
  // The kept entries [k0, k1) of a frozen parameter's list (arrays from the parameter's start).
  auto add_kept = [&](float* w, float* v, float* v2, float* g, const std::vector<int32_t>& kept,
                      int64_t k0, int64_t k1, float lr_eff, float decay, float l1) {
    for (int64_t o = k0; o < k1; o += kChunk)
      chunks.push_back({w, v, v2, g, nullptr, kept.data() + o, std::min(kChunk, k1 - o), lr_eff,
                        decay, l1});
  };
  scratch_.resize(params_.size());
  for (size_t pi = 0; pi < params_.size(); ++pi) {
    Parameter* p = params_[pi];
    Tensor& grad = p->var->grad;
    if (!grad.defined()) continue;
    const bool bias = is_bias(*p);
    const float lr_mult = bias && config_.bias_lr_mult ? float(*config_.bias_lr_mult) : p->lr_mult;
    const float decay_mult =
        bias && config_.bias_decay_mult ? float(*config_.bias_decay_mult) : p->decay_mult;
    if ((adam || mu > 0.0f) && !p->momentum.defined())
      p->momentum = Tensor::zeros(p->value().shape());
    if (adam && !p->second_moment.defined())
      p->second_moment = Tensor::zeros(p->value().shape());
    check_state_shape(*p, p->mask, "mask");
    check_state_shape(*p, grad, "gradient");
    const float decay = float(config_.weight_decay) * decay_mult;
    float* w = p->value().data();
    float* v = adam || mu > 0.0f ? p->momentum.data() : nullptr;
    const float* m = p->mask.defined() ? p->mask.data() : nullptr;
    const int64_t n = p->value().numel();
    float* v2 = adam ? p->second_moment.data() : nullptr;
    const bool rows_scaled = config_.position_lr_scale && p->lr_scale.defined();
    // Frozen masks: the kept entries only (set_masks_frozen).
    const std::vector<int32_t>* kept = frozen_ && m && kept_[pi] ? &*kept_[pi] : nullptr;
    if (!adam && config_.spatial_preconditioner > 0.0 && p->tile_precond.defined()) {
      // The preconditioned gradient (penalties included) goes to a scratch buffer: the
      // gradient itself stays as backward left it (the adaptive threshold pruner reads it).
      Tensor& pre = scratch_[pi];
      if (!pre.defined() || pre.shape() != grad.shape()) pre = Tensor::empty(grad.shape());
      const int64_t t = p->tile_precond.dim(0);
      precondition_tiles(w, grad.data(), m, p->tile_precond.data(),
                         rows_scaled ? p->lr_scale.data() : nullptr, int(t), n / (t * t),
                         float(config_.spatial_preconditioner), decay, p->l1, pre.data());
      if (kept)
        add_kept(w, v, nullptr, pre.data(), *kept, 0, int64_t(kept->size()), lr * lr_mult, 0.0f,
                 0.0f);
      else
        add(w, v, nullptr, pre.data(), m, n, lr * lr_mult, 0.0f, 0.0f);
    } else if (rows_scaled) {
      // Slices along dim 0 (a Winograd position: K * C/groups elements) with their own lr:
      // lr * D_j for SGD, lr * sqrt(D_j) = lr / s_j for Adam (see optim/optimizer.h).
      const int64_t rows = p->lr_scale.numel(), per = n / rows;
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t o = row * per;
        const float d = p->lr_scale[row];
        const float lr_row = lr * lr_mult * (adam ? std::sqrt(d) : d);
        if (kept) {   // the row's part of the sorted list
          const auto k0 = std::lower_bound(kept->begin(), kept->end(), o);
          const auto k1 = std::lower_bound(k0, kept->end(), o + per);
          add_kept(w, v, v2, grad.data(), *kept, k0 - kept->begin(), k1 - kept->begin(), lr_row,
                   decay, p->l1);
        } else {
          add(w + o, v ? v + o : nullptr, v2 ? v2 + o : nullptr, grad.data() + o,
              m ? m + o : nullptr, per, lr_row, decay, p->l1);
        }
      }
    } else if (kept) {
      add_kept(w, v, v2, grad.data(), *kept, 0, int64_t(kept->size()), lr * lr_mult, decay,
               p->l1);
    } else {
      add(w, v, v2, grad.data(), m, n, lr * lr_mult, decay, p->l1);
    }
  }
  const int64_t count = static_cast<int64_t>(chunks.size());
  const bool nesterov = config_.nesterov;
  const float b1 = float(config_.beta1), b2 = float(config_.beta2), eps = float(config_.eps);
  const int64_t t = steps_;
  // Chunks are handed out dynamically (each is elementwise, so the result does not depend on
  // the schedule): with static halves one vCPU, up to 1.5x slower at memory-bound work here,
  // got AlexNet's fc6 and the other waited (perf: update_loop 1.9% of the samples on one
  // thread, 1.6% on the other, fine-tune step at batch 64).
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < count; ++i) {
    const Chunk& c = chunks[size_t(i)];
    if (adam)
      adam_dispatch(c.w, c.v, c.v2, c.grad, c.mask, c.idx, c.n, c.lr, b1, b2, eps, t, c.decay,
                    c.l1);
    else if (c.idx)
      sgd_update_at(c.w, c.v, c.grad, c.idx, c.n, c.lr, mu, nesterov, c.decay, c.l1);
    else
      sgd_update(c.w, c.v, c.grad, c.mask, c.n, c.lr, mu, nesterov, c.decay, c.l1);
  }
}

namespace {

// Frozen masks keeping at most this fraction of a parameter's entries are updated through the
// list of kept entries; denser ones by the masked loop. Measured (/tmp driver, AlexNet's four
// Winograd weights, 14.2 M entries, random masks, 2 threads, time of the list against the
// masked loop): 0.78 at 10% kept, 0.90 at 20%, 1.16 at 30%, 1.84 at 50%, 3.6 with every entry
// kept. The list is gathered and scalar; at 10% random density its entries still touch 81% of
// the cache lines of w, v and the gradient, so it never gains much.
constexpr double kKeptListMaxDensity = 0.2;

}  // namespace

void Optimizer::set_masks_frozen(bool frozen) {
  frozen_ = frozen;
  kept_.assign(params_.size(), std::nullopt);
  if (!frozen) return;
  for (size_t pi = 0; pi < params_.size(); ++pi) {
    Parameter* p = params_[pi];
    if (!p->mask.defined() || p->mask.numel() > INT32_MAX) continue;   // the masked loop
    apply_mask(*p);   // the masked entries' weight and state are zero from here on
    const float* m = p->mask.data();
    const int64_t n = p->mask.numel();
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) kept += m[i] != 0.0f;
    if (double(kept) > kKeptListMaxDensity * double(n)) continue;
    std::vector<int32_t>& list = kept_[pi].emplace();
    list.reserve(size_t(kept));
    for (int64_t i = 0; i < n; ++i)
      if (m[i] != 0.0f) list.push_back(int32_t(i));
  }
}

void Optimizer::check_masks_frozen() const {
  if (!frozen_) return;
  for (size_t pi = 0; pi < params_.size(); ++pi) {
    if (!kept_[pi]) continue;
    const Parameter& p = *params_[pi];
    const std::vector<int32_t>& kept = *kept_[pi];
    bool same = p.mask.defined() && p.mask.shape() == p.value().shape();
    size_t k = 0;
    const float* m = same ? p.mask.data() : nullptr;
    for (int64_t i = 0; same && i < p.mask.numel(); ++i) {
      const bool listed = k < kept.size() && kept[k] == i;
      k += listed;
      same = (m[i] != 0.0f) == listed;
    }
    if (!same)
      throw std::logic_error(p.name + ": its mask changed while the optimizer held it frozen");
  }
}

void Optimizer::zero_grad() {
  for (Parameter* p : params_) p->var->release_grad();
}

}  // namespace wp
