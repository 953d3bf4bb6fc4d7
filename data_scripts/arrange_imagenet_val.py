#!/usr/bin/env python3
"""Arrange a flat ImageNet validation folder into class folders (val/<wnid>/<file>).

Labels come from Kaggle's LOC_val_solution.csv (the first token of PredictionString is the
wnid) or from a ground-truth list "<file> <label>" (Caffe's val.txt; labels index the sorted
wnids, taken from --synsets or from the class folders of --train-dir).

By default the new folder holds symbolic links to the original files, which are never moved
unless --move is given (--copy copies). OUT must not exist or be empty: nothing is overwritten.
Every listed file is checked before anything is created. Exit status 0 on success, 2 on bad
usage or input. Only the Python standard library is used.

Examples:
  arrange_imagenet_val.py --val-dir ILSVRC/Data/CLS-LOC/val --csv LOC_val_solution.csv --out val_by_class
  arrange_imagenet_val.py --val-dir val_flat --list val.txt --train-dir train --out val_by_class
"""
import argparse
import csv
import os
import shutil
import sys


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(2)


def read_csv(path):
    """ImageId -> wnid from LOC_val_solution.csv; the image file is <ImageId>.JPEG."""
    out = {}
    try:
        with open(path, newline="") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if not header or header[0] != "ImageId":
                fail(f"{path}:1: expected the header 'ImageId,PredictionString', got {header!r}")
            for number, row in enumerate(rows, start=2):
                if not row:
                    continue
                if len(row) < 2 or not row[1].split():
                    fail(f"{path}:{number}: expected '<ImageId>,<wnid> x0 y0 x1 y1 ...', got {row!r}")
                out[row[0] + ".JPEG"] = row[1].split()[0]
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror})")
    return out


def read_wnids(synsets, train_dir):
    if synsets:
        try:
            with open(synsets) as f:
                wnids = [line.split()[0] for line in f if line.strip()]
        except OSError as e:
            fail(f"{synsets}: cannot read ({e.strerror})")
    else:
        if not os.path.isdir(train_dir):
            fail(f"{train_dir}: training folder not found")
        wnids = [d for d in os.listdir(train_dir)
                 if not d.startswith(".") and os.path.isdir(os.path.join(train_dir, d))]
    wnids = sorted(wnids)
    if not wnids:
        fail(f"{synsets or train_dir}: no classes found")
    return wnids


def read_list(path, wnids):
    """'<file> <label>' lines; label = index into the sorted wnids."""
    out = {}
    try:
        with open(path) as f:
            for number, line in enumerate(f, start=1):
                line = line.strip()
                if not line:
                    continue
                parts = line.rsplit(None, 1)
                if len(parts) != 2 or not parts[1].isdigit():
                    fail(f"{path}:{number}: expected '<file> <label>', got {line!r}")
                label = int(parts[1])
                if label >= len(wnids):
                    fail(f"{path}:{number}: label {label} outside [0, {len(wnids) - 1}] "
                         f"({len(wnids)} classes)")
                out[parts[0]] = wnids[label]
    except OSError as e:
        fail(f"{path}: cannot read ({e.strerror})")
    return out


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--val-dir", required=True, help="flat folder of validation images")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", help="Kaggle LOC_val_solution.csv")
    src.add_argument("--list", help="ground-truth list '<file> <label>' (Caffe val.txt)")
    p.add_argument("--synsets", help="with --list: wnid list (LOC_synset_mapping.txt, synsets.txt)")
    p.add_argument("--train-dir", help="with --list: take the sorted wnids from its class folders")
    p.add_argument("--out", required=True, help="new folder to create (must not exist or be empty)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--move", action="store_true", help="move the files instead of linking")
    how.add_argument("--copy", action="store_true", help="copy the files instead of linking")
    a = p.parse_args()

    if not os.path.isdir(a.val_dir):
        fail(f"{a.val_dir}: validation folder not found")
    if a.list and not (a.synsets or a.train_dir):
        fail("--list needs --synsets or --train-dir (labels index the sorted wnids)")
    if os.path.exists(a.out) and (not os.path.isdir(a.out) or os.listdir(a.out)):
        fail(f"{a.out}: exists and is not an empty folder; refusing to overwrite it")

    labels = read_csv(a.csv) if a.csv else read_list(a.list, read_wnids(a.synsets, a.train_dir))
    if not labels:
        fail(f"{a.csv or a.list}: no images listed")
    missing = [name for name in labels if not os.path.isfile(os.path.join(a.val_dir, name))]
    if missing:
        fail(f"{len(missing)} listed images not found in {a.val_dir}, e.g. {missing[0]}")

    os.makedirs(a.out, exist_ok=True)
    for wnid in sorted(set(labels.values())):
        os.makedirs(os.path.join(a.out, wnid), exist_ok=True)
    for name, wnid in sorted(labels.items()):
        source = os.path.abspath(os.path.join(a.val_dir, name))
        target = os.path.join(a.out, wnid, os.path.basename(name))
        if a.move:
            shutil.move(source, target)
        elif a.copy:
            shutil.copy2(source, target)
        else:
            os.symlink(source, target)
    verb = "moved" if a.move else "copied" if a.copy else "linked"
    print(f"{a.out}: {len(labels)} images {verb} into {len(set(labels.values()))} class folders")


if __name__ == "__main__":
    main()
