#!/usr/bin/env python3
"""check-layers.py — the layer order of DESIGN.md section 3, checked on every #include.

Layers, top to bottom (a file may include headers of its own layer and the layers below,
never above):

    cli > experiment > search, plan > train > augment > recipe, data > tokenizer > model
        > parallel, backend > cpu, cuda > core

and the rules the order alone does not say: `model` knows the op table (core) but never
cpu/ or cuda/; the backends (cpu/, cuda/) include nothing above core; `data` never includes
model headers; a private header (src/<folder>/*.h) is included from its own folder only.

A source file's layer is its folder (src/<layer>/, cuda/ = cuda). A public header's layer
is given by HEADER_LAYER below: the
module that implements it. Prints every include that breaks the order as file:line and
exits 1 when there is one (0 otherwise). Usage: scripts/check-layers.py [repository root];
`--self-test` plants an upward include in a copy of the tree and checks that it is caught.

.ci/run runs it (and checks that it fails on a planted upward include).
"""
import os
import re
import sys

ORDER = ["core", "cpu", "cuda", "backend", "parallel", "model", "tokenizer", "recipe",
         "data", "augment", "train", "search", "plan", "experiment", "cli"]
RANK = {"core": 0, "cpu": 1, "cuda": 1, "backend": 2, "parallel": 2, "model": 3,
        "tokenizer": 4, "recipe": 5, "data": 5, "augment": 6, "train": 7, "search": 8,
        "plan": 8, "experiment": 9, "cli": 10}

# include/ctcd/<name>.h -> the layer of the module that implements it.
HEADER_LAYER = {
    "arena": "core", "backend": "core", "batch_dev": "core", "build_info": "core",
    "fileio": "core", "hash": "core", "json_util": "core", "libfind": "core", "log": "core",
    "param_set": "core", "plot": "core", "rng": "core", "stats": "core", "status": "core",
    "strlist": "core", "tensor": "core", "utf8": "core",
    "backend_cpu": "cpu",
    "backend_cuda": "cuda", "cuda_probe": "cuda",
    "backend_create": "backend",
    "dist": "parallel", "dist_nccl": "parallel", "launch": "parallel", "zero": "parallel",
    "checkpoint": "model", "model": "model", "rationale": "model", "safetensors": "model",
    "surgery": "model",
    "tokenizer": "tokenizer",
    "recipe": "recipe", "recipe_schema": "recipe",
    "batch_upload": "data", "corpus": "data", "data": "data", "glue": "data", "metrics": "data",
    "rationale_data": "data", "tsv": "data",
    "augment": "augment",
    "bench": "train", "resume": "train", "run": "train", "run_dir": "train",
    "train": "train",
    "importance": "plan", "plan": "plan", "schedule": "plan", "search": "search",
    "experiment": "experiment",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def file_layer(rel):
    parts = rel.split("/")
    if parts[0] == "cuda":
        return "cuda"
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "include" and parts[1] == "ctcd":
        return HEADER_LAYER.get(os.path.splitext(parts[2])[0])
    return None


def resolve(inc, src_rel):
    """(layer, path) of an included file; (None, None) when it is not ours (system,
    generated)."""
    if inc.startswith("ctcd/"):
        name = os.path.splitext(inc[len("ctcd/"):])[0]
        return HEADER_LAYER.get(name, "?" + name), "include/" + inc
    # a private header: relative to the including file, then to src/
    for base in (os.path.dirname(src_rel), "src"):
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(os.path.join(ROOT, cand)):
            return file_layer(cand), cand
    return None, None


def private_of_other_folder(src_rel, dst_path):
    """A header under src/<folder>/ is that folder's own: another folder reaching into it
    uses private fields (the public API lives in include/ctcd/)."""
    return (dst_path is not None and dst_path.startswith("src/") and
            os.path.dirname(dst_path) != os.path.dirname(src_rel))


def violation(src, dst):
    if dst is None or src is None:
        return None
    if dst.startswith("?"):
        return "public header %s.h has no layer in scripts/check-layers.py" % dst[1:]
    if src in ("cpu", "cuda") and dst not in ("core", src):
        return "a backend (%s) includes nothing above core, not %s" % (src, dst)
    if src == "model" and dst in ("cpu", "cuda"):
        return "model knows the op table, never the %s backend" % dst
    if src == "data" and dst == "model":
        return "data knows text and batches, never models"
    if RANK[dst] > RANK[src]:
        return "%s includes %s, a layer above it" % (src, dst)
    return None


def self_test():
    """Plants an upward include (core including the trainer's header) in a copy of the tree
    and checks that the check fails naming it; the real tree must pass. A check that cannot
    fail proves nothing."""
    import shutil
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for top in ("src", "cuda", "include"):
            shutil.copytree(os.path.join(ROOT, top), os.path.join(tmp, top))
        victim = os.path.join(tmp, "src", "core", "log.c")
        with open(victim, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        lines.insert(1, '#include "ctcd/train.h"')
        with open(victim, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        r = subprocess.run([sys.executable, os.path.abspath(__file__), tmp],
                           capture_output=True, text=True)
        want = 'src/core/log.c:2: #include "ctcd/train.h": core includes train, a layer above it'
        if r.returncode != 1 or want not in r.stdout:
            print("check-layers self-test: a planted upward include was not caught "
                  "(exit %d):\n%s" % (r.returncode, r.stdout))
            return 1
    print("check-layers self-test: a planted upward include (src/core/log.c -> ctcd/train.h) "
          "fails the check")
    return 0


def main():
    bad = 0
    for top in ("src", "cuda", "include"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h", ".cu", ".cuh")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
                src = file_layer(rel)
                if rel.startswith("include/") and src is None:
                    print("%s: public header with no layer in scripts/check-layers.py" % rel)
                    bad += 1
                    continue
                with open(os.path.join(ROOT, rel), encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        dst, path = resolve(m.group(1), rel)
                        why = violation(src, dst)
                        if not why and private_of_other_folder(rel, path):
                            why = "private header of %s/ (its public API belongs in " \
                                  "include/ctcd/)" % os.path.dirname(path)
                        if why:
                            print('%s:%d: #include "%s": %s' % (rel, n, m.group(1), why))
                            bad += 1
    if bad:
        print("check-layers: %d include(s) break the layer order of DESIGN.md section 3" % bad)
        return 1
    print("check-layers: every include follows the layer order")
    return 0


ARGS = [a for a in sys.argv[1:] if a != "--self-test"]
ROOT = os.path.abspath(ARGS[0] if ARGS else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), ".."))
if __name__ == "__main__":
    sys.exit(self_test() if "--self-test" in sys.argv[1:] else main())
