"""Inject known defects into clean sheets: the ground truth for the sheet doctor's benchmark and tests.

Each injector takes a grid (:class:`~motionmap.check.grid.SheetGrid`, modified in place), a cell and a
``numpy.random.Generator``, and returns the cells it made wrong (``[(row, frame), ...]``) or ``None`` when the cell
does not allow that defect (no room for a speck, no interior for a hole...). Defects follow the issue's definitions:
holes and colours of 1-12 px inside the character, specks of 1-12 px clear of it, shifts of 1-3 px, swaps and repeats.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from motionmap.check.align import dilate, shift_frames, shift_rgba
from motionmap.check.grid import SheetGrid

Cells = Optional[List[Tuple[int, int]]]


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out &= shift_frames(mask, dy, dx)
    return out


def _grow_blob(allowed: np.ndarray, size: int, rng: np.random.Generator) -> Optional[np.ndarray]:
    """A random 4-connected blob of ``size`` pixels inside ``allowed`` (``bool [h,w]``), or None."""
    ys, xs = np.nonzero(allowed)
    if not len(ys):
        return None
    i = int(rng.integers(len(ys)))
    blob = np.zeros_like(allowed)
    blob[ys[i], xs[i]] = True
    for _ in range(size - 1):
        frontier = (shift_frames(blob, 1, 0) | shift_frames(blob, -1, 0) | shift_frames(blob, 0, 1)
                    | shift_frames(blob, 0, -1)) & allowed & ~blob
        fy, fx = np.nonzero(frontier)
        if not len(fy):
            break
        j = int(rng.integers(len(fy)))
        blob[fy[j], fx[j]] = True
    return blob


def inject_hole(grid: SheetGrid, r: int, f: int, rng: np.random.Generator) -> Cells:
    """Erase 1-12 px deep inside the character (every erased pixel has opaque pixels all around it)."""
    inside = _erode(grid.cells[r, f, ..., 3] == 255, 2)
    blob = _grow_blob(inside, int(rng.integers(1, 13)), rng)
    if blob is None:
        return None
    grid.cells[r, f][blob] = 0
    return [(r, f)]


def inject_speck(grid: SheetGrid, r: int, f: int, rng: np.random.Generator) -> Cells:
    """Paint 1-12 stray opaque px in a colour of the frame, at least 3 px clear of the character."""
    alpha = grid.cells[r, f, ..., 3] > 0
    if not alpha.any():
        return None
    clear = ~dilate(alpha, 3)
    clear[:2] = clear[-2:] = False
    clear[:, :2] = clear[:, -2:] = False
    blob = _grow_blob(clear, int(rng.integers(1, 13)), rng)
    if blob is None:
        return None
    colours = grid.cells[r, f][grid.cells[r, f, ..., 3] == 255]
    colour = colours[int(rng.integers(len(colours)))] if len(colours) else np.array([0, 0, 0, 255], np.uint8)
    grid.cells[r, f][blob] = colour
    return [(r, f)]


def random_offset(rng: np.random.Generator, max_shift: int = 3) -> Tuple[int, int]:
    """A displacement ``(dy, dx)`` of 1 to ``max_shift`` px (Chebyshev), never ``(0, 0)``."""
    while True:
        dy, dx = (int(v) for v in rng.integers(-max_shift, max_shift + 1, 2))
        if dy or dx:
            return dy, dx


def inject_shift(grid: SheetGrid, r: int, f: int, rng: np.random.Generator) -> Cells:
    """Move the whole frame by 1-3 px (its content must stay inside the cell)."""
    dy, dx = random_offset(rng)
    moved = shift_rgba(grid.cells[r, f], dy, dx)
    if int((moved[..., 3] > 0).sum()) != int((grid.cells[r, f, ..., 3] > 0).sum()):
        return None
    grid.cells[r, f] = moved
    return [(r, f)]


def inject_order(grid: SheetGrid, r: int, f: int, rng: np.random.Generator) -> Cells:
    """Swap frames f and f+1 (half the time), or repeat frame f-1 in place of frame f."""
    n = grid.row_frames(r)
    cells = grid.cells
    if rng.random() < 0.5 and f + 1 < n and grid.valid[r, f + 1]:
        if np.array_equal(cells[r, f], cells[r, f + 1]):
            return None
        cells[r, [f, f + 1]] = cells[r, [f + 1, f]]
        return [(r, f), (r, f + 1)]
    if f < 1 or np.array_equal(cells[r, f], cells[r, f - 1]):
        return None
    cells[r, f] = cells[r, f - 1]
    return [(r, f - 1), (r, f)]


def inject_colour(grid: SheetGrid, r: int, f: int, rng: np.random.Generator) -> Cells:
    """Recolour 1-12 px inside the character: half the time a near miss (off by 4-24 in some channel) of a colour
    the frame uses, else a colour from anywhere."""
    inside = _erode(grid.cells[r, f, ..., 3] == 255, 1)
    blob = _grow_blob(inside, int(rng.integers(1, 13)), rng)
    if blob is None:
        return None
    if rng.random() < 0.5:
        base = grid.cells[r, f][blob][0, :3].astype(int)
        delta = rng.integers(-24, 25, 3)
        delta[int(rng.integers(3))] = int(rng.choice([-1, 1])) * int(rng.integers(4, 25))
        colour = np.clip(base + delta, 0, 255)
    else:
        colour = rng.integers(0, 256, 3)
    grid.cells[r, f][blob, :3] = colour.astype(np.uint8)
    grid.cells[r, f][blob, 3] = 255
    return [(r, f)]


INJECTORS = {
    "hole": inject_hole,
    "speck": inject_speck,
    "shift": inject_shift,
    "order": inject_order,
    "colour": inject_colour,
}
