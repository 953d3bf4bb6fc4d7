// safetensors: round trips, the exact file layout, and rejection of every kind of corruption
// with the file and the tensor/field named. Corrupt files are built by hand here (not with the
// library's writer) so the reader is tested against the format, not against itself.
#include <fstream>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/safetensors.h"

using namespace wp;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir(const std::string& name) { return test::scratch_dir("io", name); }

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return s;
}

// A file with `header` (verbatim) and `data_bytes` bytes of data (value 0xAB).
std::string handmade(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\xab');
}

// Message of the InputError thrown by reading `bytes` from a file, "" if none was thrown.
std::string read_error(const std::string& dir, const std::string& bytes) {
  std::string path = dir + "/bad.safetensors";
  put_bytes(path, bytes);
  try {
    read_safetensors(path);
  } catch (const InputError& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.rfind(path + ": ", 0) == 0);   // every message starts with the file
    // The header-only reader applies the same checks.
    CHECK_THROWS_AS(read_safetensors_header(path), InputError);
    return msg;
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors round trip: F32, U8, F64, I64, empty tensors and metadata", "[io]") {
  std::string dir = scratch_dir("roundtrip");
  std::string path = dir + "/ckpt.safetensors";
  Tensor w = Tensor::from_vector({2, 3}, {1, -2, 3.5f, 4, 5, 6e-8f});
  std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 0, 1};   // odd size: the next tensor is unaligned
  std::vector<double> at = test::random_vector<double>(24, 3);
  std::vector<int64_t> rng_state = {-1, 42, INT64_MAX};
  std::vector<SafeTensor> tensors = {
      to_safetensor("conv3.weight", w),
      make_safetensor<uint8_t>("conv3.weight.mask", {7}, mask),
      make_safetensor<double>("conv3.winograd.AT", {4, 6}, at),
      make_safetensor<int64_t>("rng", {3}, rng_state),
      make_safetensor<float>("empty", {0, 5}, {}),
      make_safetensor<float>("scalar", {}, {2.5f}),
  };
  SafeTensorMetadata meta = {{"format", "winoprune-1"}, {"config", "{\"name\": \"x\"}"},
                             {"epoch", "3"}};
  write_safetensors(path, tensors, meta);

  SafeTensorsFile f = read_safetensors(path);
  REQUIRE(f.tensors.size() == tensors.size());
  for (size_t i = 1; i < f.tensors.size(); ++i) CHECK(f.tensors[i - 1].name < f.tensors[i].name);
  CHECK(f.metadata == meta);
  CHECK(f.meta("epoch") == "3");
  CHECK_THROWS_WITH(f.meta("phase"), Catch::Contains("__metadata__.phase: missing"));
  CHECK_THROWS_WITH(f.at("conv9.weight"), Catch::Contains("tensor conv9.weight: missing"));

  Tensor w2 = to_tensor(f.at("conv3.weight"), path, {2, 3});
  CHECK(w2.to_vector() == w.to_vector());
  CHECK(safetensor_values<uint8_t>(f.at("conv3.weight.mask"), path) == mask);
  CHECK(safetensor_values<double>(f.at("conv3.winograd.AT"), path) == at);
  CHECK(f.at("conv3.winograd.AT").shape == Shape{4, 6});
  CHECK(safetensor_values<int64_t>(f.at("rng"), path) == rng_state);
  CHECK(f.at("empty").shape == Shape{0, 5});
  CHECK(f.at("empty").bytes.empty());
  CHECK(f.at("scalar").shape == Shape{});
  CHECK(safetensor_values<float>(f.at("scalar"), path) == std::vector<float>{2.5f});

  // Wrong dtype / shape on conversion name the file and tensor.
  CHECK_THROWS_WITH(to_tensor(f.at("conv3.weight.mask"), path),
                    Catch::Contains(path + ": tensor conv3.weight.mask: expected dtype F32, got U8"));
  CHECK_THROWS_WITH(to_tensor(f.at("conv3.weight"), path, {3, 2}),
                    Catch::Contains("expected shape [3, 2], got [2, 3]"));

  // Header-only read: same entries, no data.
  SafeTensorsFile h = read_safetensors_header(path);
  CHECK(h.tensors.size() == tensors.size());
  CHECK(h.at("conv3.weight").bytes.empty());
  CHECK(h.metadata == meta);

  // The in-memory serialization is byte-identical to the file, and parses the same.
  std::vector<SafeTensorRef> refs;
  for (const auto& t : tensors) refs.push_back(as_ref(t));
  std::vector<uint8_t> image = serialize_safetensors(refs, meta);
  std::string disk = file_bytes(path);
  CHECK(std::string(image.begin(), image.end()) == disk);
  SafeTensorsFile p = parse_safetensors(image.data(), image.size(), "memory");
  CHECK(p.at("conv3.winograd.AT").bytes == f.at("conv3.winograd.AT").bytes);

  // Borrowed F32 refs write the same bytes as owned copies.
  write_safetensors(dir + "/ref.safetensors", {f32_ref("conv3.weight", w)}, {});
  write_safetensors(dir + "/own.safetensors", {to_safetensor("conv3.weight", w)}, {});
  CHECK(file_bytes(dir + "/ref.safetensors") == file_bytes(dir + "/own.safetensors"));
}

TEST_CASE("safetensors layout: LE length, header padded to 8, sorted contiguous offsets", "[io]") {
  std::string dir = scratch_dir("layout");
  std::string path = dir + "/x.safetensors";
  write_safetensors(path,
                    {make_safetensor<float>("b", {3}, {1, 2, 3}),
                     make_safetensor<uint8_t>("a", {5}, {1, 2, 3, 4, 5}),
                     make_safetensor<double>("c", {1}, {7.0})},
                    {{"k", "v"}});
  std::string bytes = file_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  CHECK(n % 8 == 0);
  REQUIRE(8 + n <= bytes.size());
  std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  CHECK(header.find_last_not_of(' ') + 1 <= header.size());
  auto j = nlohmann::json::parse(header);
  CHECK(j["a"]["data_offsets"] == nlohmann::json::array({0, 5}));
  CHECK(j["b"]["data_offsets"] == nlohmann::json::array({5, 17}));
  CHECK(j["c"]["data_offsets"] == nlohmann::json::array({17, 25}));
  CHECK(j["a"]["dtype"] == "U8");
  CHECK(j["c"]["shape"] == nlohmann::json::array({1}));
  CHECK(j["__metadata__"]["k"] == "v");
  CHECK(bytes.size() == 8 + n + 25);
  // No temp files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += int(bool(e.is_regular_file()));
  CHECK(files == 1);

  // Writer-side validation.
  CHECK_THROWS_AS(write_safetensors(path, {make_safetensor<float>("a", {1}, {1}),
                                           make_safetensor<float>("a", {1}, {2})}, {}),
                  InputError);
  CHECK_THROWS_AS(write_safetensors(path, {make_safetensor<float>("__metadata__", {1}, {1})}, {}),
                  InputError);
  CHECK_THROWS_WITH(write_safetensors(path, {make_safetensor<float>("a", {2, 2}, {1, 2, 3})}, {}),
                    Catch::Contains("tensor a: holds 12 bytes, expected 16 for F32 [2, 2]"));
}

TEST_CASE("safetensors reader rejects every kind of corruption, naming file and field", "[io]") {
  std::string dir = scratch_dir("corrupt");
  const std::string ok =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})";
  // Sanity: the hand-made file itself is valid.
  REQUIRE(read_error(dir, handmade(ok, 12)).empty());

  SECTION("truncated below the length field") {
    CHECK_THAT(read_error(dir, std::string("\x10\x00\x00", 3)),
               Catch::Contains("file is 3 bytes, too short"));
    CHECK_THAT(read_error(dir, ""), Catch::Contains("file is 0 bytes"));
  }
  SECTION("header length beyond the file") {
    std::string bytes = le64(1000) + ok;
    CHECK_THAT(read_error(dir, bytes), Catch::Contains("header length 1000 exceeds the file"));
    CHECK_THAT(read_error(dir, le64(~0ull) + ok), Catch::Contains("exceeds the file"));
  }
  SECTION("truncated data region") {
    CHECK_THAT(read_error(dir, handmade(ok, 10)),
               Catch::Contains("tensor b: data_offsets [8, 12] extend beyond the data region "
                               "(10 bytes)"));
  }
  SECTION("bad JSON and non-object header") {
    CHECK_THAT(read_error(dir, handmade(R"({"a": {"dtype": "F32",)", 0)),
               Catch::Contains("header is not valid JSON"));
    CHECK_THAT(read_error(dir, handmade("[1, 2]", 0)),
               Catch::Contains("header: expected a JSON object"));
    CHECK_THAT(read_error(dir, handmade(ok.substr(0, ok.size() - 1) + R"(,"a":{"dtype":"U8","shape":[0],"data_offsets":[12,12]}})", 12)),
               Catch::Contains("duplicate key \"a\""));
  }
  SECTION("overlapping offsets") {
    std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
    CHECK_THAT(read_error(dir, handmade(h, 8)),
               Catch::Contains("tensors a [0, 8] and b [4, 8] overlap"));
  }
  SECTION("uncovered bytes: a gap, trailing bytes, a hole at the start") {
    std::string gap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"U8","shape":[4],"data_offsets":[10,14]}})";
    CHECK_THAT(read_error(dir, handmade(gap, 14)),
               Catch::Contains("data region bytes [8, 10) are not covered by any tensor"));
    CHECK_THAT(read_error(dir, handmade(ok, 20)),
               Catch::Contains("data region bytes [12, 20) are not covered"));
    std::string start = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
    CHECK_THAT(read_error(dir, handmade(start, 8)),
               Catch::Contains("data region bytes [0, 4) are not covered"));
  }
  SECTION("size does not match dtype and shape") {
    std::string h = R"({"conv3.weight":{"dtype":"F32","shape":[6,6],"data_offsets":[0,100]}})";
    CHECK_THAT(read_error(dir, handmade(h, 100)),
               Catch::Contains("bad.safetensors: tensor conv3.weight: data_offsets [0, 100] cover "
                               "100 bytes, expected 144 for F32 [6, 6]"));
    std::string f64 = R"({"g":{"dtype":"F64","shape":[3],"data_offsets":[0,12]}})";
    CHECK_THAT(read_error(dir, handmade(f64, 12)), Catch::Contains("expected 24 for F64 [3]"));
  }
  SECTION("unknown dtype and malformed fields") {
    std::string h = R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})";
    CHECK_THAT(read_error(dir, handmade(h, 2)), Catch::Contains("tensor a: dtype: unknown \"F8\""));
    std::string neg = R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})";
    CHECK_THAT(read_error(dir, handmade(neg, 2)),
               Catch::Contains("tensor a: shape: expected an array of non-negative integers"));
    std::string rev = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,0]}})";
    CHECK_THAT(read_error(dir, handmade(rev, 2)), Catch::Contains("tensor a: data_offsets: expected"));
    std::string three = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,1,2]}})";
    CHECK_THAT(read_error(dir, handmade(three, 2)), Catch::Contains("tensor a: data_offsets"));
    std::string missing = R"({"a":{"dtype":"U8","shape":[2]}})";
    CHECK_THAT(read_error(dir, handmade(missing, 2)),
               Catch::Contains("tensor a: data_offsets: missing"));
    std::string extra = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}})";
    CHECK_THAT(read_error(dir, handmade(extra, 2)), Catch::Contains("tensor a: unknown field \"x\""));
    std::string notobj = R"({"a":[1,2]})";
    CHECK_THAT(read_error(dir, handmade(notobj, 0)), Catch::Contains("tensor a: expected an object"));
    std::string huge = R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}})";
    CHECK_THAT(read_error(dir, handmade(huge, 8)), Catch::Contains("overflows"));
  }
  SECTION("metadata values must be strings") {
    std::string h = R"({"__metadata__":{"epoch":3},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
    CHECK_THAT(read_error(dir, handmade(h, 1)),
               Catch::Contains("__metadata__.epoch: expected a string, got 3"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(read_safetensors(dir + "/nope.safetensors"),
                      Catch::Contains("nope.safetensors: cannot open"));
  }
}

TEST_CASE("atomic write keeps the old file when the writer throws midway", "[io]") {
  std::string dir = scratch_dir("atomic");
  std::string path = dir + "/latest.safetensors";
  write_safetensors(path, {make_safetensor<float>("w", {2}, {1, 2})}, {{"epoch", "1"}});
  std::string before = file_bytes(path);

  // A writer that dies after writing part of the new content (e.g. out of memory mid-save).
  CHECK_THROWS_WITH(write_file_atomic(path,
                                      [](FileSink& sink) {
                                        sink.write(std::string(3 << 20, 'x'));   // > buffer
                                        throw std::runtime_error("simulated crash");
                                      }),
                    "simulated crash");
  CHECK(file_bytes(path) == before);
  SafeTensorsFile f = read_safetensors(path);
  CHECK(f.meta("epoch") == "1");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);   // the temp file was removed

  // A successful replacement.
  write_text_file_atomic(path, "new");
  CHECK(file_bytes(path) == "new");
  // A directory that does not exist is a runtime failure naming the path.
  CHECK_THROWS_WITH(write_text_file_atomic(dir + "/missing/x.txt", "y"),
                    Catch::Contains(dir + "/missing/x.txt"));
}
