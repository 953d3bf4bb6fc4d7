#include "winoprune/autograd.h"

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace wp {

namespace {
thread_local bool g_grad_enabled = true;

void free_value(Node& n) {
  if (!n.value.defined()) return;
  n.freed_value_shape = n.value.shape();
  n.value = Tensor();
}

// An uninitialized buffer of n's value shape for its gradient: the spare one when it fits.
Tensor new_grad(Node& n) {
  const Shape& shape = n.value.defined() ? n.value.shape() : n.freed_value_shape;
  Tensor t = std::move(n.spare_grad);
  n.spare_grad = Tensor();
  if (t.defined() && t.shape() == shape) return t;
  return Tensor::empty(shape);
}
}  // namespace

Tensor& Node::grad_buffer() {
  if (!grad.defined()) {
    grad = new_grad(*this);
    grad.fill(0.0f);
  }
  return grad;
}

float* Node::grad_target(float& beta) {
  beta = grad.defined() ? 1.0f : 0.0f;
  if (!grad.defined()) grad = new_grad(*this);
  return grad.data();
}

void Node::release_grad() {
  if (grad.defined()) spare_grad = std::move(grad);
  grad = Tensor();
}

void allocate_input_grads(Node& n) {
  if (n.allocates_input_grads) return;
  for (const Var& in : n.inputs)
    if (in && in->requires_grad) in->grad_buffer();
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
  // but an explicit stack keeps it so for any graph. `order` holds the handles (the root's or
  // an edge's) through which nodes were reached; graph_refs counts, per node, the edges of
  // reached nodes that point at it; `read` holds the nodes some closure reads the value of.
  std::vector<const Var*> order;
  std::unordered_map<const Node*, long> graph_refs{{root.get(), 0}};
  std::unordered_set<const Node*> read;
  std::vector<std::pair<const Var*, size_t>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto& [var, next] = stack.back();
    Node& node = **var;
    if (next < node.inputs.size()) {
      const Var& child = node.inputs[next++];
      if (!child || !child->requires_grad) continue;
      if (node.reads_input_values) read.insert(child.get());
      auto [it, first] = graph_refs.try_emplace(child.get(), 0);
      ++it->second;
      if (first) stack.push_back({&child, 0});
    } else {
      if (node.consumed)
        throw std::logic_error("backward: the graph was already used by a backward pass, which "
                               "freed its saved tensors; run the forward again");
      order.push_back(var);
      stack.pop_back();
    }
  }
  // A value that no closure reads and no handle outside the graph's edges points at is dead
  // already: the output of a convolution followed by ReLU (which keeps its own output), of an
  // LRN followed by max pooling (which keeps its argmax). Free those now rather than when the
  // sweep reaches their nodes: the peak of an AlexNet step's blocks in use (batch 64, where
  // lrn2 and lrn1 run backward) fell from 1351 to 1248 MB.
  for (const Var* var : order) {
    Node& n = **var;
    if (n.backward_fn && !read.count(&n) && var->use_count() == graph_refs[&n]) free_value(n);
  }
  root->grad_buffer().data()[0] += 1.0f;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Var& var = **it;
    Node& n = *var;
    if (!n.backward_fn) {  // a leaf: reverse topological order, so its gradient is complete
      if (n.on_grad_ready) n.on_grad_ready();
      continue;
    }
    // Reverse topological order: every consumer of n has run, and closures never read their
    // own value, so nothing in this pass reads n's value again. Free it before the closure
    // allocates its inputs' gradients (often the same size: the block is reused), unless a
    // handle outside the graph's edges still points at the node (the root, or logits the
    // caller kept). n's gradient, allocated by its consumers, needs the value's shape no more.
    if (var.use_count() == graph_refs[&n]) free_value(n);
    if (n.grad.defined()) {
      allocate_input_grads(n);
      n.backward_fn(n);
    }
    // Nor are n's gradient and saved tensors read again. Freed as the sweep goes, the
    // activations of the layers done are gone while the first (largest) layers run backward:
    // the peak of an AlexNet step's blocks in use (batch 64) fell from 1877 to 1668 MB.
    n.grad = Tensor();
    n.backward_fn = nullptr;
    n.consumed = true;
  }
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

}  // namespace wp
