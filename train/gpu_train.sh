#!/usr/bin/env bash
# Train the mixed-data flow model on one GPU, unattended, and leave the checkpoint where the caller collects it.
#
#   OUT=/path/to/results bash train/gpu_train.sh [MINUTES] [extra Lightning CLI overrides...]
#
# Builds the mixed LPC + Universal LPC training set (no held-out looks) if runs/mix_data is missing, trains
# train/configs/flow_mix.yaml on CUDA in bf16 with a large batch and the frames on the device, stops after MINUTES
# (default 8) with the cosine decay fitted to that budget, and copies the last checkpoint (weights only) and the
# metrics to $OUT. Needs ../shared/data/lpc and ../shared/data/ulpc beside the repository (or LPC/ULPC set).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-8}; shift || true
out=${OUT:-runs/gpu_out}
lpc=${LPC:-../shared/data/lpc}; ulpc=${ULPC:-../shared/data/ulpc}
mkdir -p "$out" runs
if [ ! -f runs/mix_data/manifest.json ]; then
  motionmap data lpc --layers "$lpc" --layers "$ulpc" --out runs/mix_data --characters 480
fi
# About 12 steps/s at batch 256 was not measured here yet: the step budget is a generous guess, and max_time stops it.
steps=$(( minutes * 60 * 12 ))
motionmap train fit --config train/configs/flow_mix.yaml --trainer.accelerator cuda --trainer.devices 1 \
  --trainer.precision bf16-mixed --data.batch_size 256 --data.frames_on_device true --data.num_workers 0 \
  --trainer.max_time "00:00:${minutes}:00" --trainer.max_steps "$steps" --model.optim.decay_from 200 \
  --trainer.default_root_dir runs/flow_mix_gpu --trainer.enable_progress_bar false "$@"
python - "$out" <<'PY'
import sys
from pathlib import Path
from motionmap.checkpoint import load_model, save_model_checkpoint
ckpt = Path("runs/flow_mix_gpu/checkpoints/last.ckpt")
if not ckpt.is_file():
    ckpt = Path("runs/flow_mix_gpu/checkpoints/last-timed.ckpt")
loaded = load_model(ckpt)
dest = save_model_checkpoint(loaded.model, Path(sys.argv[1]) / "flow_mix_gpu.ckpt", overwrite=True,
                             global_step=int(loaded.info.global_step or 0))
print(f"wrote {dest}")
PY
cp runs/flow_mix_gpu/logs/csv/version_*/metrics.csv "$out/" 2>/dev/null || true
