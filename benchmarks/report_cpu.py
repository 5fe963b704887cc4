#!/usr/bin/env python3
"""report_cpu.py - benchmarks/run-cpu.sh's results file from its measurements.

Reads the JSON lines of `ctcd bench step` and reference_cpu.py (one per round and
configuration, with "round" added), of cpu_step and tokenize_bench, and writes one JSON file:
the machine, threads, commit, both implementations' versions, every measurement, and per
configuration (pair, lengths, head) the median examples/s of each implementation over the
rounds and their ratio ctcd / PyTorch (also the lowest and highest per-round ratio). --table
writes the markdown table benchmarks/README.md quotes.
"""
import argparse
import json
import platform
import statistics
import subprocess


def read_lines(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.startswith("{")]
    except FileNotFoundError:
        return []


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k in ("step", "cpu-step", "tokenize", "commit", "dirty", "date", "threads",
              "ctcd-version", "out", "table"):
        ap.add_argument("--" + k, required=k in ("step", "out"))
    a = ap.parse_args()
    runs = read_lines(a.step)
    groups = {}
    for r in runs:
        impl = "ctcd" if r["impl"] == "ctcd" else "torch"
        key = (r["pair"], r.get("lengths", "full"), r["head"], r["seq"], r["batch"])
        groups.setdefault(key, {"ctcd": {}, "torch": {}})[impl][r["round"]] = r
    torch_version = next((r["torch"] for r in runs if "torch" in r), None)
    table = []
    for (pair, lengths, head, seq, batch), g in groups.items():
        c = [g["ctcd"][k]["examples_per_s"] for k in sorted(g["ctcd"])]
        t = [g["torch"][k]["examples_per_s"] for k in sorted(g["torch"])]
        row = {"pair": pair, "lengths": lengths, "head": head, "seq": seq, "batch": batch,
               "rounds": min(len(c), len(t)), "ctcd_examples_per_s": c,
               "torch_examples_per_s": t}
        if c and t:
            both = sorted(set(g["ctcd"]) & set(g["torch"]))
            per_round = [g["ctcd"][k]["examples_per_s"] / g["torch"][k]["examples_per_s"]
                         for k in both]
            row.update(ctcd_median=statistics.median(c), torch_median=statistics.median(t),
                       ratio=round(statistics.median(c) / statistics.median(t), 3),
                       ratio_min=round(min(per_round), 3), ratio_max=round(max(per_round), 3))
        table.append(row)
    doc = {
        "device": "%s (%d cores visible)" % (cpu_model(), __import__("os").cpu_count()),
        "omp_num_threads": int(a.threads) if a.threads else None,
        "commit": a.commit, "dirty": a.dirty == "true", "date": a.date,
        "ctcd_version": a.ctcd_version, "torch_version": torch_version,
        "step_vs_torch": table, "step_runs": runs,
        "results": read_lines(a.cpu_step) + read_lines(a.tokenize),
    }
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    if a.table:
        with open(a.table, "w") as f:
            f.write("| pair | lengths | head | ctcd ex/s | PyTorch ex/s | ctcd / PyTorch "
                    "(per-round range) |\n|---|---|---|---:|---:|---:|\n")
            for r in table:
                if "ratio" not in r:
                    continue
                f.write("| %s | %s | %s | %.1f | %.1f | %.2f× (%.2f–%.2f) |\n" % (
                    r["pair"], r["lengths"] if r["lengths"] == "ragged" else "seq %d" % r["seq"],
                    r["head"], r["ctcd_median"], r["torch_median"], r["ratio"],
                    r["ratio_min"], r["ratio_max"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
