"""Retargeting speed: one 13-frame 64x64 animation through ``Retargeter`` (a script, not a test).

    python benchmarks/retarget_speed.py                              # default NetConfig, untrained weights, CPU
    python benchmarks/retarget_speed.py --checkpoint runs/lpc_dense/checkpoints/last.ckpt --device cuda
    python benchmarks/retarget_speed.py --threads 1 2
    python benchmarks/retarget_speed.py --checkpoint motionmap/assets/default.ckpt --refine-steps 30 0

Speed does not depend on the weights, so without ``--checkpoint`` a freshly initialised ``MotionMapper`` with the
default ``NetConfig`` (the config ``motionmap train`` uses unless told otherwise) is timed. For each torch thread
count it reports the median wall time of ``--repeats`` runs (after 2 warm-up runs) of

- ``batch 1``: ``retarget(frames, target, batch_size=1)``, one model call per frame (13 calls);
- ``batch 13``: the whole animation in one call;
- ``rgba``: an RGBA target with a transparent background through ``motionmap.transfer.retarget_frames``: two
  renderings (over black and white) and the alpha solve, batch 13;

as milliseconds per animation and frames per second, for each ``--refine-steps`` (test-time flow refinement of flow
models, :mod:`motionmap.model.refine`; other motion forms ignore it). Real LPC frames are used when the layers are found, random
sprites otherwise (the cost is the same).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
FRAMES = 13


def animation_and_target() -> tuple:
    """``uint8 [13,64,64,4]`` source (LPC shoot/right when the layers exist) and an RGBA target ``[64,64,4]``."""
    layers = REPO.parent / "shared" / "data" / "lpc"
    if (layers / "body").is_dir():
        from motionmap.layout import LPC_LAYOUT
        from motionmap.lpc import LpcLayers, compose_character, sample_recipes

        lib = LpcLayers(layers)
        a, b = sample_recipes(lib, 2, seed=0, held_out="allow")
        row = LPC_LAYOUT.row_index("shoot", "right")
        src = compose_character(lib, a)[row * 64 : row * 64 + 64].reshape(64, 13, 64, 4).transpose(1, 0, 2, 3)
        tgt = compose_character(lib, b)[row * 64 : row * 64 + 64, :64]
        return np.ascontiguousarray(src), np.ascontiguousarray(tgt), "LPC shoot/right"
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (FRAMES, 64, 64, 4), dtype=np.uint8)
    return src, src[0].copy(), "random"


def build_retargeter(checkpoint, device: str):
    from motionmap.retarget import Retargeter

    if checkpoint:
        return Retargeter.load(checkpoint, device=device), str(checkpoint)
    from motionmap.model.module import MotionMapper

    torch.manual_seed(0)
    m = MotionMapper()
    path = Path(tempfile.mkdtemp()) / "default_config.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    return Retargeter.load(path, device=device), "default NetConfig (untrained weights)"


def timed(fn, repeats: int, device: str) -> float:
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from motionmap.model.refine import RefineConfig
    from motionmap.transfer import retarget_frames

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, nargs="+", default=[torch.get_num_threads()])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--refine-steps", type=int, nargs="+", default=[30, 0],
                    help="flow refinement steps to time (default: 30, the default, and 0, off)")
    ap.add_argument("--json", action="store_true", help="print one JSON line per measurement")
    args = ap.parse_args()

    src, tgt, what = animation_and_target()
    retargeter, model_name = build_retargeter(args.checkpoint, args.device)
    rgb_target = np.ascontiguousarray(tgt[..., :3])
    print(f"# {FRAMES} frames of 64x64 ({what}); model: {model_name}; device {args.device}")
    print(f"{'threads':>7} {'refine':>6} {'mode':>8} {'ms/animation':>13} {'frames/s':>9}")
    for threads, steps in [(t, s) for t in args.threads for s in args.refine_steps]:
        torch.set_num_threads(threads)
        retargeter.refine = RefineConfig(steps=steps)
        cases = {
            "batch 1": lambda: retargeter.retarget(src, rgb_target, batch_size=1),
            "batch 13": lambda: retargeter.retarget(src, rgb_target, batch_size=FRAMES),
            "rgba": lambda: retarget_frames(retargeter, src, tgt),
        }
        for mode, fn in cases.items():
            seconds = timed(fn, args.repeats, args.device)
            row = {"threads": threads, "refine_steps": steps, "mode": mode, "ms": seconds * 1000,
                   "fps": FRAMES / seconds}
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{threads:>7} {steps:>6} {mode:>8} {row['ms']:>13.1f} {row['fps']:>9.0f}")


if __name__ == "__main__":
    main()
