#!/bin/bash
# One GPU session for issue 22, in about 8 minutes: every row of bench/gpu_rtf.md, then the feed ceiling on the
# machine's cores (1, 2, 4, 8, 16). Results land in $OUT (the device tool brings them back).
#
# Here, once:  make gpu-kit          (downloads bench/device_wheels.txt's wheels into .whl/)
# Then, through the device tool:  run(command="bash bench/gpu_session.sh", carry=[".whl"], timeout_s=560)
# Each step has its own time limit, and each writes its results as it goes: a step cut short keeps its rows.
set -u
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
started=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "the wheels did not install: run 'make gpu-kit' here and carry .whl"; exit 2; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -c "import sergen.extract, zarr, soundfile, soxr, librosa, torch; print('sergen imports; torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
    || exit 2
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; free -g; } > "$OUT/machine.txt" 2>&1
# the extractors' rows first: the GPU table is what only this machine can give (models not started in time are listed)
timeout 270 python3 bench/gpu_rtf.py --out "$OUT/gpu_rtf.md" --scale 4 --budget-s 200 2>&1 | tee "$OUT/gpu_rtf.log" | grep -v "Loading weights\|Writing model"
# then the CPU side on 1 to 16 cores (no scale-10 corpora: making them alone would take this step's time)
timeout 200 python3 bench/feed_ceiling.py --cores 1,2,4,8,16 --repeats 1 --long-scale 0 --out "$OUT/feed_ceiling.md" \
    > "$OUT/feed_ceiling.log" 2>&1
echo "feed ceiling: exit $? (124: cut at its limit; its log holds the sections done)"
echo "session: $(( $(date +%s) - started )) s"
