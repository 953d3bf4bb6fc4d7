#pragma once
// Learning-rate schedules as pure functions of (epoch, iteration within the epoch, iterations
// per epoch), so a resumed run gets the same values. e = epoch + iter / iters_per_epoch is the
// fractional epoch, E the phase's epochs, base the optimizer's lr.
//   constant:   base
//   step:       base * gamma^floor(epoch / step_size)                     (at epoch boundaries)
//   multistep:  base * gamma^(number of milestones <= epoch)              (at epoch boundaries)
//   poly:       final + (base - final) * (1 - e / E)^power                (every iteration)
//   cosine:     final + (base - final) * (1 + cos(pi * e / E)) / 2        (every iteration)
// Linear warm-up (optional, any type): over the first W iterations of the phase
// (W = warmup_iterations, or ceil(warmup_epochs * iters_per_epoch)) the value above is scaled
// by (i + 1) / W, i the iteration counted from the phase start, reaching it fully at i = W - 1.
#include <cstdint>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"

namespace wp {

enum class LrScheduleType { constant, step, multistep, poly, cosine };

struct LrSchedule {
  LrScheduleType type = LrScheduleType::constant;
  double base_lr = 0.01;
  int epochs = 1;                  // phase length E (poly, cosine)
  double gamma = 0.1;              // step, multistep
  int step_size = 1;               // step: epochs between decays
  std::vector<int> milestones;     // multistep: strictly increasing epochs
  double power = 1.0;              // poly
  double final_lr = 0.0;           // poly, cosine: value at e = E
  double warmup_epochs = 0.0;      // warm-up length in epochs (fractional allowed) ...
  int64_t warmup_iterations = 0;   // ... or in iterations (at most one of the two is set)
};

const char* lr_schedule_type_name(LrScheduleType type);

// The learning rate for iteration `iter` (0-based) of epoch `epoch` (0-based within the phase).
double lr_at(const LrSchedule& s, int epoch, int64_t iter, int64_t iters_per_epoch);

// The "lr_schedule" object: {"type": "constant"|"step"|"multistep"|"poly"|"cosine",
// "step_size", "gamma", "milestones", "power", "final_lr", "warmup_epochs" | "warmup_iterations"};
// only the keys of the chosen type are accepted. base_lr is the optimizer's lr, epochs the
// phase's. Errors name the JSON path; calls reader.finish().
LrSchedule parse_lr_schedule(JsonReader& reader, double base_lr, int epochs);
json lr_schedule_to_json(const LrSchedule& s);

}  // namespace wp
