#pragma once
// `winoprune export CKPT --out MODEL.safetensors`: an inference-only file that leaves the tool.
// A safetensors file (docs/contracts.md) with __metadata__ "format" = "winoprune-export-1" and
// "model" (the model config, as in checkpoints), "config" (the run's resolved config), and per
// layer:
//   Winograd layers, each position's K x C/g matrix W_j in CSR (the sparse kernel's format):
//     "<layer>.weight.csr.row_ptr"  I32 [t*t, K+1]   row starts within the position's entries
//     "<layer>.weight.csr.col"      U16 [nnz]        input channel c (I32 when C/g > 65535)
//     "<layer>.weight.csr.values"   F32 [nnz]        positions in order, rows in order
//     "<layer>.weight.csr.shape"    I32 [3]          [t*t, K, C/g]
//     "<layer>.winograd.AT" / ".BT" / ".G" F64, as in checkpoints
//   every other parameter ("conv1.weight", "*.bias", fc weights) dense F32.
// No optimizer state, no masks: the zeros are the ones the CSR leaves out. At 90% sparsity a
// Winograd weight costs 0.6 bytes per coefficient instead of 4 (dense) or 9 (checkpoint: value,
// momentum, mask). eval (and any loader of this project) reads it like a checkpoint.
#include <string>

#include "winoprune/io/safetensors.h"
#include "winoprune/nn/model.h"

namespace wp {

constexpr const char* kExportFormat = "winoprune-export-1";

// `config`: the resolved experiment config (JSON text, "" for none), kept as "config" metadata
// so that `eval MODEL` finds its data without --config.
void export_model(Model& model, const std::string& path, const std::string& config = "");
bool is_export(const SafeTensorsFile& file);
// Fills `model` (built from the file's "model" metadata) from an export; InputError naming the
// file and tensor for anything missing, misshapen or out of range.
void load_export_into(const SafeTensorsFile& file, Model& model);

}  // namespace wp
