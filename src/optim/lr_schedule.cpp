// Learning-rate schedules (formulas in optim/lr_schedule.h).
#include "winoprune/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "winoprune/error.h"

namespace wp {

const char* lr_schedule_type_name(LrScheduleType type) {
  switch (type) {
    case LrScheduleType::constant: return "constant";
    case LrScheduleType::step: return "step";
    case LrScheduleType::multistep: return "multistep";
    case LrScheduleType::poly: return "poly";
    case LrScheduleType::cosine: return "cosine";
  }
  return "?";
}

double lr_at(const LrSchedule& s, int epoch, int64_t iter, int64_t iters_per_epoch) {
  if (iters_per_epoch < 1 || epoch < 0 || iter < 0)
    throw std::invalid_argument("lr_at: epoch " + std::to_string(epoch) + ", iteration " +
                                std::to_string(iter) + " of " + std::to_string(iters_per_epoch));
  const double pi = 3.14159265358979323846;
  const double e = epoch + double(iter) / double(iters_per_epoch);
  const double progress = s.epochs > 0 ? std::min(e / s.epochs, 1.0) : 1.0;
  double lr = s.base_lr;
  switch (s.type) {
    case LrScheduleType::constant:
      break;
    case LrScheduleType::step:
      lr = s.base_lr * std::pow(s.gamma, epoch / std::max(s.step_size, 1));
      break;
    case LrScheduleType::multistep: {
      int passed = 0;
      for (int m : s.milestones) passed += m <= epoch;
      lr = s.base_lr * std::pow(s.gamma, passed);
      break;
    }
    case LrScheduleType::poly:
      lr = s.final_lr + (s.base_lr - s.final_lr) * std::pow(1.0 - progress, s.power);
      break;
    case LrScheduleType::cosine:
      lr = s.final_lr + (s.base_lr - s.final_lr) * 0.5 * (1.0 + std::cos(pi * progress));
      break;
  }
  const int64_t warmup = s.warmup_iterations > 0
                             ? s.warmup_iterations
                             : int64_t(std::ceil(s.warmup_epochs * double(iters_per_epoch)));
  const int64_t i = int64_t(epoch) * iters_per_epoch + iter;
  if (i < warmup) lr *= double(i + 1) / double(warmup);
  return lr;
}

LrSchedule parse_lr_schedule(JsonReader& r, double base_lr, int epochs) {
  LrSchedule s;
  s.base_lr = base_lr;
  s.epochs = epochs;
  const std::string type =
      r.string("type", "constant", {"constant", "step", "multistep", "poly", "cosine"});
  if (type == "step") {
    s.type = LrScheduleType::step;
    if (!r.has("step_size")) r.fail("step_size", "is required for type \"step\" (epochs)");
    s.step_size = static_cast<int>(r.integer("step_size", 1, 1, 1 << 20));
    s.gamma = r.number("gamma", 0.1, 0.0, 1.0, true, false);
  } else if (type == "multistep") {
    s.type = LrScheduleType::multistep;
    const json& v = r.raw("milestones");
    if (!v.is_array() || v.empty())
      r.fail("milestones", "expected a non-empty array of increasing epochs, got " + json_brief(v));
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string key = "milestones[" + std::to_string(i) + "]";
      if (!v[i].is_number_integer() || v[i].get<int64_t>() < 1 || v[i].get<int64_t>() > (1 << 20))
        r.fail(key.c_str(), "expected an epoch in [1, 1048576], got " + json_brief(v[i]));
      int m = static_cast<int>(v[i].get<int64_t>());
      if (!s.milestones.empty() && m <= s.milestones.back())
        r.fail(key.c_str(), "milestones must increase, got " + std::to_string(m) + " after " +
                                std::to_string(s.milestones.back()));
      s.milestones.push_back(m);
    }
    s.gamma = r.number("gamma", 0.1, 0.0, 1.0, true, false);
  } else if (type == "poly") {
    s.type = LrScheduleType::poly;
    s.power = r.number("power", 1.0, 0.0, 100.0, true, false);
    s.final_lr = r.number("final_lr", 0.0, 0.0, base_lr);
  } else if (type == "cosine") {
    s.type = LrScheduleType::cosine;
    s.final_lr = r.number("final_lr", 0.0, 0.0, base_lr);
  }
  if (r.has("warmup_epochs") && r.has("warmup_iterations"))
    r.fail("warmup_iterations", "give warmup_epochs or warmup_iterations, not both");
  s.warmup_epochs = r.number("warmup_epochs", 0.0, 0.0, 1e6);
  s.warmup_iterations = r.integer("warmup_iterations", 0, 0, int64_t(1) << 40);
  r.finish();
  return s;
}

json lr_schedule_to_json(const LrSchedule& s) {
  json j{{"type", lr_schedule_type_name(s.type)}};
  switch (s.type) {
    case LrScheduleType::constant: break;
    case LrScheduleType::step: j["step_size"] = s.step_size; j["gamma"] = s.gamma; break;
    case LrScheduleType::multistep: j["milestones"] = s.milestones; j["gamma"] = s.gamma; break;
    case LrScheduleType::poly: j["power"] = s.power; j["final_lr"] = s.final_lr; break;
    case LrScheduleType::cosine: j["final_lr"] = s.final_lr; break;
  }
  if (s.warmup_iterations > 0) j["warmup_iterations"] = s.warmup_iterations;
  else if (s.warmup_epochs > 0) j["warmup_epochs"] = s.warmup_epochs;
  return j;
}

}  // namespace wp
