"""A preview GIF of a dataset: a grid of characters, each playing an animation over one of its backgrounds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Union

import imageio.v3 as iio
import numpy as np

from motionmap.datasets.dataset import SpriteDataset
from motionmap.errors import MotionmapError
from motionmap.io.atomic import atomic_file, ensure_writable_output
from motionmap.io.images import composite_over
from motionmap.layout import SheetLayout

PathLike = Union[str, "os.PathLike[str]"]


def _preview_rows(layout: SheetLayout, n: int, row_frames: np.ndarray) -> List[int]:
    """One sheet row per character, cycling through the animations, front-facing where there is a front; only rows
    the character has (``row_frames`` int64 [N, R] > 0)."""
    names = layout.animation_names
    rows = []
    for k in range(n):
        for step in range(len(names)):
            name = names[(k + step) % len(names)]
            candidates = [i for i, r in enumerate(layout.rows) if r.name == name and row_frames[k, i] > 0]
            if candidates:
                break
        candidates.sort(key=lambda i: layout.rows[i].facing != "down")  # front view first, then the others
        rows.append(candidates[(k // len(names)) % len(candidates)])
    return rows


def preview_frames(dataset, characters: int = 8, frames: int = 24, scale: int = 2, columns: int = 4) -> np.ndarray:
    """Render the preview animation of a :class:`~motionmap.datasets.SpriteDataset`.

    The first ``characters`` characters (fewer if the dataset is smaller) each play one animation, looping, over one
    of the dataset's scene backgrounds, tiled ``columns`` wide and scaled ``scale`` x nearest-neighbour.
    Returns uint8 [frames, rows*h*scale, columns*w*scale, 3].
    """
    n = min(characters, len(dataset.characters))
    cols = min(columns, n)
    grid_rows = -(-n // cols)
    layout = dataset.layout
    h, w = layout.frame_height, layout.frame_width
    offsets = dataset.row_offsets
    # Read the cache when there is one; otherwise decode just these sheets (a preview writes nothing into the data).
    frames_of = (lambda k: dataset.frames()[k]) if dataset.has_frame_cache() else dataset.sheet_frames
    bgs = dataset.backgrounds()
    out = np.zeros((frames, grid_rows * h, cols * w, 3), dtype=np.uint8)
    row_frames = dataset.row_frames()
    for k, row in enumerate(_preview_rows(layout, n, row_frames)):
        count = int(row_frames[k, row])
        clip = np.asarray(frames_of(k)[offsets[row]:offsets[row] + count])  # (count, h, w, 4)
        clip = clip[np.arange(frames) % count]  # (frames, h, w, 4)
        bg = bgs[(k * 7) % len(bgs)]  # (h, w, 3)
        r, c = divmod(k, cols)
        out[:, r * h:(r + 1) * h, c * w:(c + 1) * w] = composite_over(clip, bg[None])
    return out.repeat(scale, axis=1).repeat(scale, axis=2)


def write_preview(data_dir: PathLike, out: PathLike, overwrite: bool = False, characters: int = 8,
                  frames: int = 24, duration_ms: int = 100) -> Path:
    """Write the preview GIF of the dataset at ``data_dir`` to ``out`` (atomically, looping). Returns ``out``."""
    out = Path(out)
    if out.suffix.lower() != ".gif":
        raise MotionmapError(f"{out}: the preview is a GIF; give a file name ending in .gif")
    ensure_writable_output(out, inputs=[data_dir], overwrite=overwrite)
    anim = preview_frames(SpriteDataset(data_dir), characters=characters, frames=frames)
    with atomic_file(out, overwrite=overwrite) as tmp:
        tmp.write_bytes(iio.imwrite("<bytes>", anim, plugin="pillow", extension=".gif", duration=duration_ms, loop=0))
    return out
