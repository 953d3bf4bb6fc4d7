"""ctest include_graph: the areas' include rules, checked over src/<area> and
include/winoprune/<area>. Each rule names an area and the areas it must not include; a
violation prints the file, the line and the rule, and fails the test.

The layering: core <- kernels <- ops, winograd <- sparse <- nn <- optim, prune <- dist <- bench
<- app, with io <- report and data beside them (io holds file formats: JSON reading,
safetensors, atomic files, the run directory, progress output; report holds what a run reports:
report.json/md, layers.csv, metrics.jsonl, SVG plots, text tables; report builds on io, never the
reverse). Pruning sets masks and the optimizer keeps them; they share apply_mask through
nn/parameter.h, so neither includes the other. The kernels own their argument structs
(include/winoprune/kernels/), as XNNPACK's microkernels do: the layers that call them include
the kernels, never the reverse.
Usage: python3 tests/structure/check_includes.py SOURCE_DIR
"""
import os
import re
import sys

LOWER = ["core", "ops", "kernels", "winograd", "sparse", "io", "report", "data", "nn", "optim",
         "prune"]
RULES = {
    # area: areas it must not include
    "prune": {"optim", "dist", "bench", "app"},
    "optim": {"prune", "dist", "bench", "app"},
    "kernels": {"ops", "winograd", "sparse", "nn", "prune", "optim", "data", "io", "report", "dist",
                "bench", "app"},
    "io": {"report", "ops", "kernels", "winograd", "sparse", "data", "nn", "optim", "prune", "dist"},
    "report": {"ops", "kernels", "winograd", "sparse", "data", "nn", "optim", "prune", "dist"},
}
for area in LOWER:
    RULES.setdefault(area, set()).update({"bench", "app"})

INCLUDE = re.compile(r'^\s*#\s*include\s+"winoprune/([a-z_]+)/')


def files_of(root, area):
    for base in (os.path.join(root, "src", area), os.path.join(root, "include", "winoprune", area)):
        for dirpath, _, names in os.walk(base):
            for n in names:
                if n.endswith((".h", ".cpp", ".inc")):
                    yield os.path.join(dirpath, n)


def main(root):
    bad = 0
    checked = 0
    for area, forbidden in sorted(RULES.items()):
        for path in files_of(root, area):
            checked += 1
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m and m.group(1) in forbidden:
                        rel = os.path.relpath(path, root)
                        print(f"{rel}:{number}: {area}/ must not include {m.group(1)}/: {line.strip()}")
                        bad += 1
    print(f"checked {checked} files against {len(RULES)} area rules: {bad} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
