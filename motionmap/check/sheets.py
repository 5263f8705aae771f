"""Check sheet files, sheet arrays and one character's layer sheets (the entry points of ``motionmap check``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

import numpy as np

from motionmap.check.align import shift_rgba
from motionmap.check.detect import Flag, check_grid, find_shifts
from motionmap.check.grid import SheetGrid, pack_keys, sheet_grid
from motionmap.errors import MotionmapError
from motionmap.io.images import alpha_over, read_image
from motionmap.io.sheets import _check_sheet_size, detect_layout
from motionmap.layout import LPC_LAYOUT, SheetLayout
from motionmap.lpc import compose_layers, layer_folder_files, load_layer_sheet

PathLike = Union[str, "os.PathLike[str]"]

# A layer flag stands when putting the layer back raises the composed frame's exact pixel matches with its
# neighbouring frames by at least this factor.
LAYER_GAIN = 1.02


@dataclass
class SheetReport:
    """The flags of one sheet (``path``), its layout and the checked sheet ``uint8 [H,W,4]`` (for the picture)."""

    path: str
    layout: SheetLayout
    sheet: np.ndarray
    flags: List[Flag]


def check_sheet_array(sheet: np.ndarray, layout: SheetLayout) -> List[Flag]:
    """Flags of a sheet ``uint8 [H,W,3|4]`` laid out as ``layout`` (at least ``layout.size``)."""
    return check_grid(sheet_grid(sheet, layout))


def check_layers(layers: Mapping[str, np.ndarray], layout: SheetLayout = LPC_LAYOUT) -> List[Flag]:
    """Check one character given as its layer sheets (name -> ``uint8 [H,W,4]``, bottom to top, body first).

    Returns the flags of the composed sheet (``layer`` None) and ``shift`` flags of single layers that moved away
    from the rest of the character in some frames (``layer`` = the layer's name).
    """
    names = list(layers)
    composed = compose_layers([layers[k] for k in names])
    flags = check_sheet_array(composed, layout)
    grids = {k: sheet_grid(layers[k], layout) for k in names}
    whole = sheet_grid(composed, layout)
    for name in names[1:]:
        flags += [fl for fl in find_shifts(grids[name], layer=name) if _moves_against_body(grids, name, whole, fl)]
    flags.sort(key=lambda fl: (fl.row, fl.frame, fl.layer or ""))
    return flags


def _moves_against_body(grids: Mapping[str, SheetGrid], name: str, whole: SheetGrid, flag: Flag) -> bool:
    """Does putting layer ``name`` back (``flag.move``) in its frame make the composed character match its
    neighbouring frames better (more exactly equal pixels)? True for a layer that left the body; False for a layer
    moving with the body (hair bobbing with the head), which moved back would sit off the body."""
    r, f = flag.row, flag.frame
    fixed = None
    for k, grid in grids.items():
        cell = grid.cells[r, f]
        if k == name:
            cell = shift_rgba(cell, *flag.move)
        fixed = cell.copy() if fixed is None else alpha_over(cell, fixed)
    keys = whole.keys()
    fixed_keys = pack_keys(fixed)
    nbrs = [g for g in (f - 2, f - 1, f + 1, f + 2) if 0 <= g < whole.valid.shape[1] and whole.valid[r, g]]
    if not nbrs:
        return True
    before = sum(int(((keys[r, f] == keys[r, g]) & (keys[r, g] != 0)).sum()) for g in nbrs)
    after = sum(int(((fixed_keys == keys[r, g]) & (keys[r, g] != 0)).sum()) for g in nbrs)
    return after > before * LAYER_GAIN


def sheet_layout(sheet: np.ndarray, frame_size: Optional[str], name: str) -> SheetLayout:
    """The layout of ``sheet``: LPC for LPC-sized sheets without ``frame_size``, else a grid of ``frame_size``."""
    height, width = sheet.shape[:2]
    layout = detect_layout(width, height, frame_size=frame_size, name_for_errors=name)
    _check_sheet_size(width, height, layout, name)
    fw, fh = layout.frame_width, layout.frame_height
    if fw < 4 or fh < 4:
        raise MotionmapError(f"{name}: frames of {fw}x{fh} px are too small to check; give the real --frame-size")
    return layout


def check_file(path: PathLike, frame_size: Optional[str] = None) -> SheetReport:
    """Read and check one sheet file. Raises :class:`MotionmapError` for a missing, corrupt or wrongly sized one."""
    sheet = read_image(path)
    layout = sheet_layout(sheet, frame_size, str(path))
    return SheetReport(str(path), layout, sheet, check_sheet_array(sheet, layout))


def check_layer_folder(folder: PathLike) -> SheetReport:
    """Check one character's layer folder (see :func:`motionmap.lpc.layer_folder_files`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MotionmapError(f"{folder}: no such folder; give --layers a folder of one character's layer sheets")
    files = layer_folder_files(folder)
    if not files:
        raise MotionmapError(
            f"{folder}: not a folder of LPC layer sheets; give body/, hair/... subfolders or 832x1344 layer PNGs"
        )
    layers: Dict[str, np.ndarray] = {}
    for p in files:
        key = p.stem if p.parent == folder else p.parent.name
        layers[key] = load_layer_sheet(p)
    flags = check_layers(layers)
    return SheetReport(str(folder), LPC_LAYOUT, compose_layers(list(layers.values())), flags)
