#!/usr/bin/env bash
# The paper's comparison on the synthetic benchmark with the synthetic prior (docs/method.md §8.7):
# Hi-LASSIE, Hi-LASSIE+ and ARTIC3D (and its ablations) on each class's clean and occluded images
# together (E-LASSIE style), CPU demo schedule, offline features, every image fitted per instance
# (the guidance acts only in the per-instance stages), no animation and no meshes.
#
#   bash benchmarks/prior_comparison.sh                       # every class × method below
#   CLASSES="zebra kangaroo" METHODS="hi-lassie artic3d" bash benchmarks/prior_comparison.sh
#   .venv/bin/artic3d tables --metrics runs/prior-comparison --out reports/prior-comparison
#
# Data: the full preset's test split, N_CLEAN clean + N_OCC occluded images per class (the demo
# set's counts), generated into $ROOT when absent. One `artic3d run` per class and method, one at
# a time; the wall time of each goes to $RUNS/times.tsv. A finished run is skipped when rerun.
set -euo pipefail

PY=${PY:-.venv/bin/python}
CLASSES=${CLASSES:-"zebra kangaroo tiger giraffe elephant penguin"}
METHODS=${METHODS:-"hi-lassie artic3d hi-lassie+"}
N_CLEAN=${N_CLEAN:-8}
N_OCC=${N_OCC:-4}
SEED=${SEED:-0}
ROOT=${ROOT:-data/synthetic/full-test-${N_CLEAN}-${N_OCC}}
RUNS=${RUNS:-runs/prior-comparison}
PROFILE=${PROFILE:-synthetic}
EXTRA=${EXTRA:-}   # more --set overrides, e.g. "-s guidance.enhance.keep_foreground=false"

if [ ! -f "$ROOT/manifest.json" ]; then
  "$PY" -m artic3d_cli.main synth --preset full --split test --seed 0 --out "$ROOT" \
    -s synth.n_clean="$N_CLEAN" -s synth.n_occluded="$N_OCC"
fi
mkdir -p "$RUNS"
for cls in $CLASSES; do
  for method in $METHODS; do
    if [ -f "$RUNS/synthetic/$cls/$method/eval/metrics.json" ]; then
      echo "skip $cls $method (done)"; continue
    fi
    t0=$(date +%s)
    # shellcheck disable=SC2086
    "$PY" -m artic3d_cli.main run --dataset synthetic --cls "$cls" --method "$method" \
      --no-outputs --device cpu \
      -s weights.profile="$PROFILE" -s data.synthetic_root="$ROOT" -s pipeline.run_dir="$RUNS" \
      -s pipeline.max_instances=null -s pipeline.animate=false \
      -s seed="$SEED" -s features.seed="$SEED" $EXTRA \
      > "$RUNS/log-$cls-$method.txt" 2>&1
    t1=$(date +%s)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    printf '%s\t%s\t%s\t%s\n' "$cls" "$method" "$((t1 - t0))" "$load" | tee -a "$RUNS/times.tsv"
    tail -n 1 "$RUNS/log-$cls-$method.txt"
  done
done
