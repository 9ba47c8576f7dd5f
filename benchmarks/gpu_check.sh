#!/usr/bin/env bash
# The GPU checks of realtime3d in one run, for a lent GPU machine (realtime3d/kernels/README.md, "GPU check"):
#   1. tests/test_kernels.py with compiled Triton on CUDA (TRITON_INTERPRET=0), and tests/test_models_amp.py;
#   2. benchmarks/bench_kernels.py --device cuda: Triton against the eager reference and torch.compile of it;
#   3. Drover training throughput, float32 then bf16 autocast (benchmarks/bench_train_throughput.py).
# Everything goes to benchmarks/results/gpu/ (8 files), and to $OUT/gpu/ when $OUT is set.
# Each step has its own timeout and a failed step does not stop the others; the whole run keeps
# within GPU_CHECK_BUDGET_S (default 465 s, under 8 minutes): the tests get at most 120 s, the
# benchmark what is left after keeping TRAIN_S (default 120 s) plus start-up for each training run
# (it writes its CSV after every grid point, so a cut keeps the points done), and the training runs
# share what is left then, at most TRAIN_S each.
#
#   REALTIME3D_COMMIT=<sha> bash benchmarks/gpu_check.sh [DATA_DIR]
#
# DATA_DIR (or $REALTIME3D_GPU_DATA, default .gpu_data): the cmu-train.npz and cmu-val.npz that
# `python benchmarks/bench_train_throughput.py --pack DATA_DIR` writes where the CMU data is. Without
# them, $REALTIME3D_CMU (BVH files) is used if set; else the benchmark and training steps are skipped.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RES=$REPO/benchmarks/results/gpu
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET_S:-465}
TRAIN_S=${TRAIN_S:-120}
TRAIN_OVERHEAD_S=20            # per training run: start-up, CUDA context, final validation and checkpoint
TRAIN_MARGIN_S=15              # a training run's timeout: its minutes + overhead + this
RESERVE_S=15                   # kept for the summary and the copy to $OUT
DATA=${1:-${REALTIME3D_GPU_DATA:-$REPO/.gpu_data}}
TRAIN_SET=()                   # GPU_CHECK_TRAIN_SET="train.threads=4 ...": more --set overrides for training
for kv in ${GPU_CHECK_TRAIN_SET:-}; do TRAIN_SET+=(--set "$kv"); done
case $DATA in /*) ;; *) DATA=$REPO/$DATA ;; esac
END=$((SECONDS + BUDGET))
mkdir -p "$RES"
rm -f "$RES"/{summary.json,test_kernels.xml,test_kernels.log,kernels_cuda.csv,bench_kernels.log} \
      "$RES"/{train_fp32.json,train_bf16.json,train.log}
STEPS=$WORK/steps.tsv
: >"$STEPS"

export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
export REALTIME3D_COMMIT=${REALTIME3D_COMMIT:-$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)}
# realtime3d without installing it: the checkout's root on the path (realtime3d/ holds
# realtime3d/kernels/ and realtime3d/trainers/ as subpackages).
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
cd "$WORK"

# run_step NAME CAP_S LOG CMD...: CMD with its output appended to LOG, under a timeout of CAP_S
# or what is left of the budget; its status (ok / failed rc / timeout / skipped) goes to $STEPS.
run_step() {
    local name=$1 cap=$2 log=$3 left rc=0 start=$SECONDS status
    shift 3
    left=$((END - SECONDS - RESERVE_S))
    ((cap < left)) || cap=$left
    if ((cap < 20)); then
        printf '%s\tskipped\t0\tno time left in the %s s budget\n' "$name" "$BUDGET" >>"$STEPS"
        return 0
    fi
    echo "== $name (timeout ${cap}s): $*" | tee -a "$log"
    timeout --kill-after=10 "$cap" "$@" >>"$log" 2>&1 || rc=$?
    case $rc in
        0) status=ok ;;
        124 | 137) status=timeout ;;
        *) status=failed ;;
    esac
    printf '%s\t%s\t%s\texit %s (timeout %s s)\n' "$name" "$status" "$((SECONDS - start))" "$rc" "$cap" >>"$STEPS"
    echo "== $name: $status (exit $rc, $((SECONDS - start)) s)"
}

skip() {
    printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$STEPS"
    echo "== $1: skipped ($2)"
}

# ---------------------------------------------------------------- 0. where we are
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
    "$PY" -c 'import sys, torch, triton; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "triton", triton.__version__, "gpu", torch.cuda.is_available() and torch.cuda.get_device_name())' || true
} >"$WORK/env.txt" 2>&1
cat "$WORK/env.txt"

# ---------------------------------------------------------------- 1. kernel tests, compiled Triton on CUDA
run_step tests 120 "$RES/test_kernels.log" env TRITON_INTERPRET=0 "$PY" -m pytest -q -p no:cacheprovider -rs \
    --rootdir "$REPO" --junitxml "$RES/test_kernels.xml" "$REPO/tests/test_kernels.py" "$REPO/tests/test_models_amp.py"

# ---------------------------------------------------------------- data for steps 2 and 3
POSES=() ARRAYS=()
if [[ -f $DATA/cmu-train.npz && -f $DATA/cmu-val.npz ]]; then
    POSES=(--poses "$DATA/cmu-val.npz")
    ARRAYS=(--arrays "$DATA")
    HAVE_DATA=1
elif [[ -n ${REALTIME3D_CMU:-} && -d ${REALTIME3D_CMU:-} ]]; then
    HAVE_DATA=1                 # the loader converts the BVH files (a few seconds)
else
    HAVE_DATA=0
fi
NO_DATA="no data: neither $DATA/cmu-{train,val}.npz nor \$REALTIME3D_CMU (realtime3d/kernels/README.md, GPU check)"

# ---------------------------------------------------------------- 2. kernel benchmark on CUDA
if ((HAVE_DATA)); then
    bench_cap=$((END - SECONDS - RESERVE_S - 2 * (TRAIN_S + TRAIN_OVERHEAD_S + TRAIN_MARGIN_S)))
    ((bench_cap <= 150)) || bench_cap=150
    ((bench_cap >= 60)) || bench_cap=60       # at least the first grid point (with torch.compile)
    run_step bench_kernels "$bench_cap" "$RES/bench_kernels.log" env TRITON_INTERPRET=0 "$PY" \
        "$REPO/benchmarks/bench_kernels.py" --device cuda ${POSES[@]+"${POSES[@]}"} --out "$RES/kernels_cuda.csv"
else
    skip bench_kernels "$NO_DATA"
fi

# ---------------------------------------------------------------- 3. Drover training throughput, fp32 and bf16
train_run() {  # train_run NAME RUNS_LEFT [--amp]
    local name=$1 runs=$2 secs
    shift 2
    # share what is left between the runs still to go, at most TRAIN_S each
    secs=$(((END - SECONDS - RESERVE_S) / runs - TRAIN_OVERHEAD_S - TRAIN_MARGIN_S))
    ((secs <= TRAIN_S)) || secs=$TRAIN_S
    if ((secs < 20)); then
        skip "$name" "no time left for a run of at least 20 s (budget $BUDGET s)"
        return 0
    fi
    run_step "$name" "$((secs + TRAIN_OVERHEAD_S + TRAIN_MARGIN_S))" "$RES/train.log" \
        env TRITON_INTERPRET=0 "$PY" "$REPO/benchmarks/bench_train_throughput.py" ${ARRAYS[@]+"${ARRAYS[@]}"} \
        --minutes "$(awk "BEGIN { printf \"%.3f\", $secs / 60 }")" --run-dir "$WORK/$name" --out "$RES/$name.json" ${TRAIN_SET[@]+"${TRAIN_SET[@]}"} "$@"
}
if ((HAVE_DATA)); then
    train_run train_fp32 2
    train_run train_bf16 1 --amp
else
    skip train_fp32 "$NO_DATA"
    skip train_bf16 "$NO_DATA"
fi

# ---------------------------------------------------------------- summary, and the copy to $OUT
"$PY" - "$STEPS" "$WORK/env.txt" "$RES/summary.json" "$BUDGET" "$SECONDS" <<'EOF' || cp "$STEPS" "$RES/summary.json"
import json, os, sys
steps_tsv, env_txt, out, budget, seconds = sys.argv[1:]
steps = []
for line in open(steps_tsv):
    name, status, secs, detail = line.rstrip("\n").split("\t")
    steps.append({"step": name, "status": status, "seconds": int(secs), "detail": detail})
summary = {"what": "benchmarks/gpu_check.sh", "commit": os.environ.get("REALTIME3D_COMMIT", "unknown"),
           "env": open(env_txt).read().strip().splitlines(), "budget_s": int(budget), "total_s": int(seconds),
           "steps": steps,
           "files": sorted(f for f in os.listdir(os.path.dirname(out)) if f != "summary.json") + ["summary.json"]}
with open(out, "w") as fh:
    json.dump(summary, fh, indent=2)
    fh.write("\n")
EOF
cat "$RES/summary.json"
if [[ -n ${OUT:-} ]]; then
    mkdir -p "$OUT/gpu"
    for f in summary.json test_kernels.xml test_kernels.log kernels_cuda.csv bench_kernels.log \
             train_fp32.json train_bf16.json train.log; do
        if [[ -f $RES/$f ]]; then cp "$RES/$f" "$OUT/gpu/"; fi
    done
    echo "copied to $OUT/gpu: $(ls "$OUT/gpu" | tr '\n' ' ')"
fi
# the exit status: 0 when every step ran and passed
awk -F'\t' '$2 != "ok" { bad = 1 } END { exit bad }' "$STEPS"
