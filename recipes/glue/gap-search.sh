#!/bin/sh
# gap-search.sh — where does co-training have something to teach? For each GLUE task of TASKS
# and each epoch budget of EPOCHS, the large model alone against the small model alone
# (<task>-ctcd.yaml's models, from scratch), SEEDS seeds, deterministic one-thread runs JOBS
# at a time (scripts/compare-parallel.sh into OUT/<task>-e<epochs>/), then one table of the
# gap large-alone - small-alone (mean, paired 95% interval, wall time of the runs).
#
#   recipes/glue/gap-search.sh [OUT] [--set KEY=VALUE ...]
#   e.g. TASKS="cola stsb" EPOCHS="5 10" recipes/glue/gap-search.sh runs/gap
#
# Environment: TASKS (default "cola stsb sst2"), EPOCHS (default "3 6"), SEEDS (default 3),
# JOBS, CTCD. Started again, it keeps the runs already finished.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-runs/gap-search}
[ $# -gt 0 ] && shift
TASKS=${TASKS:-"cola stsb sst2"}
EPOCHS=${EPOCHS:-"3 6"}
export SEEDS=${SEEDS:-3} ARMS="large-alone small-alone"
for task in $TASKS; do
    for e in $EPOCHS; do
        "$here/../../scripts/compare-parallel.sh" "$here/$task-ctcd.yaml" "$out/$task-e$e" \
            --set train.epochs="$e" "$@" >"$out.$task-e$e.log" 2>&1 ||
            { echo "gap-search.sh: $task, $e epochs failed (see $out.$task-e$e.log)" >&2; exit 1; }
    done
done
python3 - "$out" $TASKS -- $EPOCHS <<'PY'
import json, os, re, sys
out, rest = sys.argv[1], sys.argv[2:]
tasks, epochs = rest[:rest.index("--")], rest[rest.index("--") + 1:]
print("| task | epochs | large alone | small alone | large - small [95% paired interval] "
      "| run time (s, per seed: large + small) |")
print("|---|---|---:|---:|---:|---:|")
for t in tasks:
    for e in epochs:
        d = os.path.join(out, "%s-e%s" % (t, e))
        s = json.load(open(os.path.join(d, "summary.json")))
        col = s["task_metric"] if s["task_metric"] in s["columns"] else s["columns"][-1]
        ser = {x["label"]: x["stats"][col] for x in s["series"]}
        gap = next(x for x in s["deltas"] if x["label"] == "large-alone - small-alone")
        g = gap["stats"][col]
        secs = 0.0
        for arm in ("large-alone", "small-alone"):
            for seed_dir in os.listdir(os.path.join(d, arm)):
                m = re.search(r"in ([0-9.]+) s", open(os.path.join(d, arm, seed_dir,
                                                                   "summary.md")).read())
                secs += float(m.group(1)) if m else 0.0
        ci = g.get("ci95") or [float("nan")] * 2
        print("| %s | %s | %.4f ± %.4f | %.4f ± %.4f | %+.4f [%+.4f, %+.4f]%s | %.0f |" % (
            t, e, ser["large-alone"]["mean"], ser["large-alone"]["std"],
            ser["small-alone"]["mean"], ser["small-alone"]["std"], g["mean"], ci[0], ci[1],
            " *" if g.get("excludes_zero") else "", secs / max(1, len(os.listdir(os.path.join(d, "large-alone"))))))
PY
