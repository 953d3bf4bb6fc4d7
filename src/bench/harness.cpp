#include <algorithm>
#include <chrono>
#include <cstdio>

#include <omp.h>

#include "winoprune/bench/bench.h"
#include "winoprune/cpu.h"

namespace wp {

Timing time_median(const std::function<void()>& fn, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.runs = static_cast<int>(ms.size());
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  size_t n = ms.size();
  t.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return t;
}

json bench_envelope(const std::string& suite) {
  return json{{"suite", suite},
              {"isa", isa_name(active_isa())},
              {"threads", omp_get_max_threads()},
              {"results", json::array()}};
}

std::string fmt_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace wp
