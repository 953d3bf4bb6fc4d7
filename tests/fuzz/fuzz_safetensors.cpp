// Fuzz harness: a checkpoint file as `run --resume`, `eval` and `export` read it: the
// safetensors container (header JSON, dtypes, offsets), then the checkpoint's metadata (run state,
// model description) and every tensor converted to the engine's float tensors.
#include "harness.h"
#include "winoprune/app/model_checkpoint.h"
#include "winoprune/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return wp::fuzz::run_one([&] {
    wp::SafeTensorsFile file = wp::parse_safetensors(data, size, "fuzz.safetensors");
    for (const wp::SafeTensor& t : file.tensors)
      if (t.dtype == wp::DType::F32) (void)wp::to_tensor(t, file.path);
    if (file.metadata.count("state")) (void)wp::checkpoint_run_state(file);
    if (file.metadata.count("model")) (void)wp::checkpoint_model_config(file);
  });
}
