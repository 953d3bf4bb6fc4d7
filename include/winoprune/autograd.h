#pragma once
// Reverse-mode autograd over a dynamic graph (micrograd's design, on tensors).
//
// A Var is a shared handle to a Node: a value, a lazily allocated gradient, the input Vars and a
// closure that ADDS this node's contribution into its inputs' gradients (or writes it, into a
// gradient just allocated: Node::grad_target). The engine knows no op
// by name: an op computes its forward, then calls make_result(value, inputs, backward_fn).
// backward(root) seeds d(root) = 1, sorts the graph topologically and runs each closure once in
// reverse order. A backward pass consumes its graph (as PyTorch's default): it frees each
// node's closure (saved tensors) and gradient once the node has run, and its value too unless
// a Var outside the graph still holds the node (values no closure reads go first, see
// reads_input_values); a second backward on the same graph throws.
// Gradients of leaves accumulate across backward() calls (of fresh graphs) until the optimizer's
// zero_grad() releases them (an undefined gradient is a zero one).
//
// Closures capture only what the backward formula needs (saved tensors, sizes), never their own
// result Var, so the graph has no cycles and is freed when the last Var to it goes away. A
// closure reads self.grad and its inputs (values, gradients), never self.value: backward()
// frees that before the closure runs (an op whose gradient needs its output captures it). A
// closure may drop self.grad once it has read it (memory: it is not needed afterwards).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "winoprune/tensor.h"

namespace wp {

struct Node;
using Var = std::shared_ptr<Node>;

struct Node {
  Tensor value;
  Tensor grad;                          // undefined until something adds into it
  bool requires_grad = false;
  std::vector<Var> inputs;
  std::function<void(Node& self)> backward_fn;  // reads self.grad, adds into inputs' grads
  // Whether backward_fn reads its inputs' values. An op whose closure reads none of them (it
  // saved what it needs: a mask, indices, its own output) sets false, and backward() frees, when
  // it starts, the values that no closure of the graph reads and no Var outside it holds.
  bool reads_input_values = true;
  bool consumed = false;                // backward() has run this node and freed its state
  // Leaves only: called by backward() as soon as this leaf's gradient is complete (every node
  // that reads it has run), while the sweep goes on with the layers before it. Data-parallel
  // training starts a parameter's gradient allreduce from here (dist/gradient_allreduce.h).
  std::function<void()> on_grad_ready;
  Shape freed_value_shape;              // value's shape, once backward() has freed the value
  // backward() allocates the gradients of a node's inputs (as zeros) before running its
  // closure, unless the op set this: its closure then obtains them itself, through
  // grad_buffer() or grad_target().
  bool allocates_input_grads = false;

  // Leaves only: the buffer of a gradient released by release_grad(), kept for the next
  // allocation. The optimizer releases its parameters' gradients every step; allocating them
  // afresh instead made the allocator map and fault in new segments every step (AlexNet b64:
  // step medians 460 -> 650 ms, peak RSS +100 MB).
  Tensor spare_grad;

  // The gradient buffer, allocated as zeros of value's shape on first use.
  Tensor& grad_buffer();
  // The gradient buffer for an op that writes its whole contribution in one pass as
  // grad = contribution + beta * grad (a GEMM's beta): beta is 0 when this call allocated the
  // buffer, uninitialized (the op overwrites it: no zero fill, no read of it), 1 when it holds
  // a gradient already. AlexNet fc6's weight gradient is 151 MB: at batch 64 its GEMM with
  // beta 0 took 24.6 ms against 31-32 with beta 1 over a zeroed buffer, the zero fill apart.
  float* grad_target(float& beta);
  // Drops the gradient (it reads as zero from now on), keeping its buffer in spare_grad.
  void release_grad();
};

// A leaf: a parameter (requires_grad = true) or an input (false).
Var leaf(Tensor value, bool requires_grad = false);

// The result of an op. If grad mode is off or no input requires grad, the result is a plain
// constant and backward_fn is dropped (no graph is kept: evaluation costs no extra memory).
Var make_result(Tensor value, std::vector<Var> inputs, std::function<void(Node& self)> backward_fn);

// Runs the backward sweep from a root with one element (a scalar loss), consuming the graph.
void backward(const Var& root);

// What backward() does before running a node's closure: allocates (as zeros) the gradients of
// n's inputs that require one, unless n.allocates_input_grads (the closure obtains them).
void allocate_input_grads(Node& n);

// Grad mode: on by default; NoGradGuard turns it off for its scope (evaluation).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace wp
