// safetensors reading (validated) and atomic writing. Format and checks: io/safetensors.h.
#include "winoprune/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/json_reader.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied raw");

namespace wp {

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  int64_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},
    {DType::U16, "U16", 2},   {DType::I16, "I16", 2},   {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::U32, "U32", 4},   {DType::I32, "I32", 4},
    {DType::F32, "F32", 4},   {DType::U64, "U64", 8},   {DType::I64, "I64", 8},
    {DType::F64, "F64", 8},
};

// The reference implementation's limit: a header larger than this is hostile or broken, and
// refusing it early avoids allocating what the length field claims.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i;
  throw std::logic_error("unknown DType");
}

std::string known_dtype_list() {
  std::string s;
  for (const auto& i : kDTypes) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

// numel * size with overflow detection; false on overflow or negative dims.
bool byte_size(const Shape& shape, int64_t elem, uint64_t* out) {
  uint64_t n = uint64_t(elem);
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (__builtin_mul_overflow(n, uint64_t(d), &n)) return false;
  }
  *out = n;
  return true;
}

std::string offsets_str(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

// One validated header entry.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;          // sorted by begin after validation
  SafeTensorMetadata metadata;
};

[[noreturn]] void bad(const std::string& what, const std::string& message) {
  throw InputError(what + ": " + message);
}

Entry parse_entry(const std::string& what, const std::string& name, const json& v) {
  std::string where = "tensor " + name;
  if (name.empty()) bad(what, "header: empty tensor name");
  if (!v.is_object())
    bad(what, where + ": expected an object with dtype, shape, data_offsets, got " +
                  json_brief(v));
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      bad(what, where + ": unknown field \"" + k + "\" (expected dtype, shape, data_offsets)");
  }
  for (const char* k : {"dtype", "shape", "data_offsets"})
    if (!v.contains(k)) bad(what, where + ": " + k + ": missing");

  Entry e;
  e.name = name;
  const json& dt = v["dtype"];
  if (!dt.is_string() || !dtype_from_name(dt.get<std::string>(), &e.dtype))
    bad(what, where + ": dtype: unknown " + json_brief(dt) + " (expected one of " +
                  known_dtype_list() + ")");

  const json& sh = v["shape"];
  bool shape_ok = sh.is_array();
  if (shape_ok)
    for (const auto& d : sh) shape_ok = shape_ok && d.is_number_unsigned();
  if (!shape_ok)
    bad(what, where + ": shape: expected an array of non-negative integers, got " +
                  sh.dump());
  for (const auto& d : sh) {
    uint64_t x = d.get<uint64_t>();
    if (x > uint64_t(INT64_MAX)) bad(what, where + ": shape: dimension " + d.dump() + " too large");
    e.shape.push_back(int64_t(x));
  }

  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned() || off[0].get<uint64_t>() > off[1].get<uint64_t>())
    bad(what, where + ": data_offsets: expected [begin, end], unsigned integers with begin <= "
                      "end, got " + off.dump());
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();

  uint64_t expected = 0;
  if (!byte_size(e.shape, dtype_size(e.dtype), &expected))
    bad(what, where + ": shape " + shape_str(e.shape) + " of " + dtype_name(e.dtype) +
                  " overflows 64-bit byte counts");
  if (e.end - e.begin != expected)
    bad(what, where + ": data_offsets " + offsets_str(e.begin, e.end) + " cover " +
                  std::to_string(e.end - e.begin) + " bytes, expected " +
                  std::to_string(expected) + " for " + dtype_name(e.dtype) + " " +
                  shape_str(e.shape));
  return e;
}

// Parses and validates the header bytes against a data region of `data_size` bytes.
Header parse_header(const std::string& what, const uint8_t* bytes, size_t n, uint64_t data_size) {
  // Duplicate names: nlohmann keeps the last value silently, so catch them while parsing
  // (depth 1 keys are tensor names and __metadata__).
  std::string duplicate;
  std::set<std::string> seen;
  bool too_deep = false;   // the json_parse_bounded rule (json_reader.h)
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      too_deep = true;
    if (too_deep) return false;
    if (event == json::parse_event_t::key && depth == 1) {
      std::string k = parsed.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  json h;
  try {
    h = json::parse(bytes, bytes + n, cb);
  } catch (const json::exception& ex) {
    bad(what, std::string("header is not valid JSON: ") + ex.what());
  }
  if (too_deep) bad(what, "header: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (!h.is_object()) bad(what, "header: expected a JSON object, got " + json_brief(h));
  if (!duplicate.empty()) bad(what, "header: duplicate key \"" + duplicate + "\"");

  Header out;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      const json& m = it.value();
      if (!m.is_object()) bad(what, "__metadata__: expected an object of strings, got " +
                                        json_brief(m));
      for (auto mt = m.begin(); mt != m.end(); ++mt) {
        if (!mt.value().is_string())
          bad(what, "__metadata__." + mt.key() + ": expected a string, got " +
                        json_brief(mt.value()));
        out.metadata[mt.key()] = mt.value().get<std::string>();
      }
      continue;
    }
    out.entries.push_back(parse_entry(what, it.key(), it.value()));
  }

  for (const Entry& e : out.entries)
    if (e.end > data_size)
      bad(what, "tensor " + e.name + ": data_offsets " + offsets_str(e.begin, e.end) +
                    " extend beyond the data region (" + std::to_string(data_size) + " bytes)");

  // Sorted by (begin, end): empty tensors (begin == end) sort before a tensor starting at the
  // same offset and overlap nothing.
  std::sort(out.entries.begin(), out.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : out.entries) {
    if (e.begin < covered)
      bad(what, "tensors " + prev->name + " " + offsets_str(prev->begin, prev->end) + " and " +
                    e.name + " " + offsets_str(e.begin, e.end) + " overlap");
    if (e.begin > covered)
      bad(what, "data region bytes [" + std::to_string(covered) + ", " +
                    std::to_string(e.begin) + ") are not covered by any tensor");
    if (e.end > e.begin) {
      covered = e.end;
      prev = &e;
    }
  }
  if (covered != data_size)
    bad(what, "data region bytes [" + std::to_string(covered) + ", " +
                  std::to_string(data_size) + ") are not covered by any tensor");
  return out;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Checks the 8-byte length against the file size; returns N.
uint64_t check_header_length(const std::string& what, uint64_t file_size, const uint8_t* first8) {
  if (file_size < 8)
    bad(what, "file is " + std::to_string(file_size) +
                  " bytes, too short for a safetensors file (8-byte header length first)");
  uint64_t n = read_u64_le(first8);
  bool text = true;   // a safetensors length is small: its high bytes are 0, never text
  for (int i = 0; i < 8; ++i)
    text = text && ((first8[i] >= 0x20 && first8[i] < 0x7f) || first8[i] == 0x0a || first8[i] == 0x09);
  if (text) {
    std::string shown(reinterpret_cast<const char*>(first8), 8);
    for (char& c : shown) c = c == '\n' || c == '\t' ? ' ' : c;
    bad(what, "not a safetensors file: it begins with text (\"" + shown +
                  "...\"), not an 8-byte header length; a JSON config or a text file?");
  }
  if (n > file_size - 8)
    bad(what, "not a safetensors file, or a truncated one: header length " + std::to_string(n) +
                  " exceeds the file (" + std::to_string(file_size - 8) +
                  " bytes after the length field)");
  if (n > kMaxHeaderBytes)
    bad(what, "header length " + std::to_string(n) + " exceeds the limit of " +
                  std::to_string(kMaxHeaderBytes) + " bytes");
  return n;
}

SafeTensorsFile to_file(const std::string& what, Header&& h) {
  SafeTensorsFile f;
  f.path = what;
  f.metadata = std::move(h.metadata);
  for (Entry& e : h.entries) {
    SafeTensor t;
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    f.tensors.push_back(std::move(t));
  }
  return f;
}

// Tensors by name (the header's JSON object is unordered).
void sort_by_name(SafeTensorsFile& f) {
  std::sort(f.tensors.begin(), f.tensors.end(),
            [](const SafeTensor& a, const SafeTensor& b) { return a.name < b.name; });
}

// Reads `bytes` at `offset` exactly; InputError if the file is shorter than its fstat said.
void pread_exact(int fd, const std::string& path, void* dst, size_t bytes, uint64_t offset) {
  auto* p = static_cast<uint8_t*>(dst);
  while (bytes > 0) {
    ssize_t n = ::pread(fd, p, bytes, off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) bad(path, "unexpected end of file at byte " + std::to_string(offset));
    p += n;
    bytes -= size_t(n);
    offset += uint64_t(n);
  }
}

SafeTensorsFile read_impl(const std::string& path, bool with_data) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) bad(path, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) bad(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) bad(path, "not a regular file");
  uint64_t file_size = uint64_t(st.st_size);

  uint8_t first8[8] = {0};
  if (file_size >= 8) pread_exact(fd, path, first8, 8, 0);
  uint64_t n = check_header_length(path, file_size, first8);
  std::vector<uint8_t> header(n);
  pread_exact(fd, path, header.data(), n, 8);
  uint64_t data_start = 8 + n;
  Header h = parse_header(path, header.data(), n, file_size - data_start);

  std::vector<Entry> entries = h.entries;
  SafeTensorsFile f = to_file(path, std::move(h));
  if (with_data) {
    // Entries are in offset order here: the reads walk the file forward.
    for (size_t i = 0; i < entries.size(); ++i) {
      f.tensors[i].bytes.resize(entries[i].end - entries[i].begin);
      pread_exact(fd, path, f.tensors[i].bytes.data(), f.tensors[i].bytes.size(),
                  data_start + entries[i].begin);
    }
  }
  sort_by_name(f);
  return f;
}

void check_refs(const std::string& what, const std::vector<SafeTensorRef>& tensors) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (t.name.empty()) bad(what, "cannot write a tensor with an empty name");
    if (t.name == "__metadata__") bad(what, "\"__metadata__\" is reserved, not a tensor name");
    if (!names.insert(t.name).second) bad(what, "tensor " + t.name + ": written twice");
    uint64_t bytes = 0;
    if (!byte_size(t.shape, dtype_size(t.dtype), &bytes))
      bad(what, "tensor " + t.name + ": invalid shape " + shape_str(t.shape));
    if (bytes > 0 && t.data == nullptr) bad(what, "tensor " + t.name + ": no data");
  }
}

// The padded header and the tensors in file order (sorted by name).
std::string build_header(const std::vector<SafeTensorRef>& tensors,
                         const SafeTensorMetadata& metadata,
                         std::vector<const SafeTensorRef*>* order) {
  order->clear();
  for (const auto& t : tensors) order->push_back(&t);
  std::sort(order->begin(), order->end(),
            [](const SafeTensorRef* a, const SafeTensorRef* b) { return a->name < b->name; });
  json h = json::object();
  uint64_t offset = 0;
  for (const SafeTensorRef* t : *order) {
    uint64_t bytes = 0;
    byte_size(t->shape, dtype_size(t->dtype), &bytes);
    h[t->name] = {{"dtype", dtype_name(t->dtype)},
                  {"shape", t->shape},
                  {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

std::string length_prefix(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xff);
  return s;
}

}  // namespace

const char* dtype_name(DType d) { return info(d).name; }
int64_t dtype_size(DType d) { return info(d).size; }

bool dtype_from_name(const std::string& name, DType* out) {
  for (const auto& i : kDTypes)
    if (name == i.name) {
      *out = i.dtype;
      return true;
    }
  return false;
}

const SafeTensor* SafeTensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const SafeTensor& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

const SafeTensor& SafeTensorsFile::at(const std::string& name) const {
  const SafeTensor* t = find(name);
  if (!t) bad(path, "tensor " + name + ": missing");
  return *t;
}

const std::string& SafeTensorsFile::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) bad(path, "__metadata__." + key + ": missing");
  return it->second;
}

std::vector<uint8_t> serialize_safetensors(const std::vector<SafeTensorRef>& tensors,
                                           const SafeTensorMetadata& metadata) {
  check_refs("(in memory)", tensors);
  std::vector<const SafeTensorRef*> order;
  std::string header = build_header(tensors, metadata, &order);
  std::string prefix = length_prefix(header.size());
  std::vector<uint8_t> out(prefix.begin(), prefix.end());
  out.insert(out.end(), header.begin(), header.end());
  for (const SafeTensorRef* t : order) {
    uint64_t bytes = 0;
    byte_size(t->shape, dtype_size(t->dtype), &bytes);
    const auto* p = static_cast<const uint8_t*>(t->data);
    if (bytes) out.insert(out.end(), p, p + bytes);
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                       const SafeTensorMetadata& metadata) {
  check_refs(path, tensors);
  std::vector<const SafeTensorRef*> order;
  std::string header = build_header(tensors, metadata, &order);
  write_file_atomic(path, [&](FileSink& sink) {
    sink.write(length_prefix(header.size()));
    sink.write(header);
    for (const SafeTensorRef* t : order) {
      uint64_t bytes = 0;
      byte_size(t->shape, dtype_size(t->dtype), &bytes);
      if (bytes) sink.write(t->data, size_t(bytes));
    }
  });
}

void write_safetensors(const std::string& path, const std::vector<SafeTensor>& tensors,
                       const SafeTensorMetadata& metadata) {
  std::vector<SafeTensorRef> refs;
  for (const auto& t : tensors) {
    uint64_t bytes = 0;
    if (byte_size(t.shape, dtype_size(t.dtype), &bytes) && bytes != t.bytes.size())
      bad(path, "tensor " + t.name + ": holds " + std::to_string(t.bytes.size()) +
                    " bytes, expected " + std::to_string(bytes) + " for " + dtype_name(t.dtype) +
                    " " + shape_str(t.shape));
    refs.push_back(as_ref(t));
  }
  write_safetensors(path, refs, metadata);
}

SafeTensorsFile read_safetensors(const std::string& path) { return read_impl(path, true); }
SafeTensorsFile read_safetensors_header(const std::string& path) {
  return read_impl(path, false);
}

SafeTensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& what) {
  uint64_t n = check_header_length(what, size, data);
  uint64_t data_start = 8 + n;
  Header h = parse_header(what, data + 8, n, size - data_start);
  std::vector<Entry> entries = h.entries;
  SafeTensorsFile f = to_file(what, std::move(h));
  for (size_t i = 0; i < entries.size(); ++i)
    f.tensors[i].bytes.assign(data + data_start + entries[i].begin,
                              data + data_start + entries[i].end);
  sort_by_name(f);
  return f;
}

SafeTensorRef as_ref(const SafeTensor& t) {
  return SafeTensorRef{t.name, t.dtype, t.shape, t.bytes.empty() ? nullptr : t.bytes.data()};
}

SafeTensorRef f32_ref(const std::string& name, const Tensor& t) {
  return SafeTensorRef{name, DType::F32, t.shape(), t.defined() ? t.data() : nullptr};
}

SafeTensor to_safetensor(const std::string& name, const Tensor& t) {
  SafeTensor s;
  s.name = name;
  s.dtype = DType::F32;
  s.shape = t.shape();
  s.bytes.resize(size_t(t.numel()) * sizeof(float));
  if (t.numel() > 0) std::memcpy(s.bytes.data(), t.data(), s.bytes.size());
  return s;
}

void check_dtype(const SafeTensor& t, DType expected, const std::string& file) {
  if (t.dtype != expected)
    bad(file, "tensor " + t.name + ": expected dtype " + dtype_name(expected) + ", got " +
                  dtype_name(t.dtype));
}

Tensor to_tensor(const SafeTensor& t, const std::string& file, const Shape& expected) {
  check_dtype(t, DType::F32, file);
  if (!expected.empty() && t.shape != expected)
    bad(file, "tensor " + t.name + ": expected shape " + shape_str(expected) + ", got " +
                  shape_str(t.shape));
  Tensor out = Tensor::empty(t.shape);
  if (out.numel() > 0) std::memcpy(out.data(), t.bytes.data(), size_t(out.numel()) * 4);
  return out;
}

}  // namespace wp
