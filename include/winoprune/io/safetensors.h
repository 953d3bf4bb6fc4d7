#pragma once
// safetensors files (checkpoints). Layout:
//   [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header, space-padded][data region]
//   header = {"<name>": {"dtype": "F32", "shape": [6, 6], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string value>", ...}}
// Offsets are relative to the start of the data region, end exclusive.
//
// Writing: tensors sorted by name, packed contiguously from offset 0 in that order, N a multiple
// of 8 (so every tensor starts 8-byte aligned in the file when the previous sizes are), written
// atomically (io/atomic_file.h).
// Reading: nothing is trusted before it is checked. A file is accepted only if: size >= 8;
// 8 + N <= size; the header parses as a JSON object with unique keys; every entry has exactly
// dtype (a known name), shape (non-negative integers) and data_offsets ([begin, end] unsigned
// integers, begin <= end <= data size, end - begin == numel * dtype size); the entries sorted by
// begin tile the data region exactly (no overlap, no gap, nothing after the last one);
// __metadata__, if present, maps strings to strings. Violations throw InputError naming the file
// and the tensor or field, e.g.
//   ckpt.safetensors: tensor conv3.weight: data_offsets [0, 100] cover 100 bytes, expected 144
//   for F32 [6, 6]
// Data is little-endian (this code targets x86-64 only, see the static_assert in the .cpp).
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "winoprune/tensor.h"

namespace wp {

enum class DType { BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64 };

const char* dtype_name(DType d);            // "F32"
int64_t dtype_size(DType d);                // bytes per element: 1, 2, 4 or 8
bool dtype_from_name(const std::string& name, DType* out);   // false if unknown

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::U16; }
template <> constexpr DType dtype_of<int8_t>() { return DType::I8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::U32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::U64; }

// An owned tensor record, as read from a file (or built to be written).
struct SafeTensor {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> bytes;          // numel(shape) * dtype_size(dtype) bytes
  int64_t numel() const { return shape_numel(shape); }
};

// A borrowed record for writing without copying (e.g. a model's parameter storage).
struct SafeTensorRef {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  const void* data = nullptr;          // numel(shape) * dtype_size(dtype) bytes
};

using SafeTensorMetadata = std::map<std::string, std::string>;

struct SafeTensorsFile {
  std::string path;                    // where it was read from (for messages)
  std::vector<SafeTensor> tensors;     // sorted by name
  SafeTensorMetadata metadata;

  bool has(const std::string& name) const { return find(name) != nullptr; }
  const SafeTensor* find(const std::string& name) const;   // null if absent
  // Throws InputError "<path>: tensor <name>: missing" if absent.
  const SafeTensor& at(const std::string& name) const;
  // Throws InputError "<path>: __metadata__.<key>: missing" if absent.
  const std::string& meta(const std::string& key) const;
};

// Writes atomically. Throws InputError for bad records (duplicate or empty names, the reserved
// name "__metadata__", negative dims, null data with non-zero size) and runtime_error on I/O.
void write_safetensors(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                       const SafeTensorMetadata& metadata);
void write_safetensors(const std::string& path, const std::vector<SafeTensor>& tensors,
                       const SafeTensorMetadata& metadata);

// Reads and validates everything (data included); each tensor gets its own buffer, so the peak
// memory is the file size, not twice it.
SafeTensorsFile read_safetensors(const std::string& path);
// Same validation, tensors' bytes left empty (e.g. eval reading the config from the metadata).
SafeTensorsFile read_safetensors_header(const std::string& path);

// The exact bytes write_safetensors puts in the file (header length, header, data). Tests and
// tools that need an in-memory image use it; parse_safetensors is the reader's core on a buffer.
std::vector<uint8_t> serialize_safetensors(const std::vector<SafeTensorRef>& tensors,
                                           const SafeTensorMetadata& metadata);
SafeTensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& what);

// ---- conversions ----

SafeTensorRef as_ref(const SafeTensor& t);
// F32 record viewing a Tensor's storage (the Tensor must outlive the write).
SafeTensorRef f32_ref(const std::string& name, const Tensor& t);
// Owned F32 copy of a Tensor.
SafeTensor to_safetensor(const std::string& name, const Tensor& t);
// A new Tensor from an F32 record. InputError "<file>: tensor <name>: expected dtype F32, got
// U8" otherwise. With `expected` non-empty, the shape must match too.
Tensor to_tensor(const SafeTensor& t, const std::string& file, const Shape& expected = {});

// Typed helpers for other dtypes (masks as U8, transforms as F64, RNG state as U64, ...).
template <typename T>
SafeTensor make_safetensor(const std::string& name, const Shape& shape,
                           const std::vector<T>& values) {
  static_assert(std::is_trivially_copyable<T>::value, "raw little-endian data");
  SafeTensor t;
  t.name = name;
  t.dtype = dtype_of<T>();
  t.shape = shape;
  t.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

// Throws InputError naming `file` and the tensor if the dtype is not T's.
void check_dtype(const SafeTensor& t, DType expected, const std::string& file);
template <typename T>
std::vector<T> safetensor_values(const SafeTensor& t, const std::string& file) {
  check_dtype(t, dtype_of<T>(), file);
  std::vector<T> out(t.bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), t.bytes.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace wp
