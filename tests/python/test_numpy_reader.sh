#!/usr/bin/env bash
# ctest numpy_reader: python/winoprune_numpy.py's logits against winoprune's own, for a
# checkpoint and its export. A short run (alexnet-small narrowed, LRN on, groups 2, conv2 and
# conv4 with F(4x4) tiles, conv3 and conv5 with F(2x2), pruned to 80%) is evaluated on 64
# validation images by `winoprune eval --dump-logits` (sparse kernel) and by the NumPy reader,
# which must agree within 1e-4 of the largest logit.
# Usage: test_numpy_reader.sh WINOPRUNE_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
bin="$1" src="$2" work="$3"
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  echo "SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"; exit 0
fi
# The first Python that has NumPy (Debian's python3-numpy is in /usr/bin/python3's path; a
# python3 of pyenv or a virtualenv earlier in PATH may not see it).
py=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import numpy" 2>/dev/null; then py="$candidate"; break; fi
done
if [ -z "$py" ]; then
  echo "SKIPPED: NumPy is not installed (apt-get install python3-numpy)"; exit 0
fi
rm -rf "$work"
mkdir -p "$work"
cat > "$work/cfg.json" <<'JSON'
{"name": "numpy-reader", "seed": 3, "threads": 1, "log_every": 10,
 "data": {"dataset": "fashion-mnist", "batch": 32, "workers": 1,
          "train": {"limit": 640}, "val": {"limit": 256}},
 "model": {"arch": "alexnet-small", "widths": [16, 32, 32, 32, 32], "fc_widths": [64, 64],
           "groups": 2, "lrn": true},
 "phases": [
  {"type": "train", "epochs": 1, "optimizer": {"lr": 0.02, "momentum": 0.9}},
  {"type": "convert", "layers": ["conv2", "conv3", "conv4", "conv5"],
   "m": {"conv2": 4, "conv3": 2, "conv4": 4, "conv5": 2}},
  {"type": "prune", "epochs": 1, "optimizer": {"lr": 0.005},
   "pruners": {"agp": {"type": "gradual", "layers": "winograd", "final_sparsity": 0.8}},
   "policies": [{"pruner": "agp", "unit": "iteration", "start": 0, "end": 15, "frequency": 5}]},
  {"type": "eval", "kernel": "sparse"}]}
JSON
"$bin" run "$work/cfg.json" --out "$work/run" > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
"$bin" export "$work/run/checkpoints/latest.safetensors" --out "$work/model.safetensors" \
  > "$work/export.log" 2>&1 || { cat "$work/export.log"; exit 1; }
for model in "$work/run/checkpoints/latest.safetensors" "$work/model.safetensors"; do
  "$bin" eval "$model" --set data.val.limit=64 --dump-logits "$work/logits.npy" \
    > "$work/eval.log" 2>&1 || { cat "$work/eval.log"; exit 1; }
  "$py" "$src/python/winoprune_numpy.py" "$model" --limit 64 --compare "$work/logits.npy" \
    --tolerance 1e-4
done
