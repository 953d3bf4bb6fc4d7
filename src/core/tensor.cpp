#include "winoprune/tensor.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "winoprune/allocator.h"
#include "winoprune/error.h"

namespace wp {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw InputError("negative dimension in shape " + shape_str(s));
    n *= d;
  }
  return n;
}

namespace {
// 64-byte aligned (allocator.h): one cache line and one zmm register, so aligned vector loads
// never split lines.
std::shared_ptr<float> allocate(int64_t numel) {
  const size_t bytes = size_t(std::max<int64_t>(numel, 1)) * sizeof(float);
  std::shared_ptr<void> block = allocate_storage(bytes);
  float* data = static_cast<float*>(block.get());
  return std::shared_ptr<float>(std::move(block), data);
}
}  // namespace

Tensor Tensor::empty(const Shape& shape) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = shape;
  t.storage_ = allocate(t.numel_);
  return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape);
  if (static_cast<int64_t>(values.size()) != t.numel_)
    throw InputError("from_vector: " + std::to_string(values.size()) + " values for shape " +
                     shape_str(shape));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  if (i < 0 || i >= n)
    throw std::out_of_range("dim " + std::to_string(i) + " of shape " + shape_str(shape_));
  return shape_[i];
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw InputError("reshape: more than one -1 in " + shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) s[infer] = known ? numel_ / known : 0;
  if (shape_numel(s) != numel_)
    throw InputError("reshape: cannot view " + shape_str(shape_) + " as " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  if (ndim() == 0 || begin < 0 || end < begin || end > shape_[0])
    throw std::out_of_range("slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") of shape " + shape_str(shape_));
  int64_t row = shape_[0] ? numel_ / shape_[0] : 0;
  Tensor t = *this;
  t.offset_ = offset_ + begin * row;
  t.shape_[0] = end - begin;
  t.numel_ = (end - begin) * row;
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(shape_);
  std::memcpy(t.data(), data(), static_cast<size_t>(numel_) * sizeof(float));
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.numel() != numel_)
    throw InputError("copy_from: " + shape_str(src.shape()) + " into " + shape_str(shape_));
  std::memcpy(data(), src.data(), static_cast<size_t>(numel_) * sizeof(float));
}

// Tensors of at least this many floats (1 MB) are filled and scanned by all threads; below,
// starting the threads costs more than they save.
constexpr int64_t kParallelMinFloats = int64_t(1) << 18;

// Large tensors are filled by all threads: gradient buffers are zeroed as backward first
// reaches them (autograd.cpp), up to 74 MB at once for AlexNet's conv1 output at batch 64, and
// one thread writes ~10 GB/s here. Measured in an AlexNet fine-tune step at batch 64 (perf):
// the serial fill was 1.4% of the samples of both threads, with the other thread idle.
// Dynamic in 256 KB pieces: one of this machine's vCPUs is up to 1.5x slower at memory-bound
// work (winograd_conv2d.cpp's transform phases have the measurement).
void Tensor::fill(float value) {
  float* p = data();
  const int64_t n = numel_;
#pragma omp parallel for schedule(dynamic, kParallelMinFloats / 4) if (n >= kParallelMinFloats)
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

// Element by element (each result depends on its own elements only, whatever the threads):
// data.accumulate sums its slices' gradients with these (runner.cpp), all of AlexNet's 61 M
// per slice.
void Tensor::scale(float s) {
  float* p = data();
  const int64_t n = numel_;
#pragma omp parallel for schedule(dynamic, kParallelMinFloats / 4) if (n >= kParallelMinFloats)
  for (int64_t i = 0; i < n; ++i) p[i] *= s;
}

void Tensor::add_scaled(const Tensor& x, float s) {
  if (x.numel() != numel_)
    throw InputError("add_scaled: " + shape_str(x.shape()) + " into " + shape_str(shape_));
  float* p = data();
  const float* q = x.data();
  const int64_t n = numel_;
#pragma omp parallel for schedule(dynamic, kParallelMinFloats / 4) if (n >= kParallelMinFloats)
  for (int64_t i = 0; i < n; ++i) p[i] += q[i] * s;
}

std::vector<uint8_t> nonzero_bytes(const Tensor& t) {
  std::vector<uint8_t> out(static_cast<size_t>(t.numel()));
  const float* p = t.data();
  const int64_t n = t.numel();
  uint8_t* o = out.data();
#pragma omp parallel for schedule(static) if (n >= kParallelMinFloats)
  for (int64_t i = 0; i < n; ++i) o[i] = p[i] != 0.0f;
  return out;
}

// Every step of a masked training phase compares each Winograd layer's mask (AlexNet: 14 M
// entries, 56 MB of floats) with the bytes of its pack: in parallel, without an early exit.
bool same_nonzeros(const Tensor& t, const std::vector<uint8_t>& bytes) {
  if (bytes.size() != static_cast<size_t>(t.numel())) return false;
  const float* p = t.data();
  const uint8_t* b = bytes.data();
  const int64_t n = t.numel();
  int64_t differ = 0;
#pragma omp parallel for schedule(static) reduction(+ : differ) if (n >= kParallelMinFloats)
  for (int64_t i = 0; i < n; ++i) differ += (p[i] != 0.0f) != (b[i] != 0);
  return differ == 0;
}

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel_); }

}  // namespace wp
