#pragma once
// Tensor: float32, dense, row-major (NCHW for images), 64-byte aligned storage shared between
// views. A Tensor is a cheap handle: copying it shares the storage (like torch.Tensor);
// clone() copies the data. Views are contiguous ranges of a storage (reshape, slice along dim 0),
// which is all the engine needs: every op reads and writes contiguous buffers.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace wp {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);   // "[64, 3, 227, 227]"
int64_t shape_numel(const Shape& s);

class Tensor {
 public:
  Tensor() = default;                              // undefined (no storage)
  static Tensor empty(const Shape& shape);         // uninitialized, 64-byte aligned
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;                        // negative i counts from the end
  int64_t numel() const { return numel_; }

  float* data() { return storage_.get() + offset_; }
  const float* data() const { return storage_.get() + offset_; }
  float& operator[](int64_t i) { return data()[i]; }
  float operator[](int64_t i) const { return data()[i]; }

  Tensor reshape(const Shape& shape) const;        // view; one dimension may be -1
  Tensor slice(int64_t begin, int64_t end) const;  // view of rows [begin, end) along dim 0
  Tensor clone() const;                            // deep copy
  void copy_from(const Tensor& src);               // same numel, data copied
  void fill(float value);
  void zero() { fill(0.0f); }
  void scale(float s);                              // *this *= s, element by element
  void add_scaled(const Tensor& x, float s);        // *this += x * s (same numel)
  std::vector<float> to_vector() const;
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

 private:
  std::shared_ptr<float> storage_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  Shape shape_;
};

// Masks (0/1 floats) kept as one byte per entry: 1 where t is nonzero. Layers and patterns
// built from a mask keep these bytes and check, every step, that the mask is still the same.
std::vector<uint8_t> nonzero_bytes(const Tensor& t);
// True if t has bytes.size() entries and is nonzero exactly where bytes is.
bool same_nonzeros(const Tensor& t, const std::vector<uint8_t>& bytes);

}  // namespace wp
