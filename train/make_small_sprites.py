"""Write small pixel-art grid sheets, the kind of art a user brings, for the fine-tuning example (README).

Each character is a synthetic character (``motionmap.synth``, seeds no training set uses) drawn at 64x64 and shrunk
to ``--size`` px by 2x2 (or 4x4) area averaging, with alpha by majority so edges stay hard: one PNG grid sheet per
character (one animation per row, facings as ``walk_down``-style names) and a ``rows.txt`` row map. Import them::

    python train/make_small_sprites.py --out runs/small_art --characters 40
    motionmap data import runs/small_art/*.png --frame-size 32x32 --rows runs/small_art/rows.txt --out runs/small
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motionmap.io import write_png
from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character

# Seeds far from the 31-bit seeds `motionmap data synth` draws and from the eval's synthetic test seeds (2**31+).
SEED_BASE = 3 * 2**31


def shrink(sheet: np.ndarray, factor: int) -> np.ndarray:
    """uint8 [H,W,4] -> uint8 [H/f,W/f,4]: colour = mean of the opaque pixels of each f x f block, alpha = opaque
    when at least half the block is."""
    h, w = sheet.shape[0] // factor, sheet.shape[1] // factor
    blocks = sheet.reshape(h, factor, w, factor, 4).transpose(0, 2, 1, 3, 4).reshape(h, w, factor * factor, 4)
    opaque = blocks[..., 3:] > 127  # (h, w, f*f, 1)
    count = opaque.sum(axis=2)  # (h, w, 1)
    rgb = (blocks[..., :3] * opaque).sum(axis=2) / np.maximum(count, 1)  # (h, w, 3)
    alpha = np.where(2 * count >= factor * factor, 255, 0)
    return np.concatenate([np.where(alpha > 0, rgb.round(), 0), alpha], axis=-1).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="new folder for the sheets and rows.txt")
    parser.add_argument("--characters", type=int, default=40)
    parser.add_argument("--size", type=int, default=32, choices=(16, 32), help="frame side in px (default 32)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=False)
    factor = SYNTH_LAYOUT.frame_width // args.size
    for i in range(args.characters):
        write_png(args.out / f"hero{i:03d}.png", shrink(render_sheet(sample_character(SEED_BASE + i)), factor))
    names = [f"{r.name}_{r.facing}" if r.facing else r.name for r in SYNTH_LAYOUT.rows]
    (args.out / "rows.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    print(f"wrote {args.characters} sheets of {args.size}x{args.size} frames and rows.txt to {args.out}")


if __name__ == "__main__":
    main()
