#include "winoprune/app/experiment.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "winoprune/error.h"

namespace wp {

const char* phase_type_name(PhaseType type) {
  switch (type) {
    case PhaseType::train: return "train";
    case PhaseType::convert: return "convert";
    case PhaseType::prune: return "prune";
    case PhaseType::finetune: return "finetune";
    case PhaseType::eval: return "eval";
    case PhaseType::sensitivity: return "sensitivity";
  }
  return "?";
}

const TrainingConfig* PhaseConfig::training() const {
  if (auto* t = as<TrainPhase>()) return &t->training;
  if (auto* p = as<PrunePhase>()) return &p->training;
  if (auto* f = as<FinetunePhase>()) return &f->training;
  return nullptr;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), path);
}

json parse_json_text(const std::string& text, const std::string& file) {
  std::string why;
  json j = json_parse_bounded(text, &why);   // syntax, UTF-8, 1e400, nesting depth
  if (j.is_discarded()) throw InputError(file + ": not valid JSON: " + why);
  return j;
}

namespace {

PhaseType parse_phase_type(JsonReader& r) {
  std::string t = r.string("type", "", {"train", "convert", "prune", "finetune", "eval",
                                        "sensitivity"});
  static const std::map<std::string, PhaseType> types = {
      {"train", PhaseType::train},     {"convert", PhaseType::convert},
      {"prune", PhaseType::prune},     {"finetune", PhaseType::finetune},
      {"eval", PhaseType::eval},       {"sensitivity", PhaseType::sensitivity}};
  return types.at(t);
}

InferenceKernel parse_kernel(JsonReader& r) {
  return r.string("kernel", "sparse", {"sparse", "dense"}) == "sparse" ? InferenceKernel::sparse
                                                                      : InferenceKernel::dense;
}

ConvertPhase parse_convert(JsonReader& r) {
  ConvertPhase c;
  c.layers = r.string_list("layers", {"conv2", "conv3", "conv4", "conv5"});
  if (c.layers.empty()) r.fail("layers", "expected at least one layer name");
  int m_all = 4;
  std::map<std::string, int> per_layer;
  if (std::optional<json> given = r.optional_raw("m")) {
    const json& m = *given;
    if (m.is_number_integer()) {
      m_all = m.get<int>();
      if (m_all < 1 || m_all > 6) r.fail("m", "expected an integer in [1, 6], got " + json_brief(m));
    } else if (m.is_object()) {
      for (auto it = m.begin(); it != m.end(); ++it) {
        std::string where = json_path_join(r.path("m"), it.key());
        bool listed = false;
        for (const auto& l : c.layers) listed = listed || l == it.key();
        if (!listed) throw InputError(where + ": not one of this phase's layers");
        if (!it->is_number_integer() || it->get<int>() < 1 || it->get<int>() > 6)
          throw InputError(where + ": expected an integer in [1, 6], got " + json_brief(*it));
        per_layer[it.key()] = it->get<int>();
      }
    } else {
      r.fail("m", "expected an integer or an object {\"conv2\": 2, ...}, got " + json_brief(m));
    }
  }
  for (const auto& l : c.layers) c.m.push_back({l, per_layer.count(l) ? per_layer[l] : m_all});
  return c;
}

DistillConfig parse_distill(JsonReader& r, const std::vector<PhaseConfig>& earlier) {
  DistillConfig d;
  d.teacher = r.string("teacher", "");
  if (d.teacher.empty())
    r.fail("teacher", "is required: the name of an earlier phase or a checkpoint path");
  for (const PhaseConfig& p : earlier) d.teacher_is_phase = d.teacher_is_phase || p.name == d.teacher;
  if (!d.teacher_is_phase && !std::filesystem::is_regular_file(d.teacher)) {
    std::string names;
    for (const PhaseConfig& p : earlier) names += (names.empty() ? "" : ", ") + p.name;
    r.fail("teacher", "expected the name of an earlier phase (" +
                          (names.empty() ? std::string("none") : names) +
                          ") or a checkpoint file, got \"" + d.teacher + "\"");
  }
  d.temperature = r.number("temperature", d.temperature, 0.0, 1e3, true, false);
  d.weight = r.number("weight", d.weight, 0.0, 1.0);
  r.finish();
  return d;
}

// The keys train, prune and finetune phases share.
TrainingConfig parse_training(JsonReader& r, PhaseType type,
                              const std::vector<PhaseConfig>& earlier) {
  TrainingConfig t;
  t.epochs = static_cast<int>(r.integer("epochs", -1, 0, 100000));
  if (t.epochs < 0) r.fail("epochs", std::string("is required for a ") + phase_type_name(type) + " phase");
  t.eval_every = static_cast<int>(r.integer("eval_every", 1, 1, 100000));
  JsonReader opt = r.object("optimizer");
  t.optimizer = parse_optimizer_config(opt);
  // The spatial preconditioner is exact only while W stays in the image of G (x) G; once
  // entries are forced to zero its steps leave that subspace, where the loss is up to 100x
  // more curved than the step assumes: pruning a small Fashion-MNIST net to 60% with it went
  // from 0.74 to chance (10.6%), with the diagonal term alone to 0.768. So prune and finetune
  // phases default to the diagonal term only.
  if ((type == PhaseType::prune || type == PhaseType::finetune) &&
      !opt.has("spatial_preconditioner"))
    t.optimizer.spatial_preconditioner = 0.0;
  JsonReader sched = r.object("lr_schedule");
  t.lr_schedule = parse_lr_schedule(sched, t.optimizer.lr, std::max(t.epochs, 1));
  // null switches distillation off (--set phases[2].distill=null on a config that has it).
  if (std::optional<json> d = r.optional_raw("distill"); d && !d->is_null()) {
    JsonReader dr = r.object("distill");
    t.distill = parse_distill(dr, earlier);
  }
  return t;
}

PrunePhase parse_prune(JsonReader& r, const std::vector<PhaseConfig>& earlier) {
  PrunePhase p;
  p.training = parse_training(r, PhaseType::prune, earlier);
  p.pruning = parse_pruning_config(r);
  p.shortfall_is_error = r.string("on_sparsity_shortfall", "error", {"error", "warn"}) == "error";
  p.sparse_forward = r.boolean("sparse_forward", true);
  if (p.pruning.empty()) r.fail("pruners", "a prune phase needs at least one pruner");
  return p;
}

FinetunePhase parse_finetune(JsonReader& r, const std::vector<PhaseConfig>& earlier) {
  FinetunePhase f;
  f.training = parse_training(r, PhaseType::finetune, earlier);
  // The masks are frozen for the whole phase: the Winograd layers run their forward on the
  // sparse kernel packed from the mask and their backward over the unmasked weights only
  // (winograd/masked_products.h). The same result up to float rounding; false runs the dense
  // path (for comparison).
  f.masked_products = r.boolean("masked_products", true);
  return f;
}

PhaseSpec parse_phase_spec(JsonReader& r, PhaseType type, const std::vector<PhaseConfig>& earlier) {
  switch (type) {
    case PhaseType::train: return TrainPhase{parse_training(r, type, earlier)};
    case PhaseType::prune: return parse_prune(r, earlier);
    case PhaseType::finetune: return parse_finetune(r, earlier);
    case PhaseType::convert: return parse_convert(r);
    case PhaseType::eval: return EvalPhase{parse_kernel(r)};
    case PhaseType::sensitivity: {
      SensitivityPhase s;
      s.kernel = parse_kernel(r);
      s.sweep = parse_sensitivity_config(r);
      return s;
    }
  }
  throw std::logic_error("unknown phase type");
}

PhaseConfig parse_phase(const json& j, const std::string& path, const std::string& file,
                        std::map<std::string, int>& name_counts,
                        const std::vector<PhaseConfig>& earlier) {
  JsonReader r(j, path, file);
  PhaseConfig phase;
  phase.path = path;
  const PhaseType type = parse_phase_type(r);
  phase.init = r.string("init", "");
  std::string default_name = phase_type_name(type);
  phase.name = r.string("name", default_name);
  if (phase.name.empty() || phase.name.find_first_of("/\\ ") != std::string::npos)
    r.fail("name", "expected a non-empty name without '/', '\\' or spaces, got \"" + phase.name + "\"");
  int seen = name_counts[phase.name]++;
  if (seen > 0) {
    if (r.has("name")) r.fail("name", "\"" + phase.name + "\" is the name of an earlier phase");
    phase.name += std::to_string(seen + 1);   // "train", "train2", ...
  }
  phase.spec = parse_phase_spec(r, type, earlier);
  r.finish();
  return phase;
}

}  // namespace

ExperimentConfig parse_experiment(const json& config, const std::string& file) {
  JsonReader r(config, "", file);
  ExperimentConfig x;
  x.file = file;
  x.name = r.string("name", "experiment");
  if (x.name.empty()) r.fail("name", "expected a non-empty string");
  x.seed = static_cast<uint64_t>(r.integer("seed", 1, 0, (int64_t(1) << 53)));
  x.threads = static_cast<int>(r.integer("threads", 0, 0, 1024));
  x.log_every = static_cast<int>(r.integer("log_every", 50, 1, 1000000000));
  x.checkpoint_every = static_cast<int>(r.integer("checkpoint_every", 0, 0, 1000000000));
  x.keep_checkpoints = r.string("keep_checkpoints", "last", {"last", "all"});
  JsonReader data = r.object("data");
  x.data = parse_data_config(data);
  JsonReader model = r.object("model");
  x.model = parse_model_config(model);

  if (!r.has("phases")) r.fail("phases", "is required (a list of phases)");
  const json& phases = r.raw("phases");
  if (!phases.is_array() || phases.empty())
    r.fail("phases", "expected a non-empty array of phases, got " + json_brief(phases));
  std::map<std::string, int> name_counts;
  for (size_t i = 0; i < phases.size(); ++i)
    x.phases.push_back(
        parse_phase(phases[i], json_path_index("phases", i), file, name_counts, x.phases));
  r.finish();

  // Checks that need the model and the data (layer selections at each phase, policy windows
  // against the phase's iterations, init checkpoints, classes) are plan_experiment's
  // (app/plan.h), run before the first step.
  return x;
}


namespace {

void training_to_json(const TrainingConfig& t, json& pj) {
  pj["epochs"] = t.epochs;
  pj["eval_every"] = t.eval_every;
  pj["optimizer"] = optimizer_config_to_json(t.optimizer);
  pj["lr_schedule"] = lr_schedule_to_json(t.lr_schedule);
  if (t.distill)
    pj["distill"] = json{{"teacher", t.distill->teacher},
                         {"temperature", t.distill->temperature},
                         {"weight", t.distill->weight}};
}

// Copies the keys of `from` (an object) into `to`.
void merge(json& to, const json& from) {
  for (auto it = from.begin(); it != from.end(); ++it) to[it.key()] = it.value();
}

const char* kernel_name(InferenceKernel k) {
  return k == InferenceKernel::sparse ? "sparse" : "dense";
}

json phase_to_json(const PhaseConfig& p) {
  json pj;
  pj["type"] = phase_type_name(p.type());
  pj["name"] = p.name;
  if (!p.init.empty()) pj["init"] = p.init;
  if (const TrainingConfig* t = p.training()) training_to_json(*t, pj);
  if (auto* pr = p.as<PrunePhase>()) {
    pj["on_sparsity_shortfall"] = pr->shortfall_is_error ? "error" : "warn";
    pj["sparse_forward"] = pr->sparse_forward;
    merge(pj, pruning_config_to_json(pr->pruning));
  } else if (auto* f = p.as<FinetunePhase>()) {
    pj["masked_products"] = f->masked_products;
  } else if (auto* c = p.as<ConvertPhase>()) {
    pj["layers"] = c->layers;
    json m = json::object();
    for (const auto& [layer, mm] : c->m) m[layer] = mm;
    pj["m"] = m;
  } else if (auto* e = p.as<EvalPhase>()) {
    pj["kernel"] = kernel_name(e->kernel);
  } else if (auto* s = p.as<SensitivityPhase>()) {
    pj["kernel"] = kernel_name(s->kernel);
    merge(pj, sensitivity_config_to_json(s->sweep));
  }
  return pj;
}

}  // namespace

json experiment_to_json(const ExperimentConfig& x) {
  json j;
  j["name"] = x.name;
  j["seed"] = x.seed;
  j["threads"] = x.threads;
  j["log_every"] = x.log_every;
  j["checkpoint_every"] = x.checkpoint_every;
  j["keep_checkpoints"] = x.keep_checkpoints;
  j["data"] = data_config_to_json(x.data);
  j["model"] = model_config_to_json(x.model);
  j["phases"] = json::array();
  for (const auto& p : x.phases) j["phases"].push_back(phase_to_json(p));
  return j;
}

}  // namespace wp
