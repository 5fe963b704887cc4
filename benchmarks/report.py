#!/usr/bin/env python3
"""report.py - turns the JSON lines of one benchmarks/run.sh call into a result file and
markdown tables ready to paste into benchmarks/README.md. Standard library only.

usage: report.py --device NAME --commit SHA --date YYYY-MM-DD [--dirty true|false|unknown]
                 --out-json FILE --out-md FILE  JSONL...
Every input line that parses as a JSON object is kept; others are ignored. Kernel lines
have "bench": "kernels", step lines "bench": "step" with "impl" ctcd / torch-eager /
torch-compile.
"""
import argparse
import json


def read_lines(paths):
    rows = []
    for p in paths:
        try:
            with open(p) as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("{"):
                        try:
                            rows.append(json.loads(line))
                        except ValueError:
                            pass
        except OSError:
            pass
    return rows


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def pct(v):
    return "-" if v is None else "%.0f%%" % (100 * v)


def step_tables(steps):
    """ctcd vs eager vs compile per configuration."""
    key = lambda r: (r.get("pair"), r.get("head"), r.get("seq"), r.get("batch"))
    by = {}
    for r in steps:
        if r.get("pair"):  # lines without a configuration only say a whole run was skipped
            by.setdefault(key(r), {})[r.get("impl")] = r
    out = ["| pair | head | seq | batch | ctcd ex/s | eager ex/s | compile ex/s | ctcd/eager |"
           " ctcd/compile | ctcd MFU | eager MFU | compile MFU | ctcd mem GiB | torch peak GiB |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in sorted(by, key=lambda k: tuple(str(x) for x in k)):
        c, e, t = (by[k].get(i, {}) for i in ("ctcd", "torch-eager", "torch-compile"))
        ex = lambda r: r.get("examples_per_s")
        ratio = lambda a, b: ("%.2fx" % (ex(a) / ex(b))) if ex(a) and ex(b) else "-"
        gib = lambda v: fmt(v / 2**30, "%.1f") if v else "-"
        note = lambda r: r.get("error", r.get("skipped", ""))[:40] if r else ""
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            k[0], k[1], k[2], k[3], fmt(ex(c)) if ex(c) else note(c) or "-",
            fmt(ex(e)) if ex(e) else note(e) or "-", fmt(ex(t)) if ex(t) else note(t) or "-",
            ratio(c, e), ratio(c, t), pct(c.get("mfu")), pct(e.get("mfu")), pct(t.get("mfu")),
            gib(c.get("mem_total_bytes")), gib(max(e.get("mem_total_bytes") or 0,
                                                   t.get("mem_total_bytes") or 0))))
    return out


def kernel_tables(kern):
    out = ["| op | shape | variant | us | GB/s | TFLOP/s | bound | of peak | of copy BW |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in kern:
        if "op" not in r:
            continue
        if "error" in r:
            out.append("| %s | %s | %s | error | | | | | |" % (r["op"], r["shape"], r["variant"]))
            continue
        out.append("| %s | %s | %s | %.1f | %s | %s | %s | %s | %s |" % (
            r["op"], r["shape"], r["variant"], r["us"], fmt(r.get("gbps"), "%.0f"),
            fmt(r.get("tflops")), r.get("bound", ""), pct(r.get("frac_peak")),
            pct(r.get("frac_copy_bw")) if r.get("bound") == "memory" else "-"))
    # unfused vs fused: same op and shape, the variant named in "compare"
    cmp = ["", "| unfused variant | fused | shape | unfused us | fused us | unfused/fused |",
           "|---|---|---|---|---|---|"]
    for r in kern:
        if not r.get("compare") or "us" not in r:
            continue
        base = [b for b in kern if "us" in b and b.get("shape") == r["shape"] and
                (b["op"] + " " + b["variant"]) == r["compare"]]
        if base:
            b = base[0]
            cmp.append("| %s: %s | %s | %s | %.1f | %.1f | %.2fx |" % (
                r["op"], r["variant"], b["variant"], r["shape"], r["us"], b["us"],
                r["us"] / b["us"]))
    return out + cmp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--dirty", default="unknown", help="true, false or unknown (null)")
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--out-md", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    rows = read_lines(a.inputs)
    kern = [r for r in rows if r.get("bench") == "kernels"]
    steps = [r for r in rows if r.get("bench") == "step"]
    dev = next((r for r in kern if r.get("event") == "device"), {})
    doc = {"device": a.device, "commit": a.commit, "dirty": {"true": True, "false": False}.get(a.dirty), "date": a.date,
           "peaks": {k: dev.get(k) for k in ("peak_tflops", "peak_gbps", "peak_source")},
           "kernels": kern, "step": steps}
    with open(a.out_json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    copy = next((r for r in kern if r.get("op") == "copy" and "gbps" in r), {})
    md = ["### %s, commit %s, %s" % (a.device, a.commit, a.date), "",
          "Peaks: %s; measured copy bandwidth %s GB/s." % (
              dev.get("peak_source", "?"), fmt(copy.get("gbps"), "%.0f")), "",
          "Co-training step (examples/s; MFU = model FLOPs of both models / time / peak):", ""]
    md += step_tables(steps) + ["", "Kernels:", ""] + kernel_tables(kern)
    with open(a.out_md, "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
