// Parsing of "pruners" / "policies": defaults, round trip, and errors that name the JSON path.
#include "support.h"
#include "winoprune/prune/config.h"

using namespace wp;

namespace {

PruningConfig parse(const std::string& text, const std::string& path = "phases[2]") {
  json j = json::parse(text);
  JsonReader phase(j, path);
  PruningConfig c = parse_pruning_config(phase);
  phase.finish();
  return c;
}

// The message of the InputError that parsing `text` throws ("" if none).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("pruning config: every pruner type with defaults and policies", "[prune][config]") {
  PruningConfig c = parse(R"({
    "pruners": {
      "m1": {"type": "magnitude", "layers": ["conv2", "conv3"], "sparsity": 0.5},
      "m2": {"type": "magnitude", "sparsity": {"fc6": 0.9, "fc7": 0.8}},
      "g1": {"type": "gradual", "regex": "conv[4-5]", "final_sparsity": 0.9, "global": true},
      "s1": {"type": "steps", "layers": ["fc8"], "schedule": [[0, 0.3], [2, 0.4], [4, 0.6]]},
      "t1": {"type": "threshold", "layers": "winograd", "adaptive": true, "gradient": "rms",
             "rms_decay": 0.9}
    },
    "policies": [
      {"pruner": "m1", "start": 1},
      {"pruner": "m2"},
      {"pruner": "g1", "start": 0, "end": 10, "frequency": 2},
      {"pruner": "s1", "unit": "iteration"},
      {"pruner": "t1", "start": 2, "end": 5}
    ]})");
  REQUIRE(c.pruners.size() == 5);
  // Pruners come out in key order (nlohmann::json objects are sorted).
  const PrunerConfig* by[5];
  for (auto& p : c.pruners) {
    const char* names[] = {"g1", "m1", "m2", "s1", "t1"};
    for (int i = 0; i < 5; ++i)
      if (p.name == names[i]) by[i] = &p;
  }
  auto& g1 = std::get<GradualSpec>(by[0]->spec);
  REQUIRE(g1.initial_sparsity == 0.0);
  REQUIRE(g1.final_sparsity == 0.9);
  REQUIRE(g1.ranking.global);
  REQUIRE(by[0]->layers.regex == "conv[4-5]");
  REQUIRE(by[0]->path == "phases[2].pruners.g1");
  auto& m1 = std::get<MagnitudeSpec>(by[1]->spec);
  REQUIRE(m1.sparsity == 0.5);
  REQUIRE_FALSE(m1.ranking.global);
  REQUIRE(by[1]->layers.names == std::vector<std::string>{"conv2", "conv3"});
  auto& m2 = std::get<MagnitudeSpec>(by[2]->spec);
  REQUIRE(m2.per_layer.size() == 2);
  REQUIRE(by[2]->layers.names == std::vector<std::string>{"fc6", "fc7"});   // from the keys
  auto& s1 = std::get<StepsSpec>(by[3]->spec);
  REQUIRE(s1.schedule.size() == 3);
  REQUIRE(s1.schedule[2] == std::pair<int64_t, double>{4, 0.6});
  auto& t1 = std::get<ThresholdSpec>(by[4]->spec);
  REQUIRE(pruner_ranking(by[4]->spec) == nullptr);   // ranking options are the mask pruners'
  REQUIRE(by[4]->layers.all_winograd);
  REQUIRE(t1.thr0 == 1e-4);
  REQUIRE(t1.factor == 10);
  REQUIRE(t1.l1 == 5e-5);
  REQUIRE(t1.per_position);
  REQUIRE(t1.adaptive);
  REQUIRE(t1.gradient_rms);
  REQUIRE(t1.rms_decay == 0.9);

  REQUIRE(c.policies.size() == 5);
  REQUIRE(c.policies[0].start == 1);
  REQUIRE(c.policies[0].end == -1);
  REQUIRE(c.policies[0].frequency == 1);
  REQUIRE(c.policies[0].unit == PruneUnit::epoch);
  REQUIRE(c.pruners[c.policies[2].pruner_index].name == "g1");
  REQUIRE(c.policies[2].end == 10);
  REQUIRE(c.policies[2].frequency == 2);
  REQUIRE(c.policies[3].unit == PruneUnit::iteration);
  REQUIRE(c.policies[4].path == "phases[2].policies[4]");

  // Resolved JSON reads back to the same JSON.
  json out = pruning_config_to_json(c);
  json phase = out;
  JsonReader r(phase, "phases[0]");
  PruningConfig again = parse_pruning_config(r);
  r.finish();
  REQUIRE(pruning_config_to_json(again) == out);
}

TEST_CASE("pruning config: no policies means one default policy per pruner", "[prune][config]") {
  PruningConfig c = parse(R"({"pruners": {"a": {"type": "magnitude", "layers": "winograd",
                                                   "sparsity": 0.6}}})");
  REQUIRE(c.policies.size() == 1);
  REQUIRE(c.policies[0].pruner == "a");
  REQUIRE(c.policies[0].start == 0);
  REQUIRE(c.policies[0].end == -1);
  REQUIRE(parse("{}").empty());
}

TEST_CASE("pruning config errors name the JSON path and the expectation", "[prune][config]") {
  REQUIRE(error_of(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"],
                                          "final_sparsity": 1.5}}})") ==
          "phases[2].pruners.g1.final_sparsity: expected a number in [0, 1), got 1.5");
  REQUIRE(error_of(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"],
                                          "final_sparsity": 0.9, "fnial": 1}}})")
              .rfind("phases[2].pruners.g1.fnial: unknown key", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"]}}})") ==
          "phases[2].pruners.g1.final_sparsity: is required (a number in [0, 1))");
  REQUIRE(error_of(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"],
                         "initial_sparsity": 0.5, "final_sparsity": 0.2}}})")
              .rfind("phases[2].pruners.g1.final_sparsity: must be >= initial_sparsity", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitud", "layers": ["conv2"]}}})") ==
          "phases[2].pruners.p.type: expected one of \"magnitude\", \"gradual\", \"steps\", "
          "\"threshold\", got \"magnitud\"");
  REQUIRE(error_of(R"({"pruners": {"p": {"layers": ["conv2"]}}})")
              .rfind("phases[2].pruners.p.type: is required", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "sparsity": 0.5}}})")
              .rfind("phases[2].pruners.p.layers: is required", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": "all",
                                         "sparsity": 0.5}}})")
              .rfind("phases[2].pruners.p.layers: expected an array of layer names or "
                     "\"winograd\"", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "regex": "conv[2-",
                                         "sparsity": 0.5}}})")
              .rfind("phases[2].pruners.p.regex: invalid regular expression \"conv[2-\"", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "regex": "conv", "layers": ["a"],
                                         "sparsity": 0.5}}})")
              .rfind("phases[2].pruners.p.regex: give either", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "sparsity": {"conv2": 1.0}}}})") ==
          "phases[2].pruners.p.sparsity.conv2: expected a number in [0, 1), got 1.0");
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "sparsity": {"conv2": 0.5},
                                         "global": true}}})")
              .rfind("phases[2].pruners.p.global: one global threshold needs", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"s": {"type": "steps", "layers": ["fc6"],
                                         "schedule": [[0, 0.7], [2, 0.6]]}}})")
              .rfind("phases[2].pruners.s.schedule[1][1]: sparsity must not decrease", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"s": {"type": "steps", "layers": ["fc6"],
                                         "schedule": [[0, 0.3], [0, 0.6]]}}})")
              .rfind("phases[2].pruners.s.schedule[1][0]: t must increase", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"s": {"type": "steps", "layers": ["fc6"],
                                         "schedule": [[0, 1.3]]}}})") ==
          "phases[2].pruners.s.schedule[0][1]: expected a number in [0, 1), got 1.3");
  REQUIRE(error_of(R"({"pruners": {"s": {"type": "steps", "layers": ["fc6"],
                                         "schedule": [0.3]}}})") ==
          "phases[2].pruners.s.schedule[0]: expected [t, sparsity], got 0.3");
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
                                         "thr0": 0}}})") ==
          "phases[2].pruners.t.thr0: expected a number in (0, 1], got 0");
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
                                         "gradient": "rms"}}})") ==
          "phases[2].pruners.t.gradient: \"rms\" averages the gradient of the adaptive "
          "threshold; it needs \"adaptive\": true");
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
                                         "adaptive": true, "gradient": "mean"}}})") ==
          "phases[2].pruners.t.gradient: expected one of \"step\", \"rms\", got \"mean\"");
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
                                         "adaptive": true, "rms_decay": 0.9}}})") ==
          "phases[2].pruners.t.rms_decay: needs \"gradient\": \"rms\"");
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
                                         "adaptive": true, "gradient": "rms",
                                         "rms_decay": 1}}})") ==
          "phases[2].pruners.t.rms_decay: expected a number in (0, 1), got 1");

  const std::string one = R"("pruners": {"g1": {"type": "magnitude", "layers": ["conv2"],
                                                 "sparsity": 0.5}})";
  REQUIRE(error_of("{" + one + R"(, "policies": [{"pruner": "g2"}]})") ==
          "phases[2].policies[0].pruner: unknown pruner \"g2\" (this phase defines: g1)");
  REQUIRE(error_of("{" + one + R"(, "policies": [{"pruner": "g1", "unit": "epochs"}]})") ==
          "phases[2].policies[0].unit: expected one of \"epoch\", \"iteration\", got \"epochs\"");
  REQUIRE(error_of("{" + one + R"(, "policies": [{"pruner": "g1", "start": 4, "end": 4}]})") ==
          "phases[2].policies[0].end: must be > start (4), got 4");
  REQUIRE(error_of("{" + one + R"(, "policies": [{"pruner": "g1", "frequency": 0}]})")
              .rfind("phases[2].policies[0].frequency: expected an integer in [1, ", 0) == 0);
  REQUIRE(error_of("{" + one + R"(, "policies": [{"pruner": "g1", "strat": 1}]})")
              .rfind("phases[2].policies[0].strat: unknown key", 0) == 0);
  REQUIRE(error_of("{" + one + R"(, "policies": []})")
              .rfind("phases[2].policies: pruner \"g1\" is used by no policy", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"]}},
                      "policies": [{"pruner": "t", "frequency": 2}]})")
              .rfind("phases[2].policies[0].frequency: the threshold pruner", 0) == 0);
  REQUIRE(error_of(R"({"pruners": [], "policies": []})") ==
          "phases[2].pruners: expected an object, got an array of 0");
}

TEST_CASE("an unknown key's message lists every key the object accepts, absent ones too",
          "[prune][config]") {
  CHECK_THAT(error_of(R"({"pruners": {"t": {"type": "threshold", "layers": ["conv2"],
                                             "bogus": 1}}})"),
             Catch::StartsWith("phases[2].pruners.t.bogus: unknown key (expected one of: "
                               "adaptive, factor, final_sparsity, gradient, initial_sparsity, "
                               "l1, layers, per_position, regex, rms_decay, thr0, type)"));
  CHECK_THAT(error_of(R"({"pruners": {"g": {"type": "gradual", "regex": "conv.*",
                                             "final_sparsity": 0.5, "bogus": 1}}})"),
             Catch::StartsWith("phases[2].pruners.g.bogus: unknown key (expected one of: "
                               "final_sparsity, global, initial_sparsity, layers, "
                               "position_scale, regex, saliency, type)"));
  CHECK_THAT(error_of(R"({"pruners": {"g": {"type": "gradual", "layers": ["conv2"],
                                             "final_sparsity": 0.5}},
                          "policies": [{"pruner": "g", "bogus": 1}]})"),
             Catch::StartsWith("phases[2].policies[0].bogus: unknown key (expected one of: "
                               "end, frequency, pruner, start, unit)"));
}
