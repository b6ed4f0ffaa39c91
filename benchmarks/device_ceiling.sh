#!/usr/bin/env bash
# countdown_ceiling.py at several network sizes side by side on one GPU machine, in one call
# (the README's text-game section has the figures): bare answers at five sizes, and at 256x6
# the written depth-first searches (--dfs sum) with 24 and 64 undos. The training pools can be
# drawn beforehand on any machine and carried in .pools/; those missing are drawn here first,
# one after another (the runs would race to write a shared file).
# Environment: PY (python, default python3), DEVICE (cuda), MINUTES (7), OUT (results folder),
# PROBLEMS (test problems per split, 1000), K4_POOL, K3_POOL and DFS_POOL (training problems;
# a search of 64 undos keeps ~140 positions of ~1,100 tokens each, so its pool is smaller).
set -u
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-7}
OUT=${OUT:-/tmp/ceiling}
JSON=$(mktemp -d)  # the device tool returns at most 8 files: the reports come back as one tar
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
$PY -c "import torch, numpy, numba, rich; print('torch', torch.__version__, 'numpy', numpy.__version__,
'numba', numba.__version__, 'gpu', torch.cuda.get_device_name() if torch.cuda.is_available() else None)"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv 2>/dev/null
# The GPU-only checks (skipped on CPU machines): the evaluators on CUDA against the CPU.
$PY -m pytest -q -p no:cacheprovider tests/test_model.py::test_evaluator_on_the_gpu_matches_the_cpu \
  tests/test_incremental.py::test_on_the_gpu_it_matches_the_cpu 2>&1 | tail -n 3

K4_POOL=${K4_POOL:-300000} K3_POOL=${K3_POOL:-100000} DFS_POOL=${DFS_POOL:-100000}
mkdir -p .pools
draw() {  # game, pool size, pool file, then options: the pool alone (a few steps of training)
  [ -s "$3" ] || $PY benchmarks/countdown_ceiling.py --game "$1" --pool "$2" --pool-file "$3" \
    --workers 12 --device cpu --minutes 0.01 --problems 1 --out "$JSON/draw.json" "${@:4}" \
    2>&1 | grep "drawn in"
}
draw countdown@k=4 "$K4_POOL" .pools/k4.txt
draw countdown@k=3 "$K3_POOL" .pools/k3.txt
draw countdown@k=4,backtrack=24 "$DFS_POOL" .pools/k4_dfs24.txt --dfs sum
draw countdown@k=4,backtrack=64 "$DFS_POOL" .pools/k4_dfs64.txt --dfs sum
rm -f "$JSON/draw.json"

run() {  # name, game, pool size, pool file, then options and overrides
  local name=$1 game=$2 pool=$3 file=$4
  shift 4
  $PY benchmarks/countdown_ceiling.py --game "$game" --pool "$pool" --pool-file "$file" \
    --device "$DEVICE" --minutes "$MINUTES" --problems "${PROBLEMS:-1000}" --eval-every 60 \
    --out "$JSON/$name.json" learner.batch_size=2048 "$@" >"$OUT/$name.log" 2>&1 &
}
BIG="model.channels=256 model.blocks=6 model.heads=8"
run k4_64x4 countdown@k=4 "$K4_POOL" .pools/k4.txt model.channels=64 model.blocks=4
run k4_128x4 countdown@k=4 "$K4_POOL" .pools/k4.txt model.channels=128 model.blocks=4
run k4_256x6 countdown@k=4 "$K4_POOL" .pools/k4.txt $BIG
run k4_320x8 countdown@k=4 "$K4_POOL" .pools/k4.txt model.channels=320 model.blocks=8 \
  model.heads=8 learner.lr=5e-4
run k3_256x6 countdown@k=3 "$K3_POOL" .pools/k3.txt $BIG
# The pools of searches hold fewer problems than were drawn (those over budget are left out);
# their lengths vary, so their batches are grouped by length (learner.length_buckets).
run k4_dfs24_256x6 countdown@k=4,backtrack=24 "$(wc -l <.pools/k4_dfs24.txt)" .pools/k4_dfs24.txt \
  --dfs sum $BIG learner.length_buckets=16
run k4_dfs64_256x6 countdown@k=4,backtrack=64 "$(wc -l <.pools/k4_dfs64.txt)" .pools/k4_dfs64.txt \
  --dfs sum $BIG learner.length_buckets=16
wait
tar -cf "$OUT/reports.tar" -C "$JSON" .
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null
for f in "$OUT"/*.log; do echo "== $f"; grep -v "^\s*$" "$f" | grep -E "^ +[0-9]+ s|training problems|Error|error" | tail -n 12; done
