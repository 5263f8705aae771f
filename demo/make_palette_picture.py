"""Regenerate the README picture of palette lock: truth, soft output, palette-true output, zoomed.

    python demo/make_palette_picture.py                  # the shipped model -> docs/images/palette_lock.png
    python demo/make_palette_picture.py --checkpoint CKPT --out palette.png --layers ../shared/data/lpc

Rows, top to bottom: the held-out target character's own animation (the truth), motionmap with ``--palette off``
(the model's soft output: blended colours, soft alpha rim), and the default ``--palette target`` (only colours of
the target's sheet, alpha 0 or 255). Columns: frames of one animation, cropped to the character, scaled 6x with
nearest-neighbour and laid over mid grey, so every pixel shows as the artist sees it zoomed in. The source is an LPC character composed
from the layers; the target wears a held-out layer (never in training data) and is given as its sheet, exactly as
`motionmap retarget --target sheet.png` takes it. The LPC art is CC-BY-SA 3.0 (README, Credits).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motionmap.io.images import composite_over, write_png
from motionmap.layout import LPC_LAYOUT
from motionmap.lpc import LpcLayers, compose_character, sample_recipes
from motionmap.palette import target_palette
from motionmap.retarget import Retargeter

REPO = Path(__file__).resolve().parents[1]
GREY = np.array([128, 128, 128], np.uint8)


def row_frames(sheet: np.ndarray, animation: str, facing: str) -> np.ndarray:
    """One LPC row as ``uint8 [T,64,64,4]``."""
    row = LPC_LAYOUT.row_index(animation, facing)
    n = LPC_LAYOUT.rows[row].frames
    return sheet[row * 64 : row * 64 + 64, : n * 64].reshape(64, n, 64, 4).transpose(1, 0, 2, 3)


def strip(frames: np.ndarray, zoom: int, gap: int) -> np.ndarray:
    """RGBA frames over grey, scaled ``zoom`` x (nearest), side by side with ``gap`` white pixels between."""
    tiles = [composite_over(f, GREY).repeat(zoom, 0).repeat(zoom, 1) for f in frames]
    h = tiles[0].shape[0]
    sep = np.full((h, gap, 3), 255, np.uint8)
    return np.concatenate([x for t in tiles for x in (t, sep)][:-1], axis=1)


def picture_args(description: str, out: str, frames: int, zoom: int) -> argparse.Namespace:
    """The options every LPC comparison picture takes (this script's and ``make_appear_picture.py``'s)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--layers", type=Path, default=REPO.parent / "shared" / "data" / "lpc")
    ap.add_argument("--checkpoint", default=None, help="default: the model shipped with motionmap")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images" / out)
    ap.add_argument("--seed", type=int, default=3, help="which source/target characters to draw")
    ap.add_argument("--animation", default="slash")
    ap.add_argument("--facing", default="left")
    ap.add_argument("--frames", type=int, default=frames, help="frames shown, from frame 1 (frame 0 is the given target)")
    ap.add_argument("--zoom", type=int, default=zoom)
    return ap.parse_args()


def source_and_target(args: argparse.Namespace):
    """A training-look source and a held-out-look target: (target sheet ``uint8 [1344,832,4]``, the source's row,
    the target's own row, each ``uint8 [T,64,64,4]``)."""
    lib = LpcLayers(args.layers)
    source = compose_character(lib, sample_recipes(lib, 1, seed=args.seed, held_out="exclude")[0])
    target = compose_character(lib, sample_recipes(lib, 1, seed=args.seed + 1, held_out="require")[0])
    return target, row_frames(source, args.animation, args.facing), row_frames(target, args.animation, args.facing)


def write_rows(args: argparse.Namespace, animations) -> None:
    """Frames 1..``args.frames`` of each animation, one row each, cropped to where any of them draws (plus 2 pixels:
    more zoom for the same picture size), zoomed, white lines between -> ``args.out``."""
    shown = slice(1, 1 + args.frames)
    panels = [x[shown] for x in animations]
    ys, xs = np.nonzero(np.concatenate(panels)[..., 3].any(axis=0))
    y0, y1, x0, x1 = max(ys.min() - 2, 0), ys.max() + 3, max(xs.min() - 2, 0), xs.max() + 3
    rows = [strip(x[:, y0:y1, x0:x1], args.zoom, gap=4) for x in panels]
    sep = np.full((8, rows[0].shape[1], 3), 255, np.uint8)
    write_png(args.out, np.concatenate([r for row in rows for r in (row, sep)][:-1], axis=0), overwrite=True)
    print(f"wrote {args.out}")


def main() -> None:
    args = picture_args(__doc__.splitlines()[0], "palette_lock.png", frames=4, zoom=6)
    target, a, truth = source_and_target(args)
    r = Retargeter.load(args.checkpoint)
    soft = r.retarget(a, truth[0], palette="off")
    locked = r.retarget(a, truth[0], palette=target_palette(target))  # a sheet target: the sheet's colours
    write_rows(args, (truth, soft, locked))


if __name__ == "__main__":
    main()
