"""Sheet layouts: which row of a sprite sheet holds which animation, facing and frame count.

A layout is pure data; slicing and assembling sheets lives in :mod:`motionmap.io.sheets`.

LPC (Liberated Pixel Cup) sheets are 832x1344 = 13 columns x 21 rows of 64x64 frames. Rows 0-3 spellcast (7 frames),
4-7 thrust (8), 8-11 walk (9), 12-15 slash (6), 16-19 shoot (13), 20 hurt (6). Within each group of four rows the
facing is up (back), left, down (front), right; hurt has a single, front-facing row. Unused cells are transparent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from motionmap.errors import MotionmapError

FACINGS: Tuple[str, ...] = ("up", "left", "down", "right")

# Frame sides the model handles: below 8 px one 4 px feature cell is too small for the matching windows to see a
# sprite; the model pads any other size up to its 4 px cells itself. Datasets also stop at 256 px: bigger frames are
# not pixel art, and a training batch of them would not fit a small machine (retarget takes them anyway).
MIN_FRAME_SIDE = 8
MAX_FRAME_SIDE = 256


def check_dataset_frame_size(width: int, height: int, what: str) -> None:
    """Raise :class:`MotionmapError` unless ``width x height`` lies within 8..256 px on both sides."""
    if not (MIN_FRAME_SIDE <= width <= MAX_FRAME_SIDE and MIN_FRAME_SIDE <= height <= MAX_FRAME_SIDE):
        raise MotionmapError(
            f"{what}: frame size {width}x{height} is outside {MIN_FRAME_SIDE}..{MAX_FRAME_SIDE} px; "
            "give frames between 8x8 and 256x256 (scale or crop the art)"
        )


@dataclass(frozen=True)
class RowSpec:
    """One row of a sheet: an animation seen from one facing.

    ``facing`` is one of :data:`FACINGS`, or ``None`` for layouts that have no notion of facing (generic grids).
    """

    name: str
    facing: Optional[str]
    frames: int


@dataclass(frozen=True)
class SheetLayout:
    """A grid of ``frame_width x frame_height`` cells; row ``i`` holds ``rows[i]``, left-aligned.

    ``columns`` is the sheet's width in cells (at least the longest row).
    """

    frame_width: int
    frame_height: int
    columns: int
    rows: Tuple[RowSpec, ...]

    @property
    def size(self) -> Tuple[int, int]:
        """Sheet size in pixels as ``(width, height)``."""
        return self.columns * self.frame_width, len(self.rows) * self.frame_height

    @property
    def animation_names(self) -> Tuple[str, ...]:
        """Animation names in row order, without repeats."""
        return tuple(dict.fromkeys(r.name for r in self.rows))

    def facings_of(self, name: str) -> Tuple[Optional[str], ...]:
        return tuple(r.facing for r in self.rows if r.name == name)

    def row_index(self, name: str, facing: Optional[str] = None) -> int:
        """Index of the row holding animation ``name`` seen from ``facing``.

        ``facing`` may be omitted when the animation has a single row. Raises :class:`MotionmapError` naming the
        choices when the animation or facing is unknown.
        """
        candidates = [i for i, r in enumerate(self.rows) if r.name == name]
        if not candidates:
            raise MotionmapError(
                f"unknown animation {name!r}; this sheet has: {', '.join(self.animation_names)}"
            )
        if facing is None:
            if len(candidates) == 1:
                return candidates[0]
            facings = ", ".join(str(self.rows[i].facing) for i in candidates)
            raise MotionmapError(f"animation {name!r} has several facings ({facings}); pick one with --facing")
        for i in candidates:
            if self.rows[i].facing == facing:
                return i
        facings = ", ".join(str(self.rows[i].facing) for i in candidates)
        raise MotionmapError(f"animation {name!r} has no facing {facing!r}; it has: {facings}")

    def to_json(self) -> dict:
        return {
            "frame_width": self.frame_width,
            "frame_height": self.frame_height,
            "columns": self.columns,
            "rows": [{"name": r.name, "facing": r.facing, "frames": r.frames} for r in self.rows],
        }

    @staticmethod
    def from_json(d: dict) -> "SheetLayout":
        return SheetLayout(
            frame_width=int(d["frame_width"]),
            frame_height=int(d["frame_height"]),
            columns=int(d["columns"]),
            rows=tuple(RowSpec(str(r["name"]), r.get("facing"), int(r["frames"])) for r in d["rows"]),
        )


def four_facing_rows(animations: Sequence[Tuple[str, int]]) -> Tuple[RowSpec, ...]:
    """Rows for animations that each take four rows, one per facing in :data:`FACINGS` order."""
    return tuple(RowSpec(name, facing, frames) for name, frames in animations for facing in FACINGS)


LPC_ANIMATIONS: Tuple[Tuple[str, int], ...] = (
    ("spellcast", 7),
    ("thrust", 8),
    ("walk", 9),
    ("slash", 6),
    ("shoot", 13),
)

LPC_LAYOUT = SheetLayout(
    frame_width=64,
    frame_height=64,
    columns=13,
    rows=four_facing_rows(LPC_ANIMATIONS) + (RowSpec("hurt", "down", 6),),
)


def grid_layout(
    frame_width: int,
    frame_height: int,
    columns: int,
    n_rows: int,
    names: Optional[Sequence[str]] = None,
    frame_counts: Optional[Sequence[int]] = None,
) -> SheetLayout:
    """A generic grid sheet: one animation per row, named ``row0``, ``row1``... unless ``names`` are given.

    ``frame_counts`` defaults to the full width of the sheet (empty trailing cells are trimmed when reading).
    """
    names = list(names) if names is not None else [f"row{i}" for i in range(n_rows)]
    counts = list(frame_counts) if frame_counts is not None else [columns] * n_rows
    if len(names) != n_rows:
        raise MotionmapError(f"got {len(names)} animation names for a sheet with {n_rows} rows; give one per row")
    if len(counts) != n_rows:
        raise MotionmapError(f"got {len(counts)} frame counts for a sheet with {n_rows} rows; give one per row")
    for n in counts:
        if not 1 <= n <= columns:
            raise MotionmapError(f"frame count {n} does not fit a sheet {columns} frames wide")
    return SheetLayout(frame_width, frame_height, columns, tuple(RowSpec(nm, None, c) for nm, c in zip(names, counts)))
