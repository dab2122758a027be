#!/usr/bin/env python3
"""Recomputes the numbers of `gendec report` from gendec's HDF5 result files with h5py and numpy alone.

An independent second implementation of the counting rules of src/report/tables.c (and a starting point for
anyone analysing the files without gendec; the layouts are in docs/hdf5-schema.md). For every number it
prints one tab-separated line:

    <row label>\t<column>\t<k>\t<n>

e.g. "traffic_signs: proposed, correct decomposition\tnovel test signs\t7\t10". tests/report/test_analysis.sh
runs it on hand-made files and checks that report.md shows the same k/n in the same cell. The CNN rows of the
traffic-sign table need a CNN forward pass and are left out here.

usage: python3 analysis/tables.py <run folder | results/...> ...
"""
import os
import sys

import h5py
import numpy as np
import zlib


def find_runs(path, depth=3):
    """Run folders at or below path (folders holding a stage file), in name order."""
    names = ("eval.h5", "fgm.h5", "neat.h5", "sweep.h5", "model.h5", "cnn.h5")
    if any(os.path.isfile(os.path.join(path, n)) for n in names) or (
            os.path.isdir(path) and any(n.startswith("sweep.slice-") and n.endswith(".h5") for n in os.listdir(path))):
        return [path]
    if depth == 0 or not os.path.isdir(path):
        return []
    out = []
    for sub in sorted(os.listdir(path)):
        p = os.path.join(path, sub)
        if not sub.startswith(".") and os.path.isdir(p):
            out += find_runs(p, depth - 1)
    return out


def text(v):
    """An HDF5 string attribute (variable- or fixed-length) as str."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8")
    return str(v)


def check_seal(path):
    """gendec's integrity seal (src/io/seal.c): the 512-byte user block holds the file size and a CRC-32 of
    everything after it. Checked before h5py parses the file, as gendec does."""
    with open(path, "rb") as fh:
        b = fh.read()
    head = b[:512].rstrip(b"\0").decode("ascii", "replace").split("\n")
    if len(head) < 3 or head[0] != "GENDEC-SEAL 1":
        raise SystemExit(f"{path}: not a sealed gendec file")
    size, crc = int(head[1].split()[1]), int(head[2].split()[1], 16)
    if size != len(b) or zlib.crc32(b[512:]) != crc:
        raise SystemExit(f"{path}: damaged (size or CRC-32 differs from its seal)")


def open_complete(path, kind):
    check_seal(path)
    f = h5py.File(path, "r")
    if int(f.attrs.get("complete", 0)) != 1 or text(f.attrs.get("kind", b"")) != kind:
        raise SystemExit(f"{path}: not a complete gendec {kind} file")
    return f


def config_value(f, section, key):
    """A value of the resolved config stored in config_yaml (a flat two-level YAML as gendec emits it)."""
    inside = False
    for line in text(f.attrs["config_yaml"]).splitlines():
        if not line.startswith(" "):
            inside = line.rstrip() == section + ":"
        elif inside and line.strip().startswith(key + ":"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return None


def exact(ydec, noise, labels):
    """Decision equals the label exactly; a rejected image decides all zeros."""
    d = np.where(noise[:, None] != 0, 0, ydec != 0)
    return np.all(d == (labels != 0), axis=1)


def onehot_ok(ydec, noise, cls):
    n = ydec.shape[-1]
    want = np.eye(n, dtype=bool)[np.clip(cls, 0, n - 1)]
    return (noise == 0) & np.all((ydec != 0) == want, axis=-1) & (cls >= 0) & (cls < n)


def main(paths):
    runs = []
    for p in paths:
        runs += find_runs(p.rstrip("/"))
    names = {}
    for r in runs:
        slices = sorted(n for n in os.listdir(r) if n.startswith("sweep.slice-") and n.endswith(".h5"))
        for stage, fn in [(s, s + ".h5") for s in ("eval", "fgm", "neat", "sweep")] + [("sweep", n) for n in slices]:
            fp = os.path.join(r, fn)
            if os.path.isfile(fp):
                with open_complete(fp, stage) as f:
                    names[r] = (config_value(f, "experiment", "name"), config_value(f, "data", "set"))
                break
    count = {}
    for r, (exp, _) in names.items():
        count[exp] = count.get(exp, 0) + 1

    def label(r):
        exp = names[r][0]
        return exp if count[exp] == 1 else f"{exp} ({os.path.basename(r)})"

    def emit(row, col, k, n):
        print(f"{row}\t{col}\t{int(k)}\t{int(n)}")

    for r in runs:
        if r not in names:
            continue
        exp, dset = names[r]
        lab = label(r)
        fp = os.path.join(r, "eval.h5")
        if os.path.isfile(fp):
            with open_complete(fp, "eval") as f:
                labels, ydec, noise = f["eval/labels"][()], f["eval/y_dec"][()], f["eval/noise"][()]
                ok = exact(ydec, noise, labels)
                if dset == "traffic_signs":
                    emit(f"{lab}: proposed, correct decomposition", "novel test signs", ok.sum(), len(ok))
                    emit(f"{lab}: proposed, rejected as noise", "novel test signs", (noise != 0).sum(), len(ok))
                if dset == "multimnist":
                    emit(f"{lab}: proposed, both digits", "test images", ok.sum(), len(ok))
                    if "eval/y_star" in f:
                        ys = f["eval/y_star"][()]
                        pairs = (labels != 0).sum(axis=1) == 2
                        top = np.argsort(-ys, axis=1, kind="stable")[:, :2]
                        hit = np.take_along_axis(labels != 0, top, axis=1).all(axis=1)
                        emit(f"{lab}: proposed, top-2 of y*", "test images", (hit & pairs).sum(), pairs.sum())
        fp = os.path.join(r, "fgm.h5")
        if os.path.isfile(fp):
            with open_complete(fp, "fgm") as f:
                title = {"mnist": "MNIST", "norb": "NORB", "fashion_mnist": "Fashion-MNIST (for NORB)"}.get(dset, dset)
                eps, y = f.attrs["eps"], f["labels"][()]
                rows = [("CNN (no defense)", f["cnn/pred"][()] == y[None, :]),
                        ("baseline (binarization)", f["binarized_cnn/pred"][()] == y[None, :])]
                if "generative/ydec" in f:
                    rows.append(("proposed", onehot_ok(f["generative/ydec"][()], f["generative/noise"][()], y[None, :])))
                for name, ok in rows:
                    for e, v in enumerate(eps):
                        emit(f"{title} {name} [{lab}]", f"eps {v:.2g}", ok[e].sum(), len(y))
        fp = os.path.join(r, "neat.h5")
        if os.path.isfile(fp):
            with open_complete(fp, "neat") as f:
                thr = float(f["fooling"].attrs.get("threshold", 0.9))
                conf = f["fooling/confidence"][()]
                emit(f"{lab}: CNN fooled (confidence > {thr:.2g})", "fooling images", (conf > thr).sum(), len(conf))
                if "fooling/binarized_cnn/p_target" in f:
                    b = f["fooling/binarized_cnn/p_target"][()]
                    emit(f"{lab}: binarized CNN still fooled", "fooling images", (b > thr).sum(), len(b))
                if "fooling/generative/noise" in f:
                    noise = f["fooling/generative/noise"][()]
                    emit(f"{lab}: proposed, identified as noise", "fooling images", (noise != 0).sum(), len(noise))
                    if "noise/generative/noise" in f:
                        z = f["noise/generative/noise"][()]
                        emit(f"{lab}: proposed, uniform noise rejected", "fooling images", (z != 0).sum(), len(z))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
