#include <algorithm>
#include <chrono>
#include <cstdio>

#include <omp.h>

#include "winoprune/bench/bench.h"
#include "winoprune/cpu.h"

namespace wp {

namespace {
double timed_ms(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

Timing time_median(const std::function<void()>& fn, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeats, 1); ++i) ms.push_back(timed_ms(fn));
  Timing t;
  t.runs = static_cast<int>(ms.size());
  t.min_ms = *std::min_element(ms.begin(), ms.end());
  t.max_ms = *std::max_element(ms.begin(), ms.end());
  t.median_ms = median_of(ms);
  return t;
}

PairedTiming time_paired(const std::function<void()>& a, const std::function<void()>& b,
                         int warmup, int pairs, int settle) {
  for (int i = 0; i < warmup; ++i) {
    a();
    b();
  }
  auto settled_ms = [settle](const std::function<void()>& fn) {
    for (int i = 0; i < settle; ++i) fn();
    return timed_ms(fn);
  };
  std::vector<double> ta, tb, ratio;
  for (int i = 0; i < std::max(pairs, 1); ++i) {
    double ma, mb;
    if (i % 2 == 0) {
      ma = settled_ms(a);
      mb = settled_ms(b);
    } else {
      mb = settled_ms(b);
      ma = settled_ms(a);
    }
    ta.push_back(ma);
    tb.push_back(mb);
    ratio.push_back(mb / ma);
  }
  PairedTiming t;
  t.runs = static_cast<int>(ratio.size());
  t.ratio_median = median_of(ratio);
  t.a_median_ms = median_of(ta);
  t.b_median_ms = median_of(tb);
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
