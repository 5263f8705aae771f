"""Screen a dataset's sheets with the sheet doctor while it is built: report flagged frames, or drop them.

``motionmap data lpc|import --check`` reports the frames the doctor flags; ``--drop-flagged`` also takes them out of
the dataset before training sees them. Dropping works per cell: a flagged frame leaves its row and the row's later
frames move up one cell, so the row keeps its order without the bad frame (a swap drops both frames it flagged). The
character's own frame count per row goes into the manifest (format version 2, ``row_frames``), so the pair sampler
never draws an emptied cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from motionmap.check.detect import Flag
from motionmap.check.sheets import check_sheet_array
from motionmap.layout import SheetLayout

Cell = Tuple[int, int]


def drop_cells(sheet: np.ndarray, layout: SheetLayout, drop: Set[Cell],
               row_frames: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, List[List[int]]]:
    """Take the cells ``drop`` (``(row, frame)``, 0-based) out of ``sheet`` (``uint8 [H,W,4]`` in ``layout``).

    Each row's remaining frames move left to fill the gaps; the freed cells at the row's end become transparent.
    ``row_frames``: the character's own frame count per row (default: the layout's). Returns ``(sheet, kept)``: a new
    sheet and, per row, the original indices of the frames kept, in order (its length is the row's new count).
    """
    fw, fh = layout.frame_width, layout.frame_height
    counts = [r.frames for r in layout.rows] if row_frames is None else list(row_frames)
    out = sheet.copy()
    kept: List[List[int]] = []
    for r, n in enumerate(counts):
        keep = [f for f in range(n) if (r, f) not in drop]
        kept.append(keep)
        if len(keep) == n:
            continue
        y = slice(r * fh, (r + 1) * fh)
        cells = [sheet[y, f * fw : (f + 1) * fw] for f in keep]
        out[y, : n * fw] = 0
        for j, cell in enumerate(cells):
            out[y, j * fw : (j + 1) * fw] = cell
    return out, kept


@dataclass
class FrameScreen:
    """Called by :func:`motionmap.datasets.build.write_dataset` on each character's sheet before it is written.

    ``drop``: False only records the flags (``--check``), True also returns the flagged cells to drop
    (``--drop-flagged``). ``flags`` maps a character index to its flags; :meth:`summary` says what happened.
    """

    drop: bool = False
    flags: Dict[int, List[Flag]] = field(default_factory=dict)
    kept_whole: List[int] = field(default_factory=list)  # characters whose every frame was flagged: kept as they are

    def __call__(self, i: int, sheet: np.ndarray, layout: SheetLayout,
                 row_frames: Optional[Sequence[int]] = None) -> Set[Cell]:
        """The cells of character ``i``'s sheet (``uint8 [H,W,4]``) to drop: empty unless :attr:`drop`."""
        flags = check_sheet_array(sheet, layout)
        self.flags[i] = flags
        cells = {(fl.row, fl.frame) for fl in flags}
        if not self.drop or not cells:
            return set()
        counts = [r.frames for r in layout.rows] if row_frames is None else list(row_frames)
        if all(all((r, f) in cells for f in range(n)) for r, n in enumerate(counts)):
            self.kept_whole.append(i)
            return set()
        return cells

    def summary(self, ids: Sequence[str]) -> str:
        """The terminal report: one line per flag (character, row, frame, animation, kind, score, why), then totals."""
        lines = []
        for i, flags in sorted(self.flags.items()):
            for fl in flags:
                lines.append(f"{ids[i]}: row {fl.row} frame {fl.frame} {fl.kind} {fl.score:.2f}  {fl.explanation}")
        n_flags = sum(len(v) for v in self.flags.values())
        n_chars = sum(1 for v in self.flags.values() if v)
        cells = sum(len({(fl.row, fl.frame) for fl in v}) for i, v in self.flags.items() if i not in self.kept_whole)
        verdict = (f"dropped {cells} flagged frames before training" if self.drop
                   else "kept them (--drop-flagged takes them out)")
        lines.append(f"checked {len(self.flags)} characters: {n_flags} flags in {n_chars} of them; {verdict}")
        for i in self.kept_whole:
            lines.append(f"{ids[i]}: every frame flagged; kept as it is (check the sheet with `motionmap check`)")
        return "\n".join(lines)
