#!/usr/bin/env bash
# One-shot GPU check of this project on a lent GPU machine (Python 3.12, torch cu130, no network).
#
#   bash benchmarks/gpu_check.sh                   # GPU machine, repo root, `.gpu` carried
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh   # CPU dry run here: tiny sizes, .venv python
#   GPU_CHECK_DRY=1 GPU_CHECK_INSTALL=1 GPU_CHECK_PYTHON=/path/python3.12 \
#       GPU_CHECK_SITE=/tmp/site312 bash benchmarks/gpu_check.sh   # ...also the install step
#
# `.gpu/` (ignored; it travels only as a carried path) holds what the machine lacks:
# wheels/*.whl (pydantic, diffusers, open_clip, ftfy, trimesh, pygltflib, iopath, ...),
# pytorch3d.tar.xz (the easypytorch3d cp312 wheel, unpacked) and faiss.tar.xz (faiss-cpu,
# unpacked). They go to $SITE (/tmp/site), first on PYTHONPATH; torch is imported before
# pytorch3d everywhere (pytorch3d/_C finds libtorch/libcudart among the loaded libraries).
#
# Steps, the most GPU-specific first; each runs under its own `timeout`, cut to what is left
# of a global deadline (GPU_CHECK_DEADLINE seconds, default 360), so a failure or an overrun
# never stops the others. Output lines carry the seconds since their step began.
#   setup   install, nvidia-smi, versions, imports, PyTorch3D CUDA rasteriser on a tiny mesh
#   render  benchmarks/render.py --device cuda, sizes 128,256,512, level 3, both rasterisers
#   model   the articulated model's soft silhouette, forward + backward (levels 3-5 at 512²)
#   guide   benchmarks/guidance.py --profile full-random: DASS vs SDS ms/call and peak memory
#   dino    DINO ViT-S/8 full-random fp16: HR+LR passes, then the whole extract_features
#   run     artic3d run --dataset synthetic --cls zebra --method hi-lassie on cuda (demo schedule)
#   throughput  (GPU_CHECK_THROUGHPUT=1) benchmarks/class_throughput.py: 45 images, paper
#           schedule, artic3d, instances batched vs one after another
#   tests   pytest over the test folders that need neither Prefect nor DVC (mostly CPU code)
# GPU_CHECK_STEPS=setup,throughput GPU_CHECK_THROUGHPUT=1 runs those two steps only;
# GPU_CHECK_THROUGHPUT_ARGS adds arguments to class_throughput.py (e.g. "--iters-scale 0.05").
# Everything is tee'd to $OUT/gpu_check.log (/tmp/gpu_check_out/ when OUT is unset).
set -u

DRY=${GPU_CHECK_DRY:-0}
if [ "$DRY" = 1 ]; then
    PY=${GPU_CHECK_PYTHON:-$PWD/.venv/bin/python}
    DEV=cpu
    NICE=(nice -n 19)
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
    PY=${GPU_CHECK_PYTHON:-python3}
    DEV=cuda
    NICE=()
fi
INSTALL=${GPU_CHECK_INSTALL:-$([ "$DRY" = 1 ] && echo 0 || echo 1)}
SITE=${GPU_CHECK_SITE:-/tmp/site}

# --- a. setup (run as `bash gpu_check.sh __setup` by the step below) -----------------------------
setup() {
    [ "$DRY" != 1 ] && { nvidia-smi || echo "nvidia-smi failed"; }
    if [ "$INSTALL" = 1 ]; then
        ls .gpu/wheels/*.whl >/dev/null 2>&1 || { echo "no .gpu/wheels: was .gpu carried?"; return 1; }
        mkdir -p "$SITE"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --disable-pip-version-check --target "$SITE" .gpu/wheels/*.whl || echo "pip install FAILED"
        for t in .gpu/pytorch3d.tar.xz .gpu/faiss.tar.xz; do
            [ -f "$t" ] && { tar -xJf "$t" -C "$SITE" || echo "untar $t FAILED"; }
        done
        echo "$SITE: $(ls "$SITE" | grep -vc -e '\.dist-info$') packages, $(du -sh "$SITE" | cut -f1)"
        # bytecode once, in parallel (diffusers alone takes 15-40 s to compile at first import)
        "$PY" -m compileall -q -j 0 "$SITE" >/dev/null 2>&1 || true
    fi
    "$PY" benchmarks/gpu_check.py smoke --device "$DEV"
}
if [ "${1:-}" = __setup ]; then
    setup
    exit $?
fi

OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!

T_START=$(date +%s)
DEADLINE=${GPU_CHECK_DEADLINE:-360}
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
SUMMARY=()
export PYTHONUNBUFFERED=1
unset PYTHONDONTWRITEBYTECODE
# offline, as the entry points set it (artic3d_core/env.py)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 \
    DVC_NO_ANALYTICS=1 PREFECT_SERVER_ANALYTICS_ENABLED=false TQDM_MININTERVAL=1 \
    PREFECT_HOME=$WORK/prefect
export DRY PY DEV INSTALL SITE

if [ "$INSTALL" = 1 ]; then
    export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}
    # pytorch3d/_C's RUNPATH is $ORIGIN/../torch/lib (a venv layout): also point the loader at
    # torch's and the CUDA runtime's libraries, in case `import torch` has not loaded them
    TL=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__) + "/lib")' 2>/dev/null)
    CL=$("$PY" -c 'import os, nvidia; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null)
    for d in "$TL" "$CL"/nvidia/cu13/lib "$CL"/nvidia/cuda_runtime/lib; do
        [ -n "$d" ] && [ -d "$d" ] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    done
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi

elapsed() { echo $(($(date +%s) - T_START)); }

# prefix each line with the seconds since $1
stamp() {
    local t0=$1 line
    while IFS= read -r line; do
        printf '%4ss| %s\n' $(($(date +%s) - t0)) "$line"
    done
}

# step NAME BUDGET_S CMD...: run CMD under timeout min(BUDGET, time left before the deadline);
# GPU_CHECK_STEPS (comma-separated names, e.g. setup,throughput) runs only the steps it names
step() {
    local name=$1 budget=$2
    shift 2
    if [ -n "${GPU_CHECK_STEPS:-}" ] && [[ ",$GPU_CHECK_STEPS," != *",$name,"* ]]; then
        SUMMARY+=("$name: not selected")
        return 0
    fi
    local left=$((DEADLINE - $(elapsed) - 5))
    if [ "$left" -lt 15 ]; then
        echo "=== [$name] SKIPPED: ${left}s left before the ${DEADLINE}s deadline"
        SUMMARY+=("$name: skipped (deadline)")
        return 0
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    echo
    echo "=== [$name] start at +$(elapsed)s, timeout ${budget}s: $*"
    local t0 rc dt
    t0=$(date +%s)
    timeout -k 5 "$budget" ${NICE[@]+"${NICE[@]}"} "$@" 2>&1 | stamp "$t0"
    rc=${PIPESTATUS[0]}
    dt=$(($(date +%s) - t0))
    case $rc in
        0) SUMMARY+=("$name: ok (${dt}s)") ;;
        124 | 137) SUMMARY+=("$name: TIMEOUT after ${dt}s (budget ${budget}s)") ;;
        *) SUMMARY+=("$name: FAILED rc=$rc (${dt}s)") ;;
    esac
    echo "=== [$name] rc=$rc in ${dt}s"
    return 0
}

echo "gpu_check: dry=$DRY install=$INSTALL site=$SITE python=$PY device=$DEV" \
    "deadline=${DEADLINE}s work=$WORK out=$OUT"
echo "git: $(git rev-parse --short HEAD 2>/dev/null), $(git status --porcelain 2>/dev/null | wc -l) changed files"

step setup 75 bash benchmarks/gpu_check.sh __setup

# --- c. rendering ----------------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
    step render 60 "$PY" benchmarks/render.py --device cpu --sizes 32 --levels 1
    step model 60 "$PY" benchmarks/gpu_check.py model --device cpu --tiny
else
    step render 45 "$PY" benchmarks/render.py --device cuda --sizes 128,256,512 --levels 3
    step model 30 "$PY" benchmarks/gpu_check.py model --device cuda
fi

# --- d. guidance: DASS vs SDS --------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
    step guide 90 "$PY" benchmarks/guidance.py --profile tiny --device cpu --views 2 \
        --precisions fp32 --warmup 0 --repeats 1 --json "$OUT/guidance.json"
else
    # SD 2.1-base sizes (UNet 865M, VAE, OpenCLIP-H text encoder) with random weights, 512²;
    # fp16 only (fp32 adds a second build and slower calls: GPU_CHECK_FP32=1 adds it)
    PREC=(fp16)
    [ "${GPU_CHECK_FP32:-0}" = 1 ] && PREC=(fp16 fp32)
    step guide 75 "$PY" benchmarks/guidance.py --profile full-random --device cuda \
        --views 2 8 32 --precisions "${PREC[@]}" --warmup 1 --repeats 3 --json "$OUT/guidance.json"
fi

# --- e. DINO ViT-S/8 -------------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
    step dino 90 "$PY" benchmarks/gpu_check.py dino --device cpu --tiny --images 3
else
    step dino 60 "$PY" benchmarks/gpu_check.py dino --device cuda --images 30
fi

# --- f. artic3d run (hi-lassie, synthetic zebra generated on the fly, fresh run dir) -------------
RUN_SETS=(-s optim.progress=false -s optim.checkpoint=false
    -s "pipeline.run_dir=$WORK/runs" -s "data.synthetic_root=$WORK/synthetic")
if [ "$DRY" = 1 ]; then
    # a copy of params.yaml with one iteration per stage and ground-truth masks: plumbing only
    "$PY" - "$WORK/params.yaml" <<'EOF'
import sys

import yaml

p = yaml.safe_load(open("params.yaml"))
for stages in p["optim"]["schedules"].values():
    for s in stages:
        s["iters"] = 1
yaml.safe_dump(p, open(sys.argv[1], "w"))
EOF
    step run 240 "$PY" -m artic3d_cli.main run --dataset synthetic --cls zebra --method hi-lassie \
        --no-outputs -p "$WORK/params.yaml" -s device=cpu -s pipeline.max_instances=2 \
        -s features.backend=oracle "${RUN_SETS[@]}"
    [ "${GPU_CHECK_THROUGHPUT:-0}" = 1 ] && step throughput 240 "$PY" \
        benchmarks/class_throughput.py --params "$WORK/params.yaml" --images 3 --image-size 64 \
        -s features.backend=oracle --work "$WORK/throughput" --json "$OUT/throughput.json"
else
    step run 120 "$PY" -m artic3d_cli.main run --dataset synthetic --cls zebra --method hi-lassie \
        --no-outputs -s device=cuda "${RUN_SETS[@]}"
    # one class at the paper schedule, 45 images fitted together, and 3 of them one after
    # another for the ratio (GPU_CHECK_THROUGHPUT=1; give it GPU_CHECK_DEADLINE=900)
    [ "${GPU_CHECK_THROUGHPUT:-0}" = 1 ] && step throughput 540 "$PY" \
        benchmarks/class_throughput.py --device cuda --profile full-random --schedule paper \
        --paper-sizes --images 45 --method artic3d --sequential "${GPU_CHECK_SEQUENTIAL:-3}" --work "$WORK/throughput" \
        --json "$OUT/throughput.json" ${GPU_CHECK_THROUGHPUT_ARGS:-}
fi

# --- b. tests (tests/orchestration needs Prefect/DVC; `slow` tests excluded as in make test) -----
TESTS=(tests/model tests/render tests/losses tests/guidance tests/optim tests/features tests/eval
    tests/animate tests/export tests/foundation tests/skeleton tests/pipeline tests/data tests/metrics)
PT=(-m pytest -q -x -p no:cacheprovider -m "not slow" --timeout=60 -o console_output_style=count)
if [ "$DRY" = 1 ]; then
    step tests 120 "$PY" "${PT[@]}" tests/model tests/render
else
    # the machine has imageio but not imageio-ffmpeg (a 68 MB wheel): the two MP4 writers' tests
    # are deselected. 16 cores: xdist (installed there), 8 workers of 2 threads, when it imports
    PT+=(--deselect tests/export/test_export_model_rig.py::test_render_sequence_and_videos
        --deselect tests/pipeline/test_pipeline_core.py::test_animation_stage_writes_videos_rig_and_tdass)
    XD=()
    "$PY" -c "import xdist" 2>/dev/null && XD=(-n 8 --dist loadfile)
    step tests 120 env OMP_NUM_THREADS=2 "$PY" "${PT[@]}" ${XD[@]+"${XD[@]}"} "${TESTS[@]}"
fi

echo
echo "=== summary (+$(elapsed)s of the ${DEADLINE}s deadline)"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
rm -rf "$WORK"
# let tee write the last lines before the machine collects $OUT
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null || sleep 1
exit 0
