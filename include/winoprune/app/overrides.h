#pragma once
// `--set key.path=value` overrides, applied to the raw config JSON before validation.
//   key.path: dot-separated keys; array elements as "phases[2]" or "phases.2".
//   value:    parsed as JSON; if that fails, taken as a string (so --set data.root=/x works).
// Missing intermediate objects are created; validation afterwards rejects unknown keys.
#include <string>

#include "winoprune/io/json_reader.h"

namespace wp {

void apply_override(json& config, const std::string& assignment);

}  // namespace wp
