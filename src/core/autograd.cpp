#include "winoprune/autograd.h"

#include <stdexcept>
#include <unordered_set>

namespace wp {

namespace {
thread_local bool g_grad_enabled = true;
}

Tensor& Node::grad_buffer() {
  if (!grad.defined()) grad = Tensor::zeros(value.shape());
  return grad;
}

Var leaf(Tensor value, bool requires_grad) {
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->requires_grad = requires_grad;
  return n;
}

Var make_result(Tensor value, std::vector<Var> inputs,
                std::function<void(Node& self)> backward_fn) {
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  if (!g_grad_enabled) return n;
  bool any = false;
  for (const Var& v : inputs) any = any || (v && v->requires_grad);
  if (!any) return n;
  n->requires_grad = true;
  n->inputs = std::move(inputs);
  n->backward_fn = std::move(backward_fn);
  return n;
}

void backward(const Var& root) {
  if (!root || root->value.numel() != 1)
    throw std::logic_error("backward: the root must be a scalar");
  // Iterative post-order DFS: networks are deep enough that recursion depth is not a concern,
  // but an explicit stack keeps it so for any graph.
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack{{root.get(), 0}};
  seen.insert(root.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* child = node->inputs[next++].get();
      if (child && child->requires_grad && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  root->grad_buffer().data()[0] += 1.0f;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (n->backward_fn && n->grad.defined()) {
      for (const Var& in : n->inputs)
        if (in && in->requires_grad) in->grad_buffer();
      n->backward_fn(*n);
    }
    // Interior nodes do not need their gradient after passing it on: free it now so a deep
    // network's peak memory holds one layer's gradient at a time, not all of them.
    if (n->backward_fn) n->grad = Tensor();
  }
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

}  // namespace wp
