// The inference-only export (include/winoprune/app/export.h).
#include "winoprune/app/export.h"

#include <limits>

#include "winoprune/error.h"
#include "winoprune/nn/layers.h"
#include "winoprune/winograd/transform.h"

namespace wp {

void export_model(Model& model, const std::string& path, const std::string& config) {
  std::vector<SafeTensor> owned;
  std::vector<SafeTensorRef> refs;
  for (Layer* layer : model.layers()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) {
      for (Parameter* p : layer->parameters()) refs.push_back(f32_ref(p->name, p->value()));
      continue;
    }
    const Tensor& W = w->weight().value();
    const int64_t P = W.dim(0), K = W.dim(1), C = W.dim(2);
    std::vector<int32_t> row_ptr;
    std::vector<float> values;
    std::vector<int32_t> cols;
    row_ptr.reserve(size_t(P * (K + 1)));
    for (int64_t j = 0; j < P; ++j) {
      int32_t in_position = 0;
      for (int64_t k = 0; k < K; ++k) {
        row_ptr.push_back(in_position);
        const float* row = W.data() + (j * K + k) * C;
        for (int64_t c = 0; c < C; ++c)
          if (row[c] != 0.0f) values.push_back(row[c]), cols.push_back(int32_t(c)), ++in_position;
      }
      row_ptr.push_back(in_position);
    }
    const std::string n = w->weight().name;
    owned.push_back(make_safetensor<int32_t>(n + ".csr.row_ptr", {P, K + 1}, row_ptr));
    if (C <= std::numeric_limits<uint16_t>::max())
      owned.push_back(make_safetensor<uint16_t>(n + ".csr.col", {int64_t(cols.size())},
                                                std::vector<uint16_t>(cols.begin(), cols.end())));
    else
      owned.push_back(make_safetensor<int32_t>(n + ".csr.col", {int64_t(cols.size())}, cols));
    owned.push_back(make_safetensor<float>(n + ".csr.values", {int64_t(values.size())}, values));
    owned.push_back(make_safetensor<int32_t>(n + ".csr.shape", {3},
                                             {int32_t(P), int32_t(K), int32_t(C)}));
    refs.push_back(f32_ref(w->bias().name, w->bias().value()));
    const WinogradTransform& tr = winograd_transform(w->params().m, w->params().r);
    const int64_t m = tr.m, r = tr.r, t = tr.t;
    owned.push_back(make_safetensor<double>(layer->name() + ".winograd.AT", {m, t}, tr.AT));
    owned.push_back(make_safetensor<double>(layer->name() + ".winograd.BT", {t, t}, tr.BT));
    owned.push_back(make_safetensor<double>(layer->name() + ".winograd.G", {t, r}, tr.G));
  }
  for (const SafeTensor& t : owned) refs.push_back(as_ref(t));
  SafeTensorMetadata meta;
  meta["format"] = kExportFormat;
  meta["model"] = model_config_to_json(model.config()).dump();
  if (!config.empty()) meta["config"] = config;
  write_safetensors(path, refs, meta);
}

bool is_export(const SafeTensorsFile& file) {
  auto it = file.metadata.find("format");
  return it != file.metadata.end() && it->second == kExportFormat;
}

void load_export_into(const SafeTensorsFile& file, Model& model) {
  auto fail = [&](const std::string& what) { throw InputError(file.path + ": " + what); };
  for (Layer* layer : model.layers()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) {
      for (Parameter* p : layer->parameters())
        p->value().copy_from(to_tensor(file.at(p->name), file.path, p->value().shape()));
      continue;
    }
    Tensor& W = w->weight().value();
    const int64_t P = W.dim(0), K = W.dim(1), C = W.dim(2);
    const std::string n = w->weight().name;
    std::vector<int32_t> shape = safetensor_values<int32_t>(file.at(n + ".csr.shape"), file.path);
    if (shape != std::vector<int32_t>{int32_t(P), int32_t(K), int32_t(C)})
      fail("tensor " + n + ".csr.shape: expected [" + std::to_string(P) + ", " +
           std::to_string(K) + ", " + std::to_string(C) + "] for this model");
    std::vector<int32_t> row_ptr = safetensor_values<int32_t>(file.at(n + ".csr.row_ptr"), file.path);
    std::vector<float> values = safetensor_values<float>(file.at(n + ".csr.values"), file.path);
    const SafeTensor& col_t = file.at(n + ".csr.col");
    std::vector<int32_t> cols;
    if (col_t.dtype == DType::U16) {
      std::vector<uint16_t> c16 = safetensor_values<uint16_t>(col_t, file.path);
      cols.assign(c16.begin(), c16.end());
    } else {
      cols = safetensor_values<int32_t>(col_t, file.path);
    }
    if (int64_t(row_ptr.size()) != P * (K + 1) || cols.size() != values.size())
      fail("tensor " + n + ".csr.*: inconsistent sizes");
    W.fill(0.0f);
    size_t base = 0;
    for (int64_t j = 0; j < P; ++j) {
      const int32_t* rp = row_ptr.data() + j * (K + 1);
      for (int64_t k = 0; k < K; ++k) {
        if (rp[k] < 0 || rp[k + 1] < rp[k] || base + size_t(rp[k + 1]) > values.size())
          fail("tensor " + n + ".csr.row_ptr: row " + std::to_string(k) + " of position " +
               std::to_string(j) + " is out of range");
        for (int32_t e = rp[k]; e < rp[k + 1]; ++e) {
          const int32_t c = cols[base + size_t(e)];
          if (c < 0 || c >= C) fail("tensor " + n + ".csr.col: column " + std::to_string(c) + " out of range");
          W.data()[(j * K + k) * C + c] = values[base + size_t(e)];
        }
      }
      base += size_t(rp[K]);
    }
    if (base != values.size()) fail("tensor " + n + ".csr.values: " + std::to_string(values.size()) +
                                    " values, the rows hold " + std::to_string(base));
    w->bias().value().copy_from(to_tensor(file.at(w->bias().name), file.path, w->bias().value().shape()));
    w->weight().mask = Tensor();
    w->weight().momentum = Tensor();
  }
}

}  // namespace wp
