#pragma once
// What every fuzz harness shares. A harness feeds one input to one of winoprune's readers, the
// way the tool itself would, and classifies the outcome:
//   - accepted, or rejected with wp::InputError (the reader's "bad input, exit 2" path): fine;
//   - any other exception (std::out_of_range from a stray .at(), nlohmann's parse_error, a
//     std::length_error from a size taken on trust, ...) is a bug: the harness prints it and
//     aborts, which libFuzzer reports as a crash and the replay test as a failure;
//   - memory errors and undefined behaviour are caught by ASan/UBSan in the fuzz build
//     (tools/fuzz.sh) and by the sanitizer build of the replay tests (tools/check.sh --sanitize).
//
// Built two ways (tests/CMakeLists.txt):
//   - with clang -fsanitize=fuzzer: libFuzzer's main drives LLVMFuzzerTestOneInput;
//   - as a plain ctest (any compiler): replay_main.cpp runs every file of the checked-in corpus
//     tests/fuzz/corpus/<harness>/ (seeds plus the reproducers of every bug found) through it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "winoprune/error.h"

namespace wp::fuzz {

template <typename F>
int run_one(F&& body) {
  try {
    body();
  } catch (const wp::InputError&) {
    // Rejected as bad input, with a message: what a corrupt or hostile file must get.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: unexpected exception (not an InputError): %s\n", e.what());
    std::abort();
  }
  return 0;
}

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace wp::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
