#pragma once
// Errors are values carried by exceptions and caught at the CLI (tools/winoprune.cpp), which
// prints them and exits. Library code never prints and exits.
//   InputError   -> exit 2: bad usage or bad input (config, file, shape). The message names the
//                   file, JSON path or record at fault and what was expected.
//   anything else (std::exception) -> exit 1: a runtime failure.
#include <stdexcept>
#include <string>

namespace wp {

struct InputError : std::runtime_error {
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace wp
