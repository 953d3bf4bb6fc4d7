// The bench harness's timing loops (src/bench/harness.cpp): who runs when, and how often. No
// test asserts a time.
#include <catch2/catch.hpp>

#include <string>

#include "winoprune/bench/bench.h"

namespace wp {

TEST_CASE("time_paired warms both up, then alternates which of the pair runs first",
          "[bench]") {
  std::string order;
  const PairedTiming t = time_paired([&] { order += 'a'; }, [&] { order += 'b'; }, 2, 5);
  CHECK(order == "abab" "ab" "ba" "ab" "ba" "ab");
  CHECK(t.runs == 5);
  CHECK(t.ratio_median >= 0.0);
  CHECK(t.a_median_ms >= 0.0);
  CHECK(t.b_median_ms >= 0.0);
}

TEST_CASE("time_paired with settle runs each side untimed before its timed run", "[bench]") {
  std::string order;
  const PairedTiming t = time_paired([&] { order += 'a'; }, [&] { order += 'b'; }, 1, 3, 1);
  CHECK(order == "ab" "aabb" "bbaa" "aabb");
  CHECK(t.runs == 3);
}

TEST_CASE("time_paired runs one pair when asked for none, as time_median runs once",
          "[bench]") {
  int a = 0, b = 0;
  const PairedTiming t = time_paired([&] { ++a; }, [&] { ++b; }, 0, 0);
  CHECK(a == 1);
  CHECK(b == 1);
  CHECK(t.runs == 1);
  int n = 0;
  const Timing m = time_median([&] { ++n; }, 1, 0);
  CHECK(n == 2);
  CHECK(m.runs == 1);
}

}  // namespace wp
