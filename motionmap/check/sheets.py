"""Check sheet files, sheet arrays and one character's layer sheets (the entry points of ``motionmap check``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

import numpy as np

from motionmap.check.detect import Flag, check_grid
from motionmap.check.grid import sheet_grid
from motionmap.check.layers import layer_shifts, same_pose_frames
from motionmap.errors import MotionmapError
from motionmap.io.images import read_image
from motionmap.io.sheets import _check_sheet_size, detect_layout
from motionmap.layout import LPC_LAYOUT, SheetLayout
from motionmap.lpc import compose_layers, layer_folder_files, load_layer_sheet

PathLike = Union[str, "os.PathLike[str]"]

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
    from the body in some frames (``layer`` = the layer's name; :func:`layer_shifts`).
    """
    names = list(layers)
    composed = compose_layers([layers[k] for k in names])
    flags = check_sheet_array(composed, layout)
    body = sheet_grid(layers[names[0]], layout)
    poses = same_pose_frames(body)
    for name in names[1:]:
        flags += layer_shifts(body, sheet_grid(layers[name], layout), name, poses)
    flags.sort(key=lambda fl: (fl.row, fl.frame, fl.layer or ""))
    return flags


def check_worn(layer: np.ndarray, body: np.ndarray, name: str = "layer",
               layout: SheetLayout = LPC_LAYOUT) -> List[Flag]:
    """Check one layer sheet (``uint8 [H,W,4]``) as worn over ``body`` (a body sheet of the same layout).

    A single layer is no character, and the checks that assume one (specks, shifts, order) are noisy on it; they
    run on the layer composed over the body, keeping the flags the body alone does not have. Holes and odd colours
    are the layer's own (worn, a hole shows skin): they run on the layer alone. Then :func:`layer_shifts`.
    """
    body_grid = sheet_grid(body, layout)
    layer_grid = sheet_grid(layer, layout)
    own = {(fl.row, fl.frame, fl.kind) for fl in check_grid(body_grid)}
    flags = check_grid(layer_grid, kinds=("hole", "colour"))
    flags += [fl for fl in check_grid(sheet_grid(compose_layers([body, layer]), layout),
                                      kinds=("speck", "shift", "order"))
              if (fl.row, fl.frame, fl.kind) not in own]
    flags += layer_shifts(body_grid, layer_grid, name)
    flags.sort(key=lambda fl: (fl.row, fl.frame, fl.layer or ""))
    return flags


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
