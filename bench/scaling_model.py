#!/usr/bin/python3
"""bench/scaling_model.py: the alpha-beta scaling model of gendec's data-parallel trainer (docs/scaling.md).

Reads the measurements bench/scaling saved (--measured FILE, JSON) and predicts the strong- and weak-scaling
efficiency of training at p = 8 .. 512 ranks on cluster interconnects, from:
  * compute per step: the model's forward + backward at the local batch b, T_model(b), measured by
    `gendec bench train --json` at 1 rank x 1 thread for b = 1, 2, 4, ..., 256 (the 'model_s' field), and
    zeroing the gradient + Adam over all P weights, T_adam (the 'adam_s' field; the trainer shards Adam, so a
    rank spends T_adam / p);
  * communication per step, exactly what src/train/train.c does on p > 1 ranks (all blocking, nothing overlaps
    the backward pass or Adam):
      - MPI_Allreduce of one int (status agreement: it also absorbs load imbalance),
      - MPI_Reduce_scatter of the whole gradient (P floats), each rank keeping its P/p block,
      - MPI_Allreduce of n_metrics + 2 doubles (metric sums, stop flag, non-finite flag),
      - MPI_Allgatherv of the updated weights (P floats);
    with ring algorithms for the two large collectives, (p-1) (alpha + (4P/p) beta) each (what MPI libraries use
    for large messages; the reduction's arithmetic is ignored), and a recursive-doubling allreduce,
    ceil(log2 p) alpha, for each of the two small ones.
T(p) = T_model(b) + T_adam / p + T_comm(p); strong scaling (global batch B, b = ceil(B / p)):
E = T(1) / (p T(p)) with T(1) = T_model(B) + T_adam; weak scaling (b fixed): E = (T_model(b) + T_adam) / T(p).
Communication dominates from the smallest p with T_comm(p) >= T_model(b) + T_adam / p.
--rank-speedup S divides the compute times by S (a rank that is a multi-core node rather than one core here).
Prints Markdown tables. Pure arithmetic on the measured numbers; nothing is hard-coded except the interconnects'
published alpha and beta (--interconnect NAME:ALPHA_US:GBPS adds one).
"""
import argparse
import json
import math
import sys

# Published figures, not measured here (docs/scaling.md gives the sources and the reasoning).
INTERCONNECTS = [
    ("InfiniBand HDR 200 Gb/s", 2.0e-6, 24.0e9),
    ("InfiniBand EDR 100 Gb/s", 2.0e-6, 12.0e9),
    ("25 GbE (TCP)", 30.0e-6, 2.9e9),
]
RANKS = [8, 16, 32, 64, 128, 256, 512]


def ring(p, nbytes, alpha, bw):
    """One ring reduce-scatter or allgather of an nbytes vector over p ranks."""
    return (p - 1) * (alpha + nbytes / p / bw)


def comm_time(p, P, alpha, bw):
    """Seconds of communication per training step on p ranks (ZeRO-1 as train.c does it)."""
    if p == 1:
        return 0.0
    small = math.ceil(math.log2(p)) * alpha
    return 2 * small + 2 * ring(p, 4.0 * P, alpha, bw)


def step_time(p, b, m, alpha, bw, speedup):
    """(T, T_compute, T_comm) per step of model m on p ranks with local batch b."""
    tc = (m["model"][b] + m["adam"] / p) / speedup
    tm = comm_time(p, m["P"], alpha, bw)
    return tc + tm, tc, tm


def load(path):
    with open(path) as f:
        meas = json.load(f)
    models = {}
    for r in meas["train"]:
        if r["ranks"] != 1 or r["threads"] != 1:
            continue
        m = models.setdefault(r["model"], {"model": {}, "adam_list": [], "P": None})
        m["model"][r["batch"]] = r["model_s"]
        m["adam_list"].append(r["adam_s"])
    for name, m in models.items():
        a = sorted(m["adam_list"])
        m["adam"] = a[len(a) // 2]
        m["P"] = meas.get("params", {}).get(name)
    return meas, models


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measured", required=True, help="JSON written by bench/scaling")
    ap.add_argument("--batches", default="32,256", help="global batch (strong) / per-rank batch (weak)")
    ap.add_argument("--rank-speedup", type=float, default=1.0, help="compute of one rank / one core here")
    ap.add_argument("--interconnect", action="append", default=[], help="NAME:ALPHA_US:GBPS (adds one)")
    a = ap.parse_args()
    meas, models = load(a.measured)
    nets = list(INTERCONNECTS)
    for s in a.interconnect:
        name, al, gb = s.rsplit(":", 2)
        nets.append((name, float(al) * 1e-6, float(gb) * 1e9))
    batches = [int(x) for x in a.batches.split(",")]
    print(f"# scaling model (docs/scaling.md): measured at load average {meas.get('loadavg_start', '?')}, "
          f"rank = {a.rank_speedup:g} x one core of this machine")
    for name, m in sorted(models.items()):
        if not m["P"]:
            print(f"{name}: no parameter count in the measurements (bench comm did not run); skipped")
            continue
        need = sorted(m["model"])
        print(f"\n{name}: P = {m['P']} floats ({4 * m['P'] / 2**20:.2f} MiB of gradient); measured T_model(b) ms: "
              + ", ".join(f"{b}: {1e3 * m['model'][b]:.2f}" for b in need) + f"; T_adam {1e3 * m['adam']:.2f} ms")
    print("\nPredicted efficiency (%) of training; '-' = fewer than one image per rank; 'comm from' = the"
          " smallest p at which communication per step is at least the compute per step.\n")
    head = "| interconnect | model | mode | batch | " + " | ".join(f"p={p}" for p in RANKS) + \
        " | comm from | T_comm p=8 / p=512 (ms) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for net, alpha, bw in nets:
        for name, m in sorted(models.items()):
            if not m["P"]:
                continue
            for mode in ("strong", "weak"):
                for B in batches:
                    cells, dom = [], None
                    for p in RANKS:
                        b = math.ceil(B / p) if mode == "strong" else B
                        if mode == "strong" and B < p:
                            cells.append("-")
                            continue
                        if b not in m["model"]:
                            cells.append("?")
                            continue
                        T, tc, tm = step_time(p, b, m, alpha, bw, a.rank_speedup)
                        bb = B if mode == "strong" else b
                        if bb not in m["model"]:
                            cells.append("?")
                            continue
                        T1 = (m["model"][bb] + m["adam"]) / a.rank_speedup
                        E = T1 / (p * T) if mode == "strong" else T1 / T
                        cells.append(f"{100 * E:.0f}")
                    for p in [2 ** k for k in range(1, 10)]:
                        b = math.ceil(B / p) if mode == "strong" else B
                        if (mode == "strong" and B < p) or b not in m["model"]:
                            break
                        T, tc, tm = step_time(p, b, m, alpha, bw, a.rank_speedup)
                        if tm >= tc:
                            dom = p
                            break
                    c8, c512 = comm_time(8, m["P"], alpha, bw), comm_time(512, m["P"], alpha, bw)
                    print(f"| {net} | {name} | {mode} | {B} | " + " | ".join(cells) +
                          f" | {dom if dom else '> range'} | {1e3 * c8:.2f} / {1e3 * c512:.2f} |")
    # the model against this machine's 2-rank measurement (shared memory, the fitted collectives)
    fits = meas.get("comm", {})
    if "reduce_scatter" in fits and "allgather" in fits:
        print("\nCheck at p = 2 on this machine (shared memory; the gradient's collectives from bench comm's fits over"
              " sizes >= 64 KiB, the small allreduces from its allreduce fit over all sizes):\n")
        print("| model | global batch | predicted step ms (compute + comm from the fits) |"
              " comm from bench comm at P (RS + AG) | measured step ms (model + comm + adam) |"
              " measured comm ms (of which sync) |")
        print("|---|---|---|---|---|---|")
        direct = meas.get("grad_comm_ms", {})
        rs, ag = fits.get("reduce_scatter_large", fits["reduce_scatter"]), fits.get("allgather_large", fits["allgather"])
        ar = fits.get("allreduce", fits["allgather"])
        for r in meas["train"]:
            if r["ranks"] != 2 or r["model"] not in models or not models[r["model"]]["P"]:
                continue
            m = models[r["model"]]
            b = math.ceil(r["batch"] / 2)
            if b not in m["model"]:
                continue
            n = 4.0 * m["P"]
            tc = m["model"][b] + m["adam"] / 2
            tm = rs["alpha"] + n * rs["beta"] + ag["alpha"] + n * ag["beta"] + 2 * (ar["alpha"] + 8 * ar["beta"])
            d = direct.get(r["model"], {}).get("rs_ag")
            print(f"| {r['model']} | {r['batch']} | {1e3 * (tc + tm):.1f} ({1e3 * tc:.1f} + {1e3 * tm:.1f}) | "
                  f"{'%.1f' % d if d is not None else '?'} | "
                  f"{1e3 * r['step_s']:.1f} ({1e3 * r['model_s']:.1f} + {1e3 * r['comm_s']:.1f} + "
                  f"{1e3 * r['adam_s']:.1f}) | {1e3 * r['comm_s']:.1f} ({1e3 * r['sync_s']:.1f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
