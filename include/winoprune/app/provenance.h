#pragma once
// What was run, for report.json's "provenance" object and report.md: two runs of one config
// can be told apart, and a run can be reproduced.
//   {"version": "0.1.0 (<git describe>)", "command": "winoprune run X.json --set seed=2",
//    "overrides": ["seed=2"], "config": "X.json", "seed", "threads", "ranks",
//    "isa": "avx512", "cpu": "<model name>", "host", "started", "finished" (ISO 8601, UTC)}
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"

namespace wp {

// The build's version string (git describe at configure time).
const char* winoprune_version();
// The CPU's model name from /proc/cpuinfo ("" if unknown).
std::string cpu_model_name();
// Now as "2026-12-02T10:51:10Z".
std::string utc_timestamp();

struct Provenance {
  std::string command;                  // the command line as typed (arguments joined)
  std::vector<std::string> overrides;   // --set key=value, in order
  std::string config;                   // the config file ("" when resumed)
  std::string started;                  // utc_timestamp() when the run began
};

// The JSON object above; threads and seed are the run's resolved values.
json provenance_to_json(const Provenance& p, uint64_t seed, int threads);

}  // namespace wp
