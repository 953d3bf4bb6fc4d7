// The fc layer's inference path: after prepare_inference(sparse) its no-grad forward runs
// oneDNN's inner product on a packed copy of the weights (ops/packed_linear.h), the same values
// as the training path's sgemm; prepare_inference(dense) drops the copy.
#include "support.h"
#include "winoprune/autograd.h"
#include "winoprune/nn/layers.h"

using namespace wp;

TEST_CASE("fc layer runs the packed copy only after prepare_inference(sparse)", "[ops][linear]") {
  LinearLayer fc("fc", 40, 24);
  for (Parameter* p : fc.parameters())
    for (int64_t i = 0; i < p->value().numel(); ++i) p->value()[i] = 0.01f * float(i % 13) - 0.05f;
  const Tensor x = Tensor::from_vector({3, 40}, test::random_vector<float>(120, 9));
  NoGradGuard no_grad;
  ForwardContext ctx;
  ctx.kernel = InferenceKernel::sparse;
  const Tensor plain = fc.forward(leaf(x), ctx)->value.clone();
  fc.prepare_inference(InferenceKernel::sparse);
  const Tensor packed = fc.forward(leaf(x), ctx)->value.clone();
  CHECK(test::relative_error(packed.data(), plain.data(), size_t(plain.numel()), 1e-6, "y") < 1e-6);
  // The packed copy is not refreshed (documented); prepare_inference(dense) drops it.
  fc.weight().value()[0] += 1.0f;
  const Tensor stale = fc.forward(leaf(x), ctx)->value.clone();
  CHECK(test::relative_error(stale.data(), packed.data(), size_t(plain.numel()), 1e-6, "y") < 1e-6);
  fc.prepare_inference(InferenceKernel::dense);
  const Tensor fresh = fc.forward(leaf(x), ctx)->value.clone();
  CHECK(fresh[0] != stale[0]);
}
