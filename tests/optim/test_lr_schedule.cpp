// Learning-rate schedules: values at chosen points, warm-up, config errors.
#include "support.h"
#include "winoprune/optim/lr_schedule.h"

using namespace wp;

namespace {

LrSchedule parse(const std::string& text, double base = 0.1, int epochs = 10) {
  JsonReader r(json::parse(text), "phases[0].lr_schedule");
  return parse_lr_schedule(r, base, epochs);
}

std::string error(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("lr schedules at chosen points", "[nn][lr]") {
  const int64_t ipe = 100;   // iterations per epoch
  LrSchedule c = parse("{}");
  REQUIRE(lr_at(c, 7, 50, ipe) == Approx(0.1));

  LrSchedule s = parse(R"({"type": "step", "step_size": 3, "gamma": 0.5})");
  REQUIRE(lr_at(s, 0, 0, ipe) == Approx(0.1));
  REQUIRE(lr_at(s, 2, 99, ipe) == Approx(0.1));
  REQUIRE(lr_at(s, 3, 0, ipe) == Approx(0.05));
  REQUIRE(lr_at(s, 6, 10, ipe) == Approx(0.025));

  LrSchedule m = parse(R"({"type": "multistep", "milestones": [2, 5]})");
  REQUIRE(lr_at(m, 1, 99, ipe) == Approx(0.1));
  REQUIRE(lr_at(m, 2, 0, ipe) == Approx(0.01));
  REQUIRE(lr_at(m, 4, 50, ipe) == Approx(0.01));
  REQUIRE(lr_at(m, 5, 0, ipe) == Approx(0.001));

  // poly, power 2, 10 epochs: at e = 2.5, (1 - 0.25)^2 = 0.5625
  LrSchedule p = parse(R"({"type": "poly", "power": 2})");
  REQUIRE(lr_at(p, 0, 0, ipe) == Approx(0.1));
  REQUIRE(lr_at(p, 2, 50, ipe) == Approx(0.1 * 0.5625));
  REQUIRE(lr_at(p, 9, 99, ipe) == Approx(0.1 * 1e-6).margin(1e-12));

  // cosine to 0.01 over 10 epochs: half way (e = 5) is the mean 0.055; e = 2.5 -> 0.01 + 0.09 *
  // (1 + cos(pi/4)) / 2
  LrSchedule k = parse(R"({"type": "cosine", "final_lr": 0.01})");
  REQUIRE(lr_at(k, 0, 0, ipe) == Approx(0.1));
  REQUIRE(lr_at(k, 5, 0, ipe) == Approx(0.055));
  REQUIRE(lr_at(k, 2, 50, ipe) == Approx(0.01 + 0.09 * (1 + std::sqrt(0.5)) / 2));
  REQUIRE(lr_at(k, 10, 0, ipe) == Approx(0.01));

  // Warm-up over 2 epochs = 200 iterations: (i + 1) / 200 times the cosine value.
  LrSchedule w = parse(R"({"type": "cosine", "warmup_epochs": 2})");
  REQUIRE(lr_at(w, 0, 0, ipe) == Approx(0.1 / 200));
  REQUIRE(lr_at(w, 0, 99, ipe) == Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.099)) * 100 / 200));
  REQUIRE(lr_at(w, 1, 99, ipe) == Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.199))));
  REQUIRE(lr_at(w, 2, 0, ipe) == Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.2))));
  LrSchedule wi = parse(R"({"type": "step", "step_size": 1, "warmup_iterations": 10})");
  REQUIRE(lr_at(wi, 0, 4, ipe) == Approx(0.1 * 5 / 10));
  REQUIRE(lr_at(wi, 0, 9, ipe) == Approx(0.1));
  REQUIRE(lr_at(wi, 1, 0, ipe) == Approx(0.01));

  // A round trip through JSON keeps the values.
  for (const LrSchedule* x : {&c, &s, &m, &p, &k, &w, &wi}) {
    JsonReader r(lr_schedule_to_json(*x), "x");
    LrSchedule y = parse_lr_schedule(r, 0.1, 10);
    for (int e = 0; e < 10; ++e) REQUIRE(lr_at(y, e, 17, ipe) == lr_at(*x, e, 17, ipe));
  }
}

TEST_CASE("lr schedule config errors name the JSON path", "[nn][lr]") {
  CHECK_THAT(error(R"({"type": "exp"})"), Catch::Contains("phases[0].lr_schedule.type: expected one of"));
  CHECK_THAT(error(R"({"type": "step"})"), Catch::Contains("phases[0].lr_schedule.step_size: is required"));
  CHECK_THAT(error(R"({"type": "step", "step_size": 2, "milestones": [3]})"),
             Catch::Contains("phases[0].lr_schedule.milestones: unknown key"));
  CHECK_THAT(error(R"({"type": "multistep", "milestones": [3, 3]})"),
             Catch::Contains("phases[0].lr_schedule.milestones[1]: milestones must increase"));
  CHECK_THAT(error(R"({"type": "multistep", "milestones": [3, "x"]})"),
             Catch::Contains("phases[0].lr_schedule.milestones[1]: expected an epoch"));
  CHECK_THAT(error(R"({"type": "multistep"})"), Catch::Contains("phases[0].lr_schedule.milestones: is required"));
  CHECK_THAT(error(R"({"type": "cosine", "final_lr": 0.5})"),
             Catch::Contains("phases[0].lr_schedule.final_lr: expected a number in [0, 0.1]"));
  CHECK_THAT(error(R"({"type": "poly", "warmup_epochs": 1, "warmup_iterations": 5})"),
             Catch::Contains("phases[0].lr_schedule.warmup_iterations: give warmup_epochs or"));
  CHECK_THAT(error(R"({"type": "step", "step_size": 2, "gamma": 0})"),
             Catch::Contains("phases[0].lr_schedule.gamma: expected a number in (0, 1]"));
}
