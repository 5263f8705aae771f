"""Training and retargeting speed of each shipped config (a script, not a test).

    python benchmarks/speed.py                       # all configs, CPU (and CUDA when present)
    python benchmarks/speed.py --configs lpc paper --steps 30 --device cpu

Training: frame pairs/s over ``--steps`` timed steps after ``--warmup`` steps, through the real
``FramePairDataModule`` (workers, batched compositing in ``on_after_batch_transfer``) and a real ``Trainer``
(optimizer, logging hooks) — everything a ``motionmap train fit`` step costs except validation and checkpoint writes.
Data: a small synthetic set built once under ``--data`` (the configs' own model, batch size and workers are used; the
data folder is swapped so LPC configs run without an LPC build). On CUDA: bf16-mixed, channels_last, frames resident
on the GPU (``frames_on_device``), batch ``--cuda-batch``.
Retargeting: frames/s of ``Retargeter.retarget`` for one frame per call (batch 1) and a 64-frame animation per call.
Each (config, device) runs in its own process so peak memory (RSS on CPU, ``max_memory_allocated`` on CUDA) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("synth", "lpc", "flow", "paper", "smoke")


def load_config(name: str) -> dict:
    """The config's effective settings (with ``base.yaml`` merged in), as ``motionmap train`` would run them."""
    from motionmap.commands.train import effective_config

    return effective_config(str(REPO / "train" / "configs" / f"{name}.yaml"))


def measure(name: str, device: str, data_dir: str, steps: int, warmup: int, cuda_batch: int) -> dict:
    import numpy as np
    import pytorch_lightning as pl
    import torch

    from motionmap.datasets.datamodule import FramePairDataModule
    from motionmap.model.module import MotionMapper, count_parameters
    from motionmap.retarget import Retargeter

    cfg = load_config(name)
    model_cfg = cfg.get("model", {})
    data_cfg = dict(cfg.get("data", {}))
    cuda = device == "cuda"
    batch = cuda_batch if cuda else int(data_cfg.get("batch_size", 64))
    dm = FramePairDataModule(
        data_dir=data_dir, batch_size=batch, num_workers=int(data_cfg.get("num_workers", 2)), seed=0,
        backgrounds=data_cfg.get("backgrounds", "mixed"), pairs_per_epoch=batch * (steps + warmup + 2), val_pairs=0,
        frames_on_device=cuda,
    )
    pl.seed_everything(0, verbose=False)
    model = MotionMapper(**{k: v for k, v in model_cfg.items() if k in ("net", "loss", "optim")})
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats()

    class Timer(pl.Callback):
        t0 = t1 = None

        def on_train_batch_start(self, trainer, pl_module, batch_, batch_idx):
            if trainer.global_step == warmup:
                if cuda:
                    torch.cuda.synchronize()
                Timer.t0 = time.perf_counter()

        def on_train_end(self, trainer, pl_module):
            if cuda:
                torch.cuda.synchronize()
            Timer.t1 = time.perf_counter()

    trainer = pl.Trainer(
        accelerator="cuda" if cuda else "cpu", devices=1, precision="bf16-mixed" if cuda else "32-true",
        max_steps=warmup + steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0, callbacks=[Timer()],
    )
    trainer.fit(model, datamodule=dm)
    train_pps = steps * batch / (Timer.t1 - Timer.t0)

    # Retargeting with the same network (weights do not change speed).
    r = Retargeter(model.float().to(memory_format=torch.contiguous_format), device)
    frames = np.asarray(dm.dataset.frames()[0, :64])  # uint8 [64, H, W, 4]
    target = frames[0]
    r.retarget(frames[:8], target)  # warm-up
    n1 = 32
    t = time.perf_counter()
    for i in range(n1):
        r.retarget(frames[i : i + 1], target)
    if cuda:
        torch.cuda.synchronize()
    fps1 = n1 / (time.perf_counter() - t)
    reps = 5
    t = time.perf_counter()
    for _ in range(reps):
        r.retarget(frames, target, batch_size=64)
    if cuda:
        torch.cuda.synchronize()
    fps64 = reps * len(frames) / (time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated() / 2**20) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "config": name, "device": device, "params": count_parameters(model), "batch": batch,
        "train_pairs_s": train_pps, "retarget_fps_b1": fps1, "retarget_fps_b64": fps64, "peak_mib": peak,
        "threads": torch.get_num_threads(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS[:3]), choices=CONFIGS)
    p.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    p.add_argument("--steps", type=int, default=40, help="timed training steps (after warm-up)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--cuda-batch", type=int, default=1024)
    p.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "motionmap_bench_synth"),
                   help="synthetic dataset folder (built on first use)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child mode: one config, one device
    args = p.parse_args(argv)
    if args.one:
        print("RESULT " + json.dumps(measure(args.configs[0], args.device, args.data, args.steps, args.warmup,
                                             args.cuda_batch)))
        return 0

    if not (Path(args.data) / "manifest.json").exists():
        from motionmap.datasets.build import build_synth_dataset
        from motionmap.datasets.dataset import SpriteDataset

        build_synth_dataset(args.data, characters=32, seed=0, progress=False)
        SpriteDataset(args.data).build_frame_cache()
    import torch

    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        devices.remove("cuda")
        print("(no CUDA device here: CPU only)")
    rows = []
    for device in devices:
        for name in args.configs:
            cmd = [sys.executable, __file__, "--one", "--configs", name, "--device", device, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--cuda-batch", str(args.cuda_batch), "--data", args.data]
            out = subprocess.run(cmd, capture_output=True, text=True)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode or not line:
                print(f"{name}/{device}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(line[0][len("RESULT "):]))
    head = "| config | device | params | batch | train pairs/s | retarget fps (batch 1) | retarget fps (batch 64) | peak MiB |"
    print(head)
    print("|---" * 8 + "|")
    for r in rows:
        print(f"| {r['config']} | {r['device']} ({r['threads']} threads) | {r['params'] / 1e3:.0f}k | {r['batch']} | "
              f"{r['train_pairs_s']:.0f} | {r['retarget_fps_b1']:.0f} | {r['retarget_fps_b64']:.0f} | {r['peak_mib']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
