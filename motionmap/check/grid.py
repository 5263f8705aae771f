"""A sheet as a grid of frame cells, with what the checks need to know about each row.

``cells`` is ``uint8 [R,C,h,w,4]`` (RGBA; row ``r``, column ``c``); ``valid`` is ``bool [R,C]``: the cell is one of
its row's frames (by the layout, trailing empty cells trimmed) and not fully transparent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from motionmap.layout import SheetLayout
from motionmap.io.images import to_rgba


def pack_keys(rgba: np.ndarray) -> np.ndarray:
    """``uint8 [...,4] -> uint32 [...]``: each pixel's RGBA packed into one number; every transparent pixel is 0."""
    c = rgba.astype(np.uint32)
    k = (c[..., 0] << 24) | (c[..., 1] << 16) | (c[..., 2] << 8) | c[..., 3]
    return np.where(c[..., 3] > 0, k, 0).astype(np.uint32)


@dataclass
class SheetGrid:
    cells: np.ndarray  # uint8 [R,C,h,w,4]
    valid: np.ndarray  # bool [R,C]
    layout: SheetLayout

    @property
    def alpha(self) -> np.ndarray:
        """``bool [R,C,h,w]``: opaque (alpha > 0) pixels."""
        return self.cells[..., 3] > 0

    def keys(self) -> np.ndarray:
        """``uint32 [R,C,h,w]``: :func:`pack_keys` of the cells."""
        return pack_keys(self.cells)

    def row_frames(self, r: int) -> int:
        """How many frames row ``r`` has (its last valid cell + 1; 0 for an empty row)."""
        idx = np.flatnonzero(self.valid[r])
        return int(idx[-1]) + 1 if len(idx) else 0

    def facing_groups(self) -> List[List[int]]:
        """Rows of one animation seen from different facings (LPC: four rows per animation); others alone."""
        groups: dict = {}
        for i, spec in enumerate(self.layout.rows):
            key = spec.name if spec.facing is not None else f"#{i}"
            groups.setdefault(key, []).append(i)
        return list(groups.values())


def sheet_grid(sheet: np.ndarray, layout: SheetLayout) -> SheetGrid:
    """Cut ``sheet`` (``uint8 [H,W,3|4]``, at least ``layout.size``) into its layout's cells."""
    sheet = to_rgba(np.asarray(sheet))
    fw, fh = layout.frame_width, layout.frame_height
    n_rows, n_cols = len(layout.rows), layout.columns
    body = sheet[: n_rows * fh, : n_cols * fw]
    cells = np.ascontiguousarray(body.reshape(n_rows, fh, n_cols, fw, 4).transpose(0, 2, 1, 3, 4))
    nonempty = cells[..., 3].reshape(n_rows, n_cols, -1).any(axis=2)
    in_row = np.arange(n_cols)[None, :] < np.array([r.frames for r in layout.rows])[:, None]
    return SheetGrid(cells=cells, valid=nonempty & in_row, layout=layout)
