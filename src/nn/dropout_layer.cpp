// DropoutLayer: inverted dropout (survivors scaled by 1/(1-p)) while training; identity when
// evaluating. The mask comes from ctx.rng, so a fixed seed gives a fixed mask sequence.
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

DropoutLayer::DropoutLayer(std::string name, float p) : Layer(std::move(name)), p_(p) {
  if (!(p >= 0.0f && p < 1.0f))
    throw InputError(this->name() + ": dropout probability must be in [0, 1), got " +
                     std::to_string(p));
}

Var DropoutLayer::forward(const Var& x, ForwardContext& ctx) {
  if (!ctx.training || p_ == 0.0f) return x;
  if (!ctx.rng) throw std::logic_error(name() + ": training forward needs ForwardContext::rng");
  return dropout(x, p_, true, *ctx.rng);
}

}  // namespace wp
