"""Regenerate the README picture of appearing pixels: source, truth, ``--appear off``, the default, zoomed.

    python demo/make_appear_picture.py                  # the shipped model -> docs/images/appear.png
    python demo/make_appear_picture.py --checkpoint CKPT --out appear.png --layers ../shared/data/lpc

Rows, top to bottom: the source character's animation, the held-out target character's own animation (the truth),
motionmap with ``--appear off`` (what comes into view is left to the model), and the default ``--appear source``
(what comes into view drawn from the source's frame in the target's colours; :mod:`motionmap.appear`). Same
characters, frames and zoom as ``make_palette_picture.py``. The LPC art is CC-BY-SA 3.0 (README, Credits).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from make_palette_picture import REPO, row_frames, strip
from motionmap.io.images import write_png
from motionmap.lpc import LpcLayers, compose_character, sample_recipes
from motionmap.palette import target_palette
from motionmap.retarget import Retargeter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=Path, default=REPO.parent / "shared" / "data" / "lpc")
    ap.add_argument("--checkpoint", default=None, help="default: the model shipped with motionmap")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "appear.png")
    ap.add_argument("--seed", type=int, default=3, help="which source/target characters to draw")
    ap.add_argument("--animation", default="slash")
    ap.add_argument("--facing", default="left")
    ap.add_argument("--frames", type=int, default=5, help="frames shown, from frame 1 (frame 0 is the given target)")
    ap.add_argument("--zoom", type=int, default=5)
    args = ap.parse_args()

    lib = LpcLayers(args.layers)
    source = compose_character(lib, sample_recipes(lib, 1, seed=args.seed, held_out="exclude")[0])
    target = compose_character(lib, sample_recipes(lib, 1, seed=args.seed + 1, held_out="require")[0])
    a = row_frames(source, args.animation, args.facing)
    truth = row_frames(target, args.animation, args.facing)
    colours = target_palette(target)  # a sheet target: the sheet's colours
    off = Retargeter.load(args.checkpoint, appear="off").retarget(a, truth[0], palette=colours)
    on = Retargeter.load(args.checkpoint).retarget(a, truth[0], palette=colours)
    shown = slice(1, 1 + args.frames)
    panels = [x[shown] for x in (a, truth, off, on)]
    ys, xs = np.nonzero(np.concatenate(panels)[..., 3].any(axis=0))
    y0, y1, x0, x1 = max(ys.min() - 2, 0), ys.max() + 3, max(xs.min() - 2, 0), xs.max() + 3
    rows = [strip(x[:, y0:y1, x0:x1], args.zoom, gap=4) for x in panels]
    sep = np.full((8, rows[0].shape[1], 3), 255, np.uint8)
    write_png(args.out, np.concatenate([r for row in rows for r in (row, sep)][:-1], axis=0), overwrite=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
