#!/usr/bin/env bash
# Train one model on one GPU, unattended, for a fixed time, and leave its checkpoint where the caller collects it.
#
#   OUT=/path/to/results NAME=run_name bash train/gpu_train.sh MINUTES [extra Lightning CLI overrides...]
#
# Trains train/configs/flow_mix.yaml (override with CONFIG=...) on CUDA with a large batch and the frames on the
# device, for MINUTES (default 8, fractions allowed) with the cosine learning-rate decay following the time spent (optim.decay_over:
# time), so the rate reaches its floor when the time is up whatever the GPU's speed. Copies the last checkpoint
# (weights only) to $OUT/$NAME.ckpt and the metrics to $OUT/$NAME-metrics.csv.
# The data set (DATA, default runs/mix_data) is built first if missing: the LPC and Universal LPC layers, no held-out
# looks, from LPC / ULPC (default ../shared/data/lpc and ../shared/data/ulpc). Build it once before starting
# several runs side by side on one GPU. MOTIONMAP picks the command (default `motionmap`; `python3 -m motionmap`
# where the package is not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-8}; shift || true
name=${NAME:-flow_mix_gpu}
out=${OUT:-runs/gpu_out}
data=${DATA:-runs/mix_data}
config=${CONFIG:-train/configs/flow_mix.yaml}
lpc=${LPC:-../shared/data/lpc}; ulpc=${ULPC:-../shared/data/ulpc}
read -r -a motionmap <<< "${MOTIONMAP:-motionmap}"
max_time=$(python3 -c "import sys; s = round(float(sys.argv[1]) * 60); print(f'00:{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}')" "$minutes")
mkdir -p "$out" runs
if [ ! -f "$data/manifest.json" ]; then
  "${motionmap[@]}" data lpc --layers "$lpc" --layers "$ulpc" --out "$data" --characters "${CHARACTERS:-480}"
fi
# max_steps only bounds the run; max_time ends it, and the decay follows the time.
"${motionmap[@]}" train fit --config "$config" --data.data_dir "$data" --trainer.accelerator "${ACCELERATOR:-cuda}" \
  --trainer.devices 1 --trainer.precision "${PRECISION:-32-true}" --data.batch_size "${BATCH:-256}" \
  --data.frames_on_device true --data.num_workers 0 --data.pairs_per_epoch 256000 \
  --trainer.max_time "$max_time" --trainer.max_steps 10000000 \
  --model.optim.decay_from 200 --model.optim.decay_over time \
  --trainer.default_root_dir "runs/$name" --trainer.enable_progress_bar false "$@"
python3 - "$out" "$name" <<'PY'
import sys
from pathlib import Path
from motionmap.checkpoint import load_model, save_model_checkpoint
out, name = Path(sys.argv[1]), sys.argv[2]
ckpts = sorted(Path("runs", name, "checkpoints").glob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
loaded = load_model(ckpts[-1])
dest = save_model_checkpoint(loaded.model, out / f"{name}.ckpt", overwrite=True,
                             global_step=int(loaded.info.global_step or 0))
print(f"wrote {dest} (step {loaded.info.global_step}, from {ckpts[-1]})")
PY
cp "$(ls -t runs/$name/logs/csv/version_*/metrics.csv | head -1)" "$out/$name-metrics.csv" 2>/dev/null || true
