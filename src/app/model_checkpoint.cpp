#include "winoprune/app/model_checkpoint.h"

#include <cmath>
#include <filesystem>
#include <tuple>
#include <utility>
#include <set>

#include "winoprune/app/export.h"
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"
#include "winoprune/winograd/transform.h"

namespace wp {

json run_state_to_json(const RunState& s) {
  return json{{"phase_index", s.phase_index}, {"phase_done", s.phase_done},
              {"epoch", s.epoch},             {"iteration", s.iteration},
              {"step", s.step},               {"seconds", s.seconds},
              {"rng_state", std::to_string(s.rng_state)},
              {"rng_inc", std::to_string(s.rng_inc)},
              {"extra", s.extra}};
}

RunState run_state_from_json(const json& j, const std::string& file) {
  RunState s;
  try {
    s.phase_index = j.at("phase_index").get<int>();
    s.phase_done = j.at("phase_done").get<bool>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.iteration = j.at("iteration").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.seconds = j.at("seconds").get<double>();
    s.rng_state = std::stoull(j.at("rng_state").get<std::string>());
    s.rng_inc = std::stoull(j.at("rng_inc").get<std::string>());
    s.extra = j.value("extra", json::object());
  } catch (const std::exception& e) {
    throw InputError(file + ": __metadata__.state: " + e.what());
  }
  return s;
}

RunState checkpoint_run_state(const SafeTensorsFile& file) {
  json j = json_parse_bounded(file.meta("state"));
  if (j.is_discarded() || !j.is_object())
    throw InputError(file.path + ": __metadata__.state: expected a JSON object");
  return run_state_from_json(j, file.path);
}

namespace {

// Names of run-state tensors that are not model parameters (the pruning scheduler's).
constexpr const char* kRunStateTensorPrefix = "pruning.";

struct TransformRecord {
  std::string suffix;
  Shape shape;
  const std::vector<double>* values;
};

std::vector<TransformRecord> transform_records(const WinogradConv2dLayer& layer) {
  const WinogradTransform& tr = winograd_transform(layer.params().m, layer.params().r);
  int64_t m = tr.m, r = tr.r, t = tr.t;
  return {{"winograd.AT", {m, t}, &tr.AT}, {"winograd.BT", {t, t}, &tr.BT},
          {"winograd.G", {t, r}, &tr.G}};
}

}  // namespace

void save_checkpoint(const std::string& path, Model& model, const RunState& state,
                     const json& resolved_config, const CheckpointContents& what) {
  std::vector<SafeTensorRef> refs;
  std::vector<SafeTensor> owned;   // masks converted to U8
  owned.reserve(64);
  for (Parameter* p : what.weights ? model.parameters() : std::vector<Parameter*>()) {
    refs.push_back(f32_ref(p->name, p->value()));
    if (p->mask.defined())
      owned.push_back(make_safetensor<uint8_t>(p->name + ".mask", p->value().shape(),
                                               nonzero_bytes(p->mask)));
    if (what.momentum && p->momentum.defined())
      refs.push_back(f32_ref(p->name + ".momentum", p->momentum));
    if (what.momentum && p->second_moment.defined())
      refs.push_back(f32_ref(p->name + ".second_moment", p->second_moment));
  }
  for (Layer* layer : what.weights ? model.layers() : std::vector<Layer*>()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) continue;
    for (const auto& rec : transform_records(*w))
      owned.push_back(make_safetensor<double>(layer->name() + "." + rec.suffix, rec.shape,
                                              *rec.values));
  }
  for (const auto& [name, t] : what.extra_tensors) refs.push_back(f32_ref(name, t));
  for (const auto& t : owned) refs.push_back(as_ref(t));

  SafeTensorMetadata meta;
  meta["format"] = kCheckpointFormat;
  meta["model"] = model_config_to_json(model.config()).dump();
  meta["config"] = resolved_config.dump();
  meta["state"] = run_state_to_json(state).dump();
  meta["phase"] = std::to_string(state.phase_index);
  meta["epoch"] = std::to_string(state.epoch);
  meta["iteration"] = std::to_string(state.iteration);
  if (!what.weights) meta["weights"] = "none";
  write_safetensors(path, refs, meta);
}

bool checkpoint_has_weights(const SafeTensorsFile& file) {
  auto it = file.metadata.find("weights");
  return it == file.metadata.end() || it->second != "none";
}

void load_checkpoint_into(const SafeTensorsFile& file, Model& model, bool with_momentum) {
  if (is_export(file)) {   // an inference-only export (app/export.h)
    load_export_into(file, model);
    return;
  }
  if (!checkpoint_has_weights(file))
    throw InputError(file.path + ": a position record of an eval or sensitivity phase, without "
                     "weights; use the run's checkpoints/latest.safetensors");
  std::set<std::string> used;
  for (Parameter* p : model.parameters()) {
    const SafeTensor& t = file.at(p->name);
    p->value().copy_from(to_tensor(t, file.path, p->value().shape()));
    used.insert(p->name);
    if (const SafeTensor* m = file.find(p->name + ".mask")) {
      if (m->shape != p->value().shape())
        throw InputError(file.path + ": tensor " + m->name + ": shape " + shape_str(m->shape) +
                         ", expected " + shape_str(p->value().shape()));
      std::vector<uint8_t> bits = safetensor_values<uint8_t>(*m, file.path);
      p->mask = Tensor::empty(p->value().shape());
      for (size_t i = 0; i < bits.size(); ++i) {
        if (bits[i] > 1)
          throw InputError(file.path + ": tensor " + m->name + ": expected 0/1 values, got " +
                           std::to_string(bits[i]) + " at element " + std::to_string(i));
        p->mask[static_cast<int64_t>(i)] = bits[i];
      }
      used.insert(m->name);
    } else {
      p->mask = Tensor();
    }
    for (auto [state, suffix] : {std::pair<Tensor*, const char*>{&p->momentum, ".momentum"},
                                 {&p->second_moment, ".second_moment"}}) {
      *state = Tensor();
      if (const SafeTensor* v = file.find(p->name + suffix)) {
        if (with_momentum) *state = to_tensor(*v, file.path, p->value().shape());
        used.insert(v->name);
      }
    }
  }
  for (Layer* layer : model.layers()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) continue;
    for (const auto& rec : transform_records(*w)) {
      std::string name = layer->name() + "." + rec.suffix;
      const SafeTensor* t = file.find(name);
      if (!t) continue;   // optional on input: our matrices are the rule's
      std::vector<double> v = safetensor_values<double>(*t, file.path);
      if (t->shape != rec.shape || v.size() != rec.values->size())
        throw InputError(file.path + ": tensor " + name + ": shape " + shape_str(t->shape) +
                         ", expected " + shape_str(rec.shape));
      for (size_t i = 0; i < v.size(); ++i)
        if (std::fabs(v[i] - (*rec.values)[i]) > 1e-12 * (1 + std::fabs(v[i])))
          throw InputError(file.path + ": tensor " + name +
                           ": the transform differs from this build's F(" +
                           std::to_string(w->params().m) + "," + std::to_string(w->params().r) +
                           ") matrices; W was trained in another basis");
      used.insert(name);
    }
  }
  for (const SafeTensor& t : file.tensors)
    if (!used.count(t.name) && t.name.rfind(kRunStateTensorPrefix, 0) != 0)
      throw InputError(file.path + ": tensor " + t.name +
                       ": the model has no such parameter (does the checkpoint match the model "
                       "config? a spatial checkpoint needs a convert phase)");
}

std::string newest_checkpoint(const std::string& checkpoints_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(checkpoints_dir, ec)) return "";
  std::string best;
  std::tuple<int64_t, int, bool> best_key{-1, -1, false};
  for (const auto& entry : fs::directory_iterator(checkpoints_dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    std::string path = entry.path().string();
    // A file that does not parse (torn by something other than our atomic writes, or not ours)
    // cannot be resumed from; it must not block the others.
    RunState s;
    try {
      SafeTensorsFile header = read_safetensors_header(path);
      s = checkpoint_run_state(header);
    } catch (const std::exception&) {
      continue;
    }
    std::tuple<int64_t, int, bool> key{s.step, s.phase_index, s.phase_done};
    if (best.empty() || key > best_key || (key == best_key && path > best))
      best = path, best_key = key;
  }
  return best;
}

std::vector<std::pair<std::string, Tensor>> checkpoint_extra_tensors(const SafeTensorsFile& file,
                                                                      const std::string& prefix) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const SafeTensor& t : file.tensors)
    if (t.name.rfind(prefix, 0) == 0) out.emplace_back(t.name, to_tensor(t, file.path));
  return out;
}

ModelConfig checkpoint_model_config(const SafeTensorsFile& file) {
  const std::string& text = file.meta("model");
  json j = json_parse_bounded(text);
  if (j.is_discarded()) throw InputError(file.path + ": __metadata__.model: not valid JSON");
  JsonReader r(j, "__metadata__.model", file.path);
  return parse_model_config(r);
}

}  // namespace wp
