"""Regenerate the README pictures of the synthetic sprites and backgrounds.

    python demo/make_synth_pictures.py            # writes docs/images/synth_sheet.png and synth_backgrounds.png
    python demo/make_synth_pictures.py --out DIR  # somewhere else

synth_sheet.png: a line-up of characters (seeds 0-9, front view), then two characters performing every action
(walk, run, jump, cast, attack) from varying facings, scaled 2x with nearest-neighbour over a transparency checker.
synth_backgrounds.png: one background of each kind per column, two seeds, with a character walking over them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motionmap.backgrounds import BACKGROUND_KINDS, background_pool
from motionmap.io.images import composite_over, write_png
from motionmap.synth import SYNTH_ACTIONS, SYNTH_LAYOUT, render_animation, sample_character

REPO = Path(__file__).resolve().parents[1]
SCALE = 2
CELL = 64


def checker(height: int, width: int, square: int = 8) -> np.ndarray:
    """Light transparency checker: uint8 [H, W, 3]."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.full((height, width, 3), 196, np.uint8)
    img[((yy // square + xx // square) % 2) == 0] = 222
    return img


def upscale(img: np.ndarray, k: int = SCALE) -> np.ndarray:
    return np.repeat(np.repeat(img, k, axis=0), k, axis=1)


def sheet_picture(lineup_seeds=range(10), showcase_seeds=(1, 6)) -> np.ndarray:
    """uint8 [H, W, 3]: the line-up on top, the action showcase below."""
    lineup = np.concatenate([render_animation(sample_character(s), "walk", "down")[0] for s in lineup_seeds], 1)
    facings = ("right", "left", "down", "right", "left")  # one facing per action, varied
    panels = []
    for s in showcase_seeds:
        spec = sample_character(s)
        rows = []
        for (action, _), facing in zip(SYNTH_ACTIONS, facings):
            frames = render_animation(spec, action, facing)
            row = np.zeros((CELL, SYNTH_LAYOUT.columns * CELL, 4), np.uint8)
            row[:, : frames.shape[0] * CELL] = np.concatenate(list(frames), 1)
            rows.append(row)
        panels.append(np.concatenate(rows, 0))
    gap = np.zeros((panels[0].shape[0], CELL // 2, 4), np.uint8)
    showcase = np.concatenate([panels[0], gap, panels[1]], 1)
    width = max(lineup.shape[1], showcase.shape[1])

    def pad(a: np.ndarray) -> np.ndarray:
        left = (width - a.shape[1]) // 2
        return np.pad(a, ((0, 0), (left, width - a.shape[1] - left), (0, 0)))

    rgba = np.concatenate([pad(lineup), np.zeros((CELL // 4, width, 4), np.uint8), pad(showcase)], 0)
    rgba = upscale(rgba)
    return composite_over(rgba, checker(*rgba.shape[:2]))


def backgrounds_picture(seeds=(0, 1)) -> np.ndarray:
    """uint8 [H, W, 3]: a row of backgrounds (one per kind, in BACKGROUND_KINDS order) per seed, with a walker."""
    rows = []
    for seed in seeds:
        cells = []
        for i, kind in enumerate(BACKGROUND_KINDS):
            bg = background_pool(1, seed=seed * 100 + i, kinds=[kind])[0]
            sprite = render_animation(sample_character(seed * 10 + i), "walk", ("down", "right", "left")[i % 3])[1]
            cells.append(composite_over(sprite, bg))
        rows.append(np.concatenate(cells, 1))
    return upscale(np.concatenate(rows, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images", help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, img in (("synth_sheet.png", sheet_picture()), ("synth_backgrounds.png", backgrounds_picture())):
        path = write_png(args.out / name, img, overwrite=True)
        print(f"wrote {path} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()
