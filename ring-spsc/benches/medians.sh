#!/usr/bin/env bash
# Runs the criterion benches (throughput, wakeup) RUNS times and prints, per benchmark, the median
# over runs of criterion's per-run median time, with records/s and bytes/s derived from it: the
# table the issue asks for, robust to the noise of shared cores.
#
#   RUNS=5 ring-spsc/benches/medians.sh [criterion args, e.g. --measurement-time 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-target}
samples=$(mktemp -d)
trap 'rm -rf "$samples"' EXIT
for run in $(seq "$runs"); do
    rm -rf "$target/criterion"
    cargo bench -p ring-spsc --bench throughput --bench wakeup -- "$@" >"$samples/log$run" 2>&1
    find "$target/criterion" -path '*/new/estimates.json' | while read -r est; do
        dir=$(dirname "$est")
        python3 - "$dir" "$run" >>"$samples/medians" <<'PY'
import json, sys
d, run = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{d}/benchmark.json"))
median = json.load(open(f"{d}/estimates.json"))["median"]["point_estimate"]
tp = meta.get("throughput") or {}
nbytes = tp.get("ElementsAndBytes", {}).get("bytes", 0)
print(json.dumps({"id": meta["full_id"], "run": run, "ns": median, "bytes": nbytes}))
PY
    done
    echo "run $run/$runs done" >&2
done
python3 - "$samples/medians" "$runs" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["id"], {"bytes": r["bytes"], "ns": []})["ns"].append(r["ns"])
print(f"median of {sys.argv[2]} runs (each: criterion's median)\n")
print("| benchmark | ns/op | runs (ns) | Mrec/s | MiB/s |")
print("|---|---:|---|---:|---:|")
for key in sorted(rows, key=lambda k: (k.split("/")[0], k)):
    r = rows[key]
    ns = statistics.median(r["ns"])
    each = " ".join(f"{x:.1f}" for x in r["ns"])
    mib = f"{r['bytes'] / ns * 1e9 / 2**20:.0f}" if r["bytes"] else ""
    print(f"| {key} | {ns:.1f} | {each} | {1e3 / ns:.2f} | {mib} |")
PY
