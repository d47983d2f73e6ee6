#!/usr/bin/env bash
# The sharding recipes, run here the way their engines run them (issue 13, item 5): the Slurm
# array script and the Kubernetes Indexed Job manifest's own commands, once per index as
# concurrent processes with the environment the engine sets, then their merge step. The
# merged analysis must be byte-identical to one `weightlint analyze --format json`, and the
# gate that follows must give check's verdict on the model itself.
set -euo pipefail
WL=${WL:-build/weightlint}
WL=$(cd "$(dirname "$WL")" && pwd)/$(basename "$WL")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" && ln -s "$WL" "$tmp/bin/weightlint"
export PATH="$tmp/bin:$PATH"
m=$PWD/tests/conformance/models/conv.onnx
"$WL" analyze --no-progress -f json "$m" -o "$tmp/single.json"
want_rc=0
"$WL" check --format text "$m" >"$tmp/check.want" || want_rc=$?

# --- Slurm: sbatch --array=LO-HI runs the script once per index with SLURM_ARRAY_*.
slurm() { # slurm LO HI
    local lo=$1 hi=$2 out=$tmp/slurm-$1-$2 pids=() k rc=0
    for ((k = lo; k <= hi; k++)); do
        SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=$lo SLURM_ARRAY_TASK_MAX=$hi \
            SLURM_ARRAY_TASK_COUNT=$((hi - lo + 1)) SLURM_CPUS_PER_TASK=1 \
            bash examples/slurm/weightlint-array.sh "$m" "$out" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    bash examples/slurm/weightlint-array.sh --merge "$m" "$out" >"$tmp/check.got" || rc=$?
    cmp "$tmp/single.json" "$out/analysis.json"
    [ "$rc" -eq "$want_rc" ] || { echo "slurm gate exited $rc, check on the model $want_rc"; exit 1; }
}
slurm 0 1
slurm 0 3
slurm 1 3 # --array=1-3 numbers its tasks from 1

# --- Kubernetes: each pod of the Indexed Job runs the container's command with its env and
# JOB_COMPLETION_INDEX; the merge Job runs once. MODEL and OUT point here instead of /work.
python3 - examples/k8s/weightlint-indexed-job.yaml "$tmp/k8s" <<'PY' >"$tmp/k8s.sh"
import shlex, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = sys.argv[2]
shards, merge = docs
spec = shards["spec"]
assert spec["completionMode"] == "Indexed"
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"]), "keep them equal"
env.update(MODEL=sys.argv[3] if len(sys.argv) > 3 else "", OUT=out)
print("mkdir -p %s" % shlex.quote(out))
print("pids=()")
for k in range(spec["completions"]):
    e = dict(env, JOB_COMPLETION_INDEX=str(k))
    assigns = " ".join("%s=%s" % (n, shlex.quote(v)) for n, v in e.items() if n != "MODEL")
    print("%s MODEL=\"$MODEL\" %s %s &" % (assigns, " ".join(map(shlex.quote, c["command"])),
                                         " ".join(map(shlex.quote, c["args"]))))
    print("pids+=($!)")
print('for p in "${pids[@]}"; do wait "$p"; done')
mc = merge["spec"]["template"]["spec"]["containers"][0]
menv = {e["name"]: e["value"] for e in mc["env"]}
menv["OUT"] = out
print("%s %s %s" % (" ".join("%s=%s" % (n, shlex.quote(v)) for n, v in menv.items()),
                    " ".join(map(shlex.quote, mc["command"])), " ".join(map(shlex.quote, mc["args"]))))
PY
rc=0
MODEL=$m bash "$tmp/k8s.sh" >"$tmp/check.got" || rc=$?
cmp "$tmp/single.json" "$tmp/k8s/analysis.json"
[ "$rc" -eq "$want_rc" ] || { echo "k8s gate exited $rc, check on the model $want_rc"; exit 1; }
[ -n "$(find "$tmp/k8s/cache" -type f)" ] # the pods shared the --cache on the volume
echo "Slurm (2, 4, 3 from 1) and Kubernetes (4) shards merged identical to one run; gates agree"
