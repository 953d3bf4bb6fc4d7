#pragma once
// The suites of `winoprune bench` (DESIGN.md, bench contract), one file each in src/bench/.
// Each prints a table to `out` as rows complete and returns the JSON envelope with its rows.
#include <ostream>

#include "winoprune/bench/bench.h"

namespace wp {

json bench_conv(const BenchOptions& options, std::ostream& out);    // bench_conv.cpp
json bench_layer(const BenchOptions& options, std::ostream& out);   // bench_layer.cpp
json bench_train(const BenchOptions& options, std::ostream& out);   // bench_train.cpp
json bench_net(const BenchOptions& options, std::ostream& out);     // bench_net.cpp
json bench_loader(const BenchOptions& options, std::ostream& out);  // bench_loader.cpp

}  // namespace wp
