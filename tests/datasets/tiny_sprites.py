"""A tiny hand-drawn dataset with known pixels, for tests that must not depend on the sprite generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionmap.layout import grid_layout

# Three rows of 5, 3 and 1 frames on a 5-column grid: uneven rows exercise the row offsets and the 1-frame case.
TINY_LAYOUT = grid_layout(64, 64, 5, 3, names=["walk", "wave", "idle"], frame_counts=[5, 3, 1])
TINY_CHARACTERS = 6
TINY_BACKGROUNDS = 8


def tiny_sheet(i: int) -> np.ndarray:
    """Character ``i``: an opaque box whose colour encodes (character, row, frame); the rest transparent.

    uint8 [192, 320, 4]. Red = 40*i, green = 80*row, blue = 50*frame + 5; a 1-pixel white mark at x = 10 + frame so
    horizontal flips are visible.
    """
    sheet = np.zeros((3 * 64, 5 * 64, 4), np.uint8)
    for r, row in enumerate(TINY_LAYOUT.rows):
        for c in range(row.frames):
            cell = sheet[r * 64:(r + 1) * 64, c * 64:(c + 1) * 64]
            cell[16:48, 24:40] = (40 * i, 80 * r, 50 * c + 5, 255)
            cell[20, 10 + c] = (255, 255, 255, 255)
    return sheet


def tiny_backgrounds() -> np.ndarray:
    """uint8 [8, 64, 64, 3]: random, never pure black (so plain and scene backgrounds can be told apart)."""
    return np.random.default_rng(0).integers(1, 256, (TINY_BACKGROUNDS, 64, 64, 3), dtype=np.uint8)


def write_tiny(out: Path, seed: int = 0) -> Path:
    from motionmap.datasets.build import write_dataset

    recipes = [{"index": i} for i in range(TINY_CHARACTERS)]
    return write_dataset(out, "synth", seed, TINY_LAYOUT, recipes, tiny_sheet, tiny_backgrounds(), progress=False)
