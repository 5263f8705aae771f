"""Check sheet files, sheet arrays and one character's layer sheets (the entry points of ``motionmap check``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

import numpy as np

from motionmap.check.align import MAX_SHIFT, shift_frames, shift_list
from motionmap.check.detect import SHIFT_THRESHOLD, Flag, _offset, _score, check_grid, shift_evidence
from motionmap.check.grid import SheetGrid, sheet_grid
from motionmap.check.prior import natural_shifts
from motionmap.errors import MotionmapError
from motionmap.io.images import read_image
from motionmap.io.sheets import _check_sheet_size, detect_layout
from motionmap.layout import LPC_LAYOUT, SheetLayout
from motionmap.lpc import compose_layers, layer_folder_files, load_layer_sheet

PathLike = Union[str, "os.PathLike[str]"]

# A layer frame is flagged when moving it back takes at least this many more of its pixels off the body's outline
# than the same move does in the row's other frames.
LAYER_GAIN = 10.0
LAYER_GAIN_ALONE = 20.0
LAYER_EVIDENCE = 0.25


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
    for name in names[1:]:
        flags += layer_shifts(body, sheet_grid(layers[name], layout), name)
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


def layer_shifts(body: SheetGrid, layer: SheetGrid, name: str) -> List[Flag]:
    """``shift`` flags of one layer against the body it is drawn on.

    Two witnesses must agree on the move that puts the layer back. Its own animation: moved as a whole, the layer
    frame matches the layer's neighbouring frames better (:func:`~motionmap.check.detect.shift_evidence` of the
    layer alone). The body: a layer sits on the body, and how many of its pixels hang off the body's silhouette
    changes little from frame to frame of an animation (0 for most clothes; hair and hats hang off by their own
    shape); the same move takes at least :data:`LAYER_GAIN` px more off the overhang than it does in the row's
    other frames (their median), and the row's other frames do not want that move (nor do clean LPC layers at that
    cell, :func:`~motionmap.check.prior.natural_shifts`). Strong animation evidence needs
    the body to agree by :data:`LAYER_GAIN` px that the move helps; weaker evidence needs :data:`LAYER_GAIN_ALONE`
    px of excess.
    """
    shifts = shift_list(MAX_SHIFT)
    zero = len(shifts) // 2
    overhang = np.stack([(shift_frames(layer.alpha, dy, dx) & ~body.alpha).sum(axis=(2, 3)) for dy, dx in shifts],
                        axis=-1)
    gain = overhang[..., zero][..., None] - overhang  # [R,C,S]: px taken off the overhang by each move
    # A small layer (shoes) gains few matched pixels by any move: ask its own animation for proportionally less.
    size = float(np.median(layer.alpha[layer.valid].sum(axis=(1, 2)))) if layer.valid.any() else 0.0
    evidence, best = shift_evidence(layer, full_gain=float(np.clip(0.1 * size, LAYER_GAIN, 30.0)))
    flags = []
    for r, f in zip(*np.nonzero(layer.valid & body.valid & (evidence > LAYER_EVIDENCE))):
        dy, dx = (int(v) for v in best[r, f])
        if (dy, dx) in natural_shifts(layer, int(r), int(f)):  # clean LPC layers move this way here
            continue
        k = shifts.index((dy, dx))
        others = np.flatnonzero(layer.valid[r] & body.valid[r])
        others = others[others != f]
        if not len(others) or np.mean(np.argmax(gain[r, others], axis=-1) == k) >= 0.5:
            continue
        excess = float(gain[r, f, k] - np.median(gain[r, others, k]))
        strong = evidence[r, f] > SHIFT_THRESHOLD and min(excess, gain[r, f, k]) >= LAYER_GAIN
        if not (strong or excess >= LAYER_GAIN_ALONE):
            continue
        flags.append(Flag(int(r), int(f), "shift", _score(excess, LAYER_GAIN),
                          f"layer {name} sits {_offset(-dy, -dx)} off the body: moved back it matches its "
                          f"neighbouring frames, and {int(excess)} px fewer hang off the body than in the row's "
                          "other frames", layer=name, move=(dy, dx)))
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
