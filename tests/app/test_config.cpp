#include "support.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/overrides.h"

using namespace wp;

namespace {

json minimal_config() {
  return json::parse(R"({
    "name": "t", "seed": 3,
    "data": {"dataset": "fashion-mnist", "batch": 32},
    "model": {"arch": "alexnet-small", "widths": [8, 8, 8, 8, 8], "fc_widths": [16, 16]},
    "phases": [
      {"type": "train", "epochs": 1, "optimizer": {"lr": 0.01}},
      {"type": "convert", "layers": ["conv2", "conv3"], "m": {"conv2": 2}},
      {"type": "prune", "epochs": 1,
       "pruners": {"p": {"type": "magnitude", "layers": "winograd", "sparsity": 0.5}}},
      {"type": "finetune", "epochs": 1},
      {"type": "eval", "kernel": "dense"}
    ]})");
}

std::string error_of(const json& j) {
  try {
    parse_experiment(j, "x.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("set overrides parse JSON values, fall back to strings, create keys", "[app]") {
  json j = minimal_config();
  apply_override(j, "seed=7");
  apply_override(j, "data.root=/some/path");
  apply_override(j, "phases[0].epochs=3");
  apply_override(j, "phases.2.pruners.p.sparsity=0.75");
  apply_override(j, "model.widths=[4,4,4,4,4]");
  REQUIRE(j["seed"] == 7);
  REQUIRE(j["data"]["root"] == "/some/path");
  REQUIRE(j["phases"][0]["epochs"] == 3);
  REQUIRE(j["phases"][2]["pruners"]["p"]["sparsity"] == 0.75);
  REQUIRE(j["model"]["widths"].size() == 5);
  REQUIRE_THROWS_WITH(apply_override(j, "phases[9].epochs=1"), Catch::Contains("phases[9]"));
  REQUIRE_THROWS_AS(apply_override(j, "noequals"), InputError);
  REQUIRE_THROWS_WITH(apply_override(j, "seed.x=1"), Catch::Contains("not an object"));
}

TEST_CASE("experiment config: defaults, names and the resolved round trip", "[app]") {
  ExperimentConfig x = parse_experiment(minimal_config(), "x.json");
  REQUIRE(x.phases.size() == 5);
  REQUIRE(x.phases[1].as<ConvertPhase>()->m ==
          std::vector<std::pair<std::string, int>>{{"conv2", 2}, {"conv3", 4}});
  REQUIRE(x.phases[4].as<EvalPhase>()->kernel == InferenceKernel::dense);
  const PhaseType types[] = {PhaseType::train, PhaseType::convert, PhaseType::prune,
                             PhaseType::finetune, PhaseType::eval};
  for (size_t i = 0; i < 5; ++i) CHECK(x.phases[i].type() == types[i]);
  CHECK(x.phases[3].as<FinetunePhase>()->masked_products);
  CHECK(x.phases[2].as<PrunePhase>()->shortfall_is_error);
  CHECK_FALSE(x.phases[1].training());
  CHECK(x.phases[1].epochs() == 0);
  CHECK(x.phases[3].epochs() == 1);
  REQUIRE(x.phases[2].name == "prune");
  // The spatial preconditioner: on in train phases, off by default once masks exist.
  REQUIRE(x.phases[0].training()->optimizer.spatial_preconditioner == 1.0);
  REQUIRE(x.phases[2].training()->optimizer.spatial_preconditioner == 0.0);
  REQUIRE(x.phases[3].training()->optimizer.spatial_preconditioner == 0.0);
  json explicit_on = minimal_config();
  explicit_on["phases"][3]["optimizer"] = {{"spatial_preconditioner", 0.5}};
  REQUIRE(parse_experiment(explicit_on, "x.json").phases[3].training()->optimizer.spatial_preconditioner ==
          0.5);
  json resolved = experiment_to_json(x);
  ExperimentConfig y = parse_experiment(resolved, "config.json");
  REQUIRE(experiment_to_json(y) == resolved);

  json twice = minimal_config();
  twice["phases"].push_back(twice["phases"][0]);
  REQUIRE(parse_experiment(twice, "x.json").phases.back().name == "train2");
}

TEST_CASE("experiment config errors name the file and the JSON path", "[app]") {
  json j = minimal_config();
  j["phases"][3]["epochz"] = 1;
  REQUIRE_THAT(error_of(j), Catch::StartsWith("x.json: phases[3].epochz: unknown key"));

  j = minimal_config();
  j["phases"][2]["pruners"]["p"]["sparsity"] = 1.5;
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[2].pruners.p.sparsity") &&
                                Catch::Contains("1.5"));

  j = minimal_config();
  j["phases"][0].erase("epochs");
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[0].epochs: is required"));

  j = minimal_config();
  j["phases"][4]["kernel"] = "fast";
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[4].kernel: expected one of"));

  j = minimal_config();
  j["phases"][1]["m"] = "four";
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[1].m"));

  j = minimal_config();
  j["data"]["batch"] = -1;
  REQUIRE_THAT(error_of(j), Catch::Contains("data.batch"));

  j = minimal_config();
  j["phases"] = json::array();
  REQUIRE_THAT(error_of(j), Catch::Contains("phases: expected a non-empty array"));

  j = minimal_config();
  j["bogus"] = true;
  REQUIRE_THAT(error_of(j), Catch::Contains("bogus: unknown key"));

  // An unknown key's message lists every key the phase accepts, the absent optional ones too.
  j = minimal_config();
  j["phases"][2]["bogus"] = 1;
  REQUIRE_THAT(error_of(j), Catch::StartsWith("x.json: phases[2].bogus: unknown key (expected one "
                                              "of: distill, epochs, eval_every, init, "
                                              "lr_schedule, name, on_sparsity_shortfall, "
                                              "optimizer, policies, pruners, sparse_forward, "
                                              "type)"));
  j = minimal_config();
  j["phases"][3]["bogus"] = 1;
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[3].bogus: unknown key (expected one of: "
                                            "distill, epochs, eval_every, init, lr_schedule, "
                                            "masked_products, name, optimizer, type)"));
  j = minimal_config();
  j["phases"][1].erase("m");
  j["phases"][1]["bogus"] = 1;
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[1].bogus: unknown key (expected one of: "
                                            "init, layers, m, name, type)"));
  j = minimal_config();
  j["phases"][4] = json{{"type", "sensitivity"}, {"layers", "winograd"}, {"bogus", 1}};
  REQUIRE_THAT(error_of(j), Catch::Contains("phases[4].bogus: unknown key (expected one of: "
                                            "init, kernel, layers, name, position_scale, range, "
                                            "regex, type)"));
}

TEST_CASE("distill: the teacher names an earlier phase or a file, errors name the JSON path",
          "[app][distill]") {
  json j = minimal_config();
  j["phases"][2]["distill"] = json{{"teacher", "convert"}, {"temperature", 3}, {"weight", 0.7}};
  ExperimentConfig x = parse_experiment(j, "x.json");
  REQUIRE(x.phases[2].training()->distill);
  CHECK(x.phases[2].training()->distill->teacher_is_phase);
  CHECK(x.phases[2].training()->distill->temperature == 3);
  CHECK(x.phases[2].training()->distill->weight == 0.7);
  CHECK_FALSE(x.phases[3].training()->distill);
  // The resolved config reads back to the same experiment.
  ExperimentConfig y = parse_experiment(experiment_to_json(x), "x.json");
  REQUIRE(y.phases[2].training()->distill);
  CHECK(y.phases[2].training()->distill->teacher == "convert");
  CHECK(y.phases[2].training()->distill->weight == 0.7);
  // null switches it off (a --set on a config that distills).
  json off = j;
  off["phases"][2]["distill"] = nullptr;
  CHECK_FALSE(parse_experiment(off, "x.json").phases[2].training()->distill);

  j["phases"][2]["distill"] = json{{"teacher", "finetune"}};   // a later phase
  CHECK_THAT(error_of(j), Catch::Contains("x.json: phases[2].distill.teacher: expected the name of "
                                          "an earlier phase (train, convert)"));
  j["phases"][2]["distill"] = json{{"temperature", 2}};
  CHECK_THAT(error_of(j), Catch::Contains("phases[2].distill.teacher: is required"));
  j["phases"][2]["distill"] = json{{"teacher", "convert"}, {"weight", 1.5}};
  CHECK_THAT(error_of(j), Catch::Contains("phases[2].distill.weight"));
  j["phases"][2]["distill"] = json{{"teacher", "convert"}, {"temperature", 0}};
  CHECK_THAT(error_of(j), Catch::Contains("phases[2].distill.temperature"));
  j["phases"][2]["distill"] = json{{"teacher", "convert"}, {"alpha", 0.5}};
  CHECK_THAT(error_of(j), Catch::Contains("phases[2].distill"));
  CHECK_THAT(error_of(j), Catch::Contains("alpha"));
}
