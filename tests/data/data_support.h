#pragma once
// Helpers for the data tests: a temporary folder removed at the end of the test, small files.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support.h"
#include "winoprune/data/dataset.h"

namespace wp::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("wp_data_" + tag + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  REQUIRE(out.good());
}

// Runs fn, requires an InputError whose message contains every one of `parts`.
template <typename F>
void require_input_error(F&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const InputError& e) {
    std::string what = e.what();
    INFO("message: " << what);
    for (const auto& p : parts) CHECK(what.find(p) != std::string::npos);
    return;
  }
  FAIL("expected an InputError containing " << (parts.empty() ? "" : parts[0]));
}

inline DataConfig parse_data(const json& j) {
  JsonReader r(j, "data");
  return parse_data_config(r);
}

}  // namespace wp::test
