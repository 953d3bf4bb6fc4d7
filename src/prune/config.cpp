// Parsing of a phase's "pruners" and "policies" (include/winoprune/prune/config.h).
#include "winoprune/prune/config.h"

#include <regex>
#include <set>

#include "winoprune/error.h"

namespace wp {

namespace {

// Sparsities are absolute fractions in [0, 1): 1 would delete the layer.
constexpr double kSparsityHi = 1.0;

Saliency parse_saliency_key(JsonReader& r) {
  return r.string("saliency", "magnitude", {"magnitude", "fisher"}) == "fisher"
             ? Saliency::fisher
             : Saliency::magnitude;
}

const char* saliency_name(Saliency s) { return s == Saliency::fisher ? "fisher" : "magnitude"; }

RankingOptions parse_ranking(JsonReader& r) {
  RankingOptions o;
  o.global = r.boolean("global", false);
  o.position_scale = parse_position_scale_key(r);
  o.saliency = parse_saliency_key(r);
  return o;
}

void ranking_to_json(const RankingOptions& o, json& j) {
  j["global"] = o.global;
  j["position_scale"] = position_scale_name(o.position_scale);
  j["saliency"] = saliency_name(o.saliency);
}

double sparsity_value(const json& v, const std::string& where) {
  if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() < kSparsityHi))
    throw InputError(where + ": expected a number in [0, 1), got " + json_brief(v));
  return v.get<double>();
}

MagnitudeSpec parse_magnitude(JsonReader& r, LayerSelection& layers) {
  MagnitudeSpec spec;
  if (!r.has("sparsity")) r.fail("sparsity", "is required (a number in [0, 1) or {layer: number})");
  if (r.raw("sparsity").is_object()) {
    JsonReader per = r.object("sparsity");
    for (auto it = per.value().begin(); it != per.value().end(); ++it)
      spec.per_layer.emplace_back(it.key(), per.number(it.key().c_str(), 0, 0, 1, false, true));
    if (spec.per_layer.empty()) r.fail("sparsity", "expected at least one layer");
    // Without an explicit selection the object's keys are the selection.
    if (layers.names.empty() && !layers.all_winograd && layers.regex.empty())
      for (auto& [name, s] : spec.per_layer) layers.names.push_back(name);
  } else {
    spec.sparsity = r.number("sparsity", 0, 0, 1, false, true);
  }
  spec.ranking = parse_ranking(r);
  if (spec.ranking.global && !spec.per_layer.empty())
    r.fail("global", "one global threshold needs one \"sparsity\" number, not one per layer");
  return spec;
}

GradualSpec parse_gradual(JsonReader& r) {
  GradualSpec spec;
  spec.initial_sparsity = r.number("initial_sparsity", 0, 0, 1, false, true);
  auto f = r.optional_number("final_sparsity", 0, 1, false, true);
  if (!f) r.fail("final_sparsity", "is required (a number in [0, 1))");
  spec.final_sparsity = *f;
  if (spec.final_sparsity < spec.initial_sparsity)
    r.fail("final_sparsity", "must be >= initial_sparsity (" + json(spec.initial_sparsity).dump() +
                                 "), got " + json(spec.final_sparsity).dump());
  spec.ranking = parse_ranking(r);
  return spec;
}

StepsSpec parse_steps(JsonReader& r) {
  StepsSpec spec;
  if (!r.has("schedule")) r.fail("schedule", "is required: [[t, sparsity], ...]");
  const json& s = r.raw("schedule");
  if (!s.is_array() || s.empty())
    r.fail("schedule", "expected a non-empty array of [t, sparsity], got " + json_brief(s));
  std::string where = r.path("schedule");
  for (size_t i = 0; i < s.size(); ++i) {
    std::string at = json_path_index(where, i);
    const json& e = s[i];
    if (!e.is_array() || e.size() != 2)
      throw InputError(at + ": expected [t, sparsity], got " + json_brief(e));
    if (!e[0].is_number_integer() || e[0].get<int64_t>() < 0)
      throw InputError(json_path_index(at, 0) + ": expected an integer >= 0, got " +
                       json_brief(e[0]));
    int64_t t = e[0].get<int64_t>();
    double sp = sparsity_value(e[1], json_path_index(at, 1));
    if (!spec.schedule.empty() && t <= spec.schedule.back().first)
      throw InputError(json_path_index(at, 0) + ": t must increase, got " + std::to_string(t) +
                       " after " + std::to_string(spec.schedule.back().first));
    if (!spec.schedule.empty() && sp < spec.schedule.back().second)
      throw InputError(json_path_index(at, 1) + ": sparsity must not decrease, got " +
                       json(sp).dump() + " after " + json(spec.schedule.back().second).dump() +
                       " (sparsities, not densities: density 0.7 is sparsity 0.3)");
    spec.schedule.emplace_back(t, sp);
  }
  spec.ranking = parse_ranking(r);
  return spec;
}

ThresholdSpec parse_threshold(JsonReader& r) {
  ThresholdSpec spec;
  spec.l1 = r.number("l1", spec.l1, 0, 1);
  spec.thr0 = r.number("thr0", spec.thr0, 0, 1, true, false);
  spec.per_position = r.boolean("per_position", spec.per_position);
  spec.adaptive = r.boolean("adaptive", spec.adaptive);
  spec.factor = r.number("factor", spec.factor, 1, 1e6);
  spec.gradient_rms = r.string("gradient", "step", {"step", "rms"}) == "rms";
  if (spec.gradient_rms && !spec.adaptive)
    r.fail("gradient", "\"rms\" averages the gradient of the adaptive threshold; it needs "
                       "\"adaptive\": true");
  if (r.optional_raw("rms_decay")) {
    if (!spec.gradient_rms) r.fail("rms_decay", "needs \"gradient\": \"rms\"");
    spec.rms_decay = r.number("rms_decay", spec.rms_decay, 0, 1, true, true);
  }
  const bool has_initial = r.optional_raw("initial_sparsity").has_value();
  if (r.optional_raw("final_sparsity")) {
    spec.final_sparsity = r.number("final_sparsity", 0, 0, 1, false, true);
    spec.initial_sparsity = r.number("initial_sparsity", 0, 0, 1, false, true);
    if (spec.initial_sparsity > *spec.final_sparsity)
      r.fail("initial_sparsity", "must be at most final_sparsity (" +
                                     std::to_string(*spec.final_sparsity) + ")");
  } else if (has_initial) {
    r.fail("initial_sparsity", "needs final_sparsity (the target mode of the threshold pruner)");
  }
  return spec;
}

PolicyConfig parse_policy(JsonReader& r, const std::vector<PrunerConfig>& pruners) {
  PolicyConfig p;
  p.path = r.path();
  auto name = r.optional_string("pruner");
  if (!name) r.fail("pruner", "is required (the name of a pruner of this phase)");
  p.pruner = *name;
  bool found = false;
  std::string known;
  for (size_t i = 0; i < pruners.size(); ++i) {
    known += (known.empty() ? "" : ", ") + pruners[i].name;
    if (pruners[i].name == p.pruner) {
      p.pruner_index = i;
      found = true;
    }
  }
  if (!found)
    r.fail("pruner", "unknown pruner \"" + p.pruner + "\" (this phase defines: " +
                         (known.empty() ? "none" : known) + ")");
  constexpr int64_t kMax = int64_t(1) << 40;
  p.start = r.integer("start", 0, 0, kMax);
  if (r.optional_raw("end")) {
    p.end = r.integer("end", -1, 0, kMax);
    if (p.end <= p.start)
      r.fail("end", "must be > start (" + std::to_string(p.start) + "), got " +
                        std::to_string(p.end));
  }
  p.frequency = r.integer("frequency", 1, 1, kMax);
  if (p.frequency != 1 && std::holds_alternative<ThresholdSpec>(pruners[p.pruner_index].spec))
    r.fail("frequency", "the threshold pruner acts after every optimizer step of its window; "
                        "frequency must be 1, got " + std::to_string(p.frequency));
  p.unit = r.string("unit", "epoch", {"epoch", "iteration"}) == "epoch" ? PruneUnit::epoch
                                                                         : PruneUnit::iteration;
  r.finish();
  return p;
}

}  // namespace

LayerSelection parse_layer_selection(JsonReader& r) {
  LayerSelection sel;
  sel.path = r.path();
  // optional_raw marks both keys known: an unknown key's message lists them.
  const bool has_layers = r.optional_raw("layers").has_value();
  const bool has_regex = r.optional_raw("regex").has_value();
  if (has_layers && has_regex) r.fail("regex", "give either \"layers\" or \"regex\", not both");
  if (has_layers) {
    const json& v = r.raw("layers");
    if (v.is_string()) {
      if (v.get<std::string>() != "winograd")
        r.fail("layers", "expected an array of layer names or \"winograd\", got " + json_brief(v));
      sel.all_winograd = true;
    } else {
      sel.names = r.string_list("layers", {});
      if (sel.names.empty()) r.fail("layers", "expected at least one layer name");
      std::set<std::string> seen;
      for (auto& n : sel.names)
        if (!seen.insert(n).second) r.fail("layers", "layer \"" + n + "\" is listed twice");
    }
  } else if (has_regex) {
    sel.regex = *r.optional_string("regex");
    try {
      std::regex re(sel.regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      r.fail("regex", "invalid regular expression \"" + sel.regex + "\" (" + e.what() + ")");
    }
  }
  return sel;
}

PositionScale parse_position_scale_key(JsonReader& r) {
  const std::string name = r.string("position_scale", position_scale_name(kDefaultPositionScale),
                                    {"none", "output", "output_input"});
  return *parse_position_scale(name);
}

const RankingOptions* pruner_ranking(const PrunerSpec& spec) {
  if (auto* m = std::get_if<MagnitudeSpec>(&spec)) return &m->ranking;
  if (auto* g = std::get_if<GradualSpec>(&spec)) return &g->ranking;
  if (auto* s = std::get_if<StepsSpec>(&spec)) return &s->ranking;
  return nullptr;
}

const char* pruner_type_name(const PrunerSpec& spec) {
  static const char* names[] = {"magnitude", "gradual", "steps", "threshold"};
  return names[spec.index()];
}

PruningConfig parse_pruning_config(JsonReader& phase) {
  PruningConfig config;
  JsonReader pruners = phase.object("pruners");
  for (auto it = pruners.value().begin(); it != pruners.value().end(); ++it) {
    JsonReader r = pruners.object(it.key().c_str());
    PrunerConfig pc;
    pc.name = it.key();
    pc.path = r.path();
    if (!r.has("type"))
      r.fail("type", "is required (\"magnitude\", \"gradual\", \"steps\" or \"threshold\")");
    std::string type = r.string("type", "", {"magnitude", "gradual", "steps", "threshold"});
    pc.layers = parse_layer_selection(r);
    if (type == "magnitude") pc.spec = parse_magnitude(r, pc.layers);
    else if (type == "gradual") pc.spec = parse_gradual(r);
    else if (type == "steps") pc.spec = parse_steps(r);
    else pc.spec = parse_threshold(r);
    if (pc.layers.names.empty() && !pc.layers.all_winograd && pc.layers.regex.empty())
      r.fail("layers", "is required: [names], \"winograd\", or \"regex\": \"...\" instead");
    r.finish();
    config.pruners.push_back(std::move(pc));
  }

  if (std::optional<json> policies = phase.optional_raw("policies")) {
    const json& list = *policies;
    std::string where = phase.path("policies");
    if (!list.is_array()) phase.fail("policies", "expected an array, got " + json_brief(list));
    for (size_t i = 0; i < list.size(); ++i) {
      JsonReader r(list[i], json_path_index(where, i));
      config.policies.push_back(parse_policy(r, config.pruners));
    }
    std::vector<bool> used(config.pruners.size(), false);
    for (auto& p : config.policies) used[p.pruner_index] = true;
    for (size_t i = 0; i < used.size(); ++i)
      if (!used[i])
        phase.fail("policies", "pruner \"" + config.pruners[i].name +
                                   "\" is used by no policy (add {\"pruner\": \"" +
                                   config.pruners[i].name + "\"})");
  } else {
    for (size_t i = 0; i < config.pruners.size(); ++i) {
      PolicyConfig p;
      p.pruner = config.pruners[i].name;
      p.pruner_index = i;
      p.path = phase.path("policies");
      config.policies.push_back(p);
    }
  }
  return config;
}

namespace {

json selection_to_json(const LayerSelection& s) {
  json j = json::object();
  if (s.all_winograd) j["layers"] = "winograd";
  else if (!s.regex.empty()) j["regex"] = s.regex;
  else j["layers"] = s.names;
  return j;
}

}  // namespace

json pruning_config_to_json(const PruningConfig& config) {
  json out = json::object();
  json pruners = json::object();
  for (const auto& pc : config.pruners) {
    json j = selection_to_json(pc.layers);
    j["type"] = pruner_type_name(pc.spec);
    if (auto* m = std::get_if<MagnitudeSpec>(&pc.spec)) {
      if (m->per_layer.empty()) {
        j["sparsity"] = m->sparsity;
      } else {
        json per = json::object();
        for (auto& [name, s] : m->per_layer) per[name] = s;
        j["sparsity"] = per;
      }
      ranking_to_json(m->ranking, j);
    } else if (auto* g = std::get_if<GradualSpec>(&pc.spec)) {
      j["initial_sparsity"] = g->initial_sparsity;
      j["final_sparsity"] = g->final_sparsity;
      ranking_to_json(g->ranking, j);
    } else if (auto* st = std::get_if<StepsSpec>(&pc.spec)) {
      json sched = json::array();
      for (auto& [t, s] : st->schedule) sched.push_back(json::array({t, s}));
      j["schedule"] = sched;
      ranking_to_json(st->ranking, j);
    } else if (auto* th = std::get_if<ThresholdSpec>(&pc.spec)) {
      j["l1"] = th->l1;
      j["thr0"] = th->thr0;
      j["per_position"] = th->per_position;
      j["adaptive"] = th->adaptive;
      j["factor"] = th->factor;
      j["gradient"] = th->gradient_rms ? "rms" : "step";
      if (th->gradient_rms) j["rms_decay"] = th->rms_decay;
      if (th->final_sparsity) {
        j["final_sparsity"] = *th->final_sparsity;
        j["initial_sparsity"] = th->initial_sparsity;
      }
    }
    pruners[pc.name] = j;
  }
  json policies = json::array();
  for (const auto& p : config.policies) {
    json j = {{"pruner", p.pruner}, {"start", p.start}, {"frequency", p.frequency},
              {"unit", p.unit == PruneUnit::epoch ? "epoch" : "iteration"}};
    if (p.end >= 0) j["end"] = p.end;
    policies.push_back(j);
  }
  out["pruners"] = pruners;
  out["policies"] = policies;
  return out;
}

}  // namespace wp
