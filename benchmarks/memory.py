"""Peak memory of a retarget, by frame size and count (a script, not a test; the figures in the README's Safety).

    python benchmarks/memory.py                                  # 64x64 x 8, 64x64 x 500, 256x256 x 8
    python benchmarks/memory.py --cases 256x256x2 64x64x13 --refine-steps 0

Each case runs in a fresh process (peak RSS is per process): the shipped model is loaded, a random RGB animation of
``T`` frames of ``W x H`` and a target are made, and ``Retargeter.retarget`` runs once (1 torch thread). It prints the
peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the retarget, the seconds,
the frames per model pass that :mod:`motionmap.model.budget` chose, and a JSON line per case. The largest frame the
model takes is 256x256 (bigger is refused before the model loads), so ``256x256xT`` is the worst case per frame;
the count only adds the uint8 input and output (``T*H*W*7`` bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ("64x64x8", "64x64x500", "256x256x8")

_CHILD = """
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from motionmap.model.budget import frames_per_pass
from motionmap.model.refine import RefineConfig
from motionmap.retarget import Retargeter
w, h, t, steps = (int(v) for v in sys.argv[1:5])
r = Retargeter.load(None, refine=RefineConfig(steps=steps))
rng = np.random.default_rng(0)
source = rng.integers(0, 256, (t, h, w, 3), np.uint8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
out = r.retarget(source, source[0].copy())
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert out.shape == (t, h, w, 3)
print(json.dumps({"width": w, "height": h, "frames": t, "refine_steps": steps, "loaded_mb": before // 1024,
                  "peak_mb": peak // 1024, "seconds": round(seconds, 1), "frames_per_pass": frames_per_pass(h, w, 64)}))
"""


def measure(width: int, height: int, frames: int, refine_steps: int = 30, timeout: float = 3600) -> Dict:
    """Run one retarget in a fresh process; return ``{width, height, frames, loaded_mb, peak_mb, seconds, ...}``
    (peak RSS in MiB, Linux ``ru_maxrss``)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(width), str(height), str(frames), str(refine_steps)],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"case {width}x{height}x{frames} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _case(text: str):
    try:
        w, h, t = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give WxHxT, e.g. 64x64x8") from None
    return w, h, t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", type=_case, default=[_case(c) for c in DEFAULT_CASES], metavar="WxHxT")
    parser.add_argument("--refine-steps", type=int, default=30, help="test-time refinement steps (default 30)")
    args = parser.parse_args()
    print(f"{'frames':>14} {'loaded MB':>10} {'peak MB':>8} {'per pass':>8} {'seconds':>8}")
    for w, h, t in args.cases:
        r = measure(w, h, t, args.refine_steps)
        print(f"{f'{w}x{h} x {t}':>14} {r['loaded_mb']:>10} {r['peak_mb']:>8} {r['frames_per_pass']:>8} "
              f"{r['seconds']:>8}", flush=True)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
