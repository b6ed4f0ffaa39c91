#!/usr/bin/env bash
# countdown_ceiling.py at several network sizes side by side on one GPU machine, in one call
# (the README's text-game section has the figures). The training pools are drawn beforehand
# on any machine and carried in .pools/ (about 15 MB); a run with a missing --pool-file
# draws and writes it, e.g.
#   python benchmarks/countdown_ceiling.py --game countdown@k=4 --pool 300000 \
#       --pool-file .pools/k4.txt --minutes 0.01
# Environment: PY (python, default python3), DEVICE (cuda), MINUTES (7), OUT (results folder),
# PROBLEMS (test problems per split, 1000), K4_POOL and K3_POOL (training problems).
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

run() {  # name, game, pool size, then overrides
  local name=$1 game=$2 pool=$3
  shift 3
  $PY benchmarks/countdown_ceiling.py --game "$game" --pool "$pool" --pool-file ".pools/k${game#countdown@k=}.txt" \
    --device "$DEVICE" --minutes "$MINUTES" --problems "${PROBLEMS:-1000}" --eval-every 60 \
    --out "$JSON/$name.json" learner.batch_size=2048 "$@" >"$OUT/$name.log" 2>&1 &
}
run k4_64x4 countdown@k=4 "${K4_POOL:-300000}" model.channels=64 model.blocks=4
run k4_128x4 countdown@k=4 "${K4_POOL:-300000}" model.channels=128 model.blocks=4
run k4_256x6 countdown@k=4 "${K4_POOL:-300000}" model.channels=256 model.blocks=6 model.heads=8
run k4_320x8 countdown@k=4 "${K4_POOL:-300000}" model.channels=320 model.blocks=8 model.heads=8 learner.lr=5e-4
run k3_256x6 countdown@k=3 "${K3_POOL:-100000}" model.channels=256 model.blocks=6 model.heads=8
wait
tar -cf "$OUT/reports.tar" -C "$JSON" .
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null
for f in "$OUT"/*.log; do echo "== $f"; grep -v "^\s*$" "$f" | grep -E "^ +[0-9]+ s|training problems|Error|error" | tail -n 12; done
