// The formulas: AGP (cubic) schedule, fixed steps, per-position and adaptive thresholds, and
// sweep ranges that include their stop.
#include <cmath>

#include "support.h"
#include "winoprune/prune/schedule.h"
#include "winoprune/winograd/transform.h"

using namespace wp;

TEST_CASE("AGP: cubic values at chosen steps, last step exactly final", "[prune][schedule]") {
  // start 0, end 11, frequency 2: steps 0, 2, ..., 10, span 10.
  //   s_t = 0.9 + (0.1 - 0.9) (1 - t/10)^3
  const double si = 0.1, sf = 0.9;
  REQUIRE(*agp_sparsity(si, sf, 0, 11, 2, 0) == si);
  REQUIRE(*agp_sparsity(si, sf, 0, 11, 2, 2) == Approx(0.9 - 0.8 * 0.512).epsilon(1e-12));
  REQUIRE(*agp_sparsity(si, sf, 0, 11, 2, 4) == Approx(0.9 - 0.8 * 0.216).epsilon(1e-12));
  REQUIRE(*agp_sparsity(si, sf, 0, 11, 2, 6) == Approx(0.9 - 0.8 * 0.064).epsilon(1e-12));
  REQUIRE(*agp_sparsity(si, sf, 0, 11, 2, 10) == sf);          // bit-exact
  REQUIRE_FALSE(agp_sparsity(si, sf, 0, 11, 2, 5));             // not a step
  REQUIRE_FALSE(agp_sparsity(si, sf, 0, 11, 2, 11));            // end is exclusive
  REQUIRE_FALSE(agp_sparsity(si, sf, 0, 11, 2, -1));

  // end 10, frequency 2: the last step before the end is 8, so span is 8, not 10: a schedule
  // that used (end - start) would stop at 0.9 - 0.8 * 0.2^3 = 0.8936 and never reach final.
  REQUIRE(*agp_sparsity(0.0, 0.9, 0, 10, 2, 8) == 0.9);
  REQUIRE_FALSE(agp_sparsity(0.0, 0.9, 0, 10, 2, 10));

  // Offsets and frequencies that do not divide the window; the last step is always exact.
  for (int64_t start : {0, 3, 7})
    for (int64_t len : {1, 2, 5, 16, 31})
      for (int64_t freq : {1, 2, 3, 7}) {
        const int64_t end = start + len;
        double prev = -1, last = -1;
        int64_t last_t = -1;
        for (int64_t t = start; t < end; ++t)
          if (auto s = agp_sparsity(0.05, 0.93, start, end, freq, t)) {
            REQUIRE(*s >= prev);   // non-decreasing
            prev = last = *s;
            last_t = t;
          }
        INFO("start " << start << " len " << len << " freq " << freq);
        REQUIRE(last == 0.93);
        REQUIRE(last_t == start + ((len - 1) / freq) * freq);
        REQUIRE(agp_target(0.05, 0.93, start, end, freq, end + 100) == 0.93);
        REQUIRE(agp_target(0.05, 0.93, start, end, freq, start - 1) == 0.05);
      }
  // Between steps the target holds the last step's value.
  REQUIRE(agp_target(si, sf, 0, 11, 2, 5) == *agp_sparsity(si, sf, 0, 11, 2, 4));
}

TEST_CASE("steps schedule: Liu et al.'s densities 0.7, 0.6, ... as sparsities", "[prune][schedule]") {
  std::vector<std::pair<int64_t, double>> s = {{0, 0.3}, {2, 0.4}, {4, 0.5}, {6, 0.6}, {10, 0.9}};
  REQUIRE_FALSE(steps_target({{1, 0.3}}, 0));
  REQUIRE(*steps_target(s, 0) == 0.3);
  REQUIRE(*steps_target(s, 1) == 0.3);
  REQUIRE(*steps_target(s, 2) == 0.4);
  REQUIRE(*steps_target(s, 9) == 0.6);
  REQUIRE(*steps_target(s, 10) == 0.9);
  REQUIRE(*steps_target(s, 1000) == 0.9);
}

TEST_CASE("per-position thresholds of F(4x4,3x3): row norms [1,2,2,9.22,9.22,1], 85x range",
          "[prune][schedule]") {
  auto a = transform_row_gains(4, 3).a;
  REQUIRE(a.size() == 6);
  const double expect[] = {1, 2, 2, std::sqrt(85.0), std::sqrt(85.0), 1};
  for (int p = 0; p < 6; ++p) REQUIRE(a[p] == Approx(expect[p]).epsilon(1e-12));
  REQUIRE(a[3] == Approx(9.22).margin(0.005));

  const double thr0 = 1e-4;
  auto thr = per_position_thresholds(4, 3, thr0);
  REQUIRE(thr.size() == 36);
  for (int p = 0; p < 6; ++p)
    for (int q = 0; q < 6; ++q)
      REQUIRE(thr[p * 6 + q] == Approx(thr0 / (expect[p] * expect[q])).epsilon(1e-12));
  REQUIRE(thr[0] == Approx(thr0));                       // corner (0,0): ||A_0|| = 1
  REQUIRE(thr[1 * 6 + 2] == Approx(thr0 / 4));           // (1,2): 2 * 2
  REQUIRE(thr[3 * 6 + 4] == Approx(thr0 / 85));          // (3,4): 9.22^2 = 85
  auto [lo, hi] = std::minmax_element(thr.begin(), thr.end());
  REQUIRE(*hi / *lo == Approx(85.0).epsilon(1e-12));
  // Ratios between positions do not depend on thr0.
  auto thr2 = per_position_thresholds(4, 3, 3e-3);
  for (int j = 0; j < 36; ++j) REQUIRE(thr2[j] / thr2[0] == Approx(thr[j] / thr[0]));

  // F(2x2,3x3) (points 0, 1, -1, inf): A rows [1,0] [1,1] [1,-1] [0,1].
  auto a2 = transform_row_gains(2, 3).a;
  REQUIRE(a2.size() == 4);
  REQUIRE(a2[0] == Approx(1));
  REQUIRE(a2[1] == Approx(std::sqrt(2.0)));
  REQUIRE(a2[2] == Approx(std::sqrt(2.0)));
  REQUIRE(a2[3] == Approx(1));
}

TEST_CASE("adaptive threshold: 1 / (|g|/thr0 + 1/(factor*thr0))", "[prune][schedule]") {
  const double thr0 = 1e-4, f = 10;
  REQUIRE(adaptive_threshold(0.0, thr0, f) == Approx(f * thr0));              // flat: 10x
  REQUIRE(adaptive_threshold(0.9, thr0, f) == Approx(thr0 / (0.9 + 0.1)));    // = thr0
  REQUIRE(adaptive_threshold(1e-4, thr0, f) == Approx(1.0 / (1.0 + 1e3)));
  // Large gradients: thr -> thr0 / |g| (a weight the loss depends on is cut only when tiny).
  REQUIRE(adaptive_threshold(100.0, thr0, f) == Approx(thr0 / 100.0).epsilon(1e-3));
  REQUIRE(adaptive_threshold(100.0, thr0, f) == Approx(thr0 / (100.0 + 1.0 / f)).epsilon(1e-12));
  // Decreasing in |g|.
  double prev = 1e30;
  for (double g : {0.0, 1e-6, 1e-4, 1e-2, 1.0, 10.0}) {
    double t = adaptive_threshold(g, thr0, f);
    REQUIRE(t < prev);
    prev = t;
  }
}

TEST_CASE("sweep values include stop despite floating point", "[prune][schedule]") {
  auto v = sweep_values(0, 0.95, 0.05);   // 0.95 / 0.05 = 18.999999999999996
  REQUIRE(v.size() == 20);
  REQUIRE(v.front() == 0.0);
  REQUIRE(v.back() == 0.95);
  REQUIRE(v[3] == 0.15);                   // not 0.15000000000000002
  REQUIRE(v[19] == 0.95);
  REQUIRE(sweep_values(0, 0.3, 0.1).size() == 4);   // 0.3 / 0.1 = 2.9999999999999996
  REQUIRE(sweep_values(0, 0.3, 0.1).back() == 0.3);
  REQUIRE(sweep_values(0, 1, 0.1).size() == 11);
  REQUIRE(sweep_values(0, 1, 0.1).back() == 1.0);
  REQUIRE(sweep_values(0.5, 0.5, 0.1) == std::vector<double>{0.5});
  REQUIRE(sweep_values(0.1, 0.35, 0.1) == std::vector<double>{0.1, 0.2, 0.3});  // stop not hit
  REQUIRE(sweep_values(0.2, 0.9, 0.35).size() == 3);
  REQUIRE_THROWS(sweep_values(0, 1, 0));
  REQUIRE_THROWS(sweep_values(1, 0, 0.1));
}
