"""Slice sprite sheets into animations and assemble animations back into sheets.

A sheet is ``uint8 [H,W,C]`` (C = 4 for RGBA, or 3); its :class:`~motionmap.layout.SheetLayout` says which row holds
which animation. Row ``i`` is ``layout.rows[i]``, left-aligned, ``layout.rows[i].frames`` cells long; cells past a
row's last frame are unused (transparent). Slicing trims *trailing* empty cells (alpha all zero), so a generic grid
whose rows have different lengths needs no per-row frame counts.

>>> from motionmap.layout import LPC_LAYOUT
>>> sheet = np.zeros((1344, 832, 4), np.uint8)
>>> [len(r) for r in slice_sheet(sheet, LPC_LAYOUT)][:2]   # fully transparent rows keep one frame
[1, 1]
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.layout import LPC_LAYOUT, SheetLayout, grid_layout


def _check_sheet_size(width: int, height: int, layout: SheetLayout, name_for_errors: str) -> None:
    fw, fh = layout.frame_width, layout.frame_height
    if width % fw or height % fh:
        raise MotionmapError(
            f"{name_for_errors}: {width}x{height} is not a multiple of the {fw}x{fh} frame size; "
            "crop or pad the sheet to whole frames, or give the right --frame-size"
        )
    lw, lh = layout.size
    if width < lw or height < lh:
        raise MotionmapError(
            f"{name_for_errors}: {width}x{height} is smaller than the {lw}x{lh} its layout needs "
            f"({layout.columns} columns x {len(layout.rows)} rows of {fw}x{fh} frames); "
            "check the sheet or give the right --frame-size"
        )


def _trim_trailing_empty(frames: np.ndarray) -> np.ndarray:
    """Drop trailing frames whose alpha is all zero, keeping at least one. frames: ``[T,h,w,4]``."""
    if frames.shape[-1] != 4:
        return frames
    nonempty = frames[..., 3].reshape(len(frames), -1).any(axis=1)  # (T,)
    last = int(np.flatnonzero(nonempty)[-1]) + 1 if nonempty.any() else 1
    return frames[:last]


def row_frames(sheet: np.ndarray, layout: SheetLayout, row: int, frames: Optional[int] = None) -> np.ndarray:
    """The first ``frames`` cells (default: the row's frame count) of row ``row`` of ``sheet`` as
    ``uint8 [frames,h,w,C]`` (a new, contiguous array; nothing trimmed). ``sheet``: ``uint8 [H,W,C]`` at least as
    large as those cells (unchecked: :func:`slice_sheet` checks whole sheets)."""
    fw, fh = layout.frame_width, layout.frame_height
    n = layout.rows[row].frames if frames is None else frames
    strip = sheet[row * fh : (row + 1) * fh, : n * fw]  # (h, n*w, C)
    cells = strip.reshape(fh, n, fw, sheet.shape[-1]).transpose(1, 0, 2, 3)  # (n, h, w, C)
    return np.ascontiguousarray(cells)


def first_frame(sheet: np.ndarray, layout: SheetLayout, row: int) -> np.ndarray:
    """The first cell of row ``row`` of ``sheet``: ``uint8 [h,w,C]`` (see :func:`row_frames`)."""
    return row_frames(sheet, layout, row, 1)[0]


def _check_sheet_array(sheet: np.ndarray) -> np.ndarray:
    sheet = np.asarray(sheet)
    if sheet.dtype != np.uint8 or sheet.ndim != 3 or sheet.shape[-1] not in (3, 4):
        raise ValueError(f"expected a sheet uint8 [H,W,3|4], got {sheet.dtype} {tuple(sheet.shape)}")
    return sheet


def slice_sheet(sheet: np.ndarray, layout: SheetLayout, name_for_errors: str = "sheet") -> List[np.ndarray]:
    """Cut ``sheet`` into one animation per layout row.

    sheet: ``uint8 [H,W,4]`` (``[H,W,3]`` is accepted; then nothing is trimmed). Returns a list with one
    ``uint8 [T_i,h,w,C]`` array per ``layout.rows[i]``, ``1 <= T_i <= layout.rows[i].frames``: trailing cells whose
    alpha is all zero are trimmed, keeping at least one frame. A sheet larger than the layout is fine (extra
    rows and columns are ignored); one whose size is not a multiple of the frame size, or smaller than the
    layout, raises :class:`MotionmapError` naming ``name_for_errors``.
    """
    sheet = _check_sheet_array(sheet)
    height, width = sheet.shape[:2]
    _check_sheet_size(width, height, layout, name_for_errors)
    return [_trim_trailing_empty(row_frames(sheet, layout, i)) for i in range(len(layout.rows))]


def animation_from_sheet(
    sheet: np.ndarray,
    layout: SheetLayout,
    name: str,
    facing: Optional[str] = None,
    name_for_errors: str = "sheet",
) -> np.ndarray:
    """One animation of ``sheet``: the frames of the row holding ``name`` seen from ``facing``.

    Returns ``uint8 [T,h,w,C]`` with trailing empty cells trimmed (see :func:`slice_sheet`). An unknown animation
    or facing raises :class:`MotionmapError` naming the sheet and the choices it has.
    """
    sheet = _check_sheet_array(sheet)
    try:
        row = layout.row_index(name, facing)
    except MotionmapError as e:
        raise MotionmapError(f"{name_for_errors}: {e}") from None
    height, width = sheet.shape[:2]
    _check_sheet_size(width, height, layout, name_for_errors)
    return _trim_trailing_empty(row_frames(sheet, layout, row))


def assemble_sheet(rows: Sequence[np.ndarray], layout: SheetLayout) -> np.ndarray:
    """Lay animations out as a sheet: the inverse of :func:`slice_sheet`.

    rows: one ``uint8 [T_i,h,w,C]`` per ``layout.rows[i]`` (``h, w`` the layout's frame size, ``C`` 3 or 4 and the
    same for all rows, ``1 <= T_i <= layout.columns``). Returns ``uint8 [H,W,C]`` of ``layout.size``, zero
    (transparent) in unused cells. ``slice_sheet(assemble_sheet(rows, layout), layout)`` gives ``rows`` back when
    no row ends in an empty frame.
    """
    if len(rows) != len(layout.rows):
        raise ValueError(f"assemble_sheet: got {len(rows)} animations for a layout with {len(layout.rows)} rows")
    fw, fh = layout.frame_width, layout.frame_height
    channels = {np.asarray(r).shape[-1] for r in rows}
    if len(channels) != 1 or not channels <= {3, 4}:
        raise ValueError(f"assemble_sheet: all rows need the same channel count, 3 or 4; got {sorted(channels)}")
    (c,) = channels
    width, height = layout.size
    sheet = np.zeros((height, width, c), np.uint8)
    for i, frames in enumerate(rows):
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:3] != (fh, fw):
            raise ValueError(
                f"assemble_sheet: row {i} ({layout.rows[i].name}) must be uint8 [T,{fh},{fw},{c}], "
                f"got {frames.dtype} {tuple(frames.shape)}"
            )
        t = frames.shape[0]
        if not 1 <= t <= layout.columns:
            raise ValueError(f"assemble_sheet: row {i} has {t} frames; the layout has room for 1..{layout.columns}")
        sheet[i * fh : (i + 1) * fh, : t * fw] = frames_strip(frames)  # (h, T*w, C)
    return sheet


def frames_strip(frames: np.ndarray) -> np.ndarray:
    """``uint8 [T,H,W,C]`` -> one row ``uint8 [H,T*W,C]``: a one-animation sprite sheet (the inverse of
    :func:`row_frames` on it)."""
    t, h, w, c = frames.shape
    return np.ascontiguousarray(frames.transpose(1, 0, 2, 3).reshape(h, t * w, c))


def is_lpc_size(width: int, height: int) -> bool:
    """True for LPC sheets: 832 wide (13 columns of 64) and at least 1344 tall, a whole number of 64 px rows.

    Sheets from the Universal LPC generator can be taller (extra rows below the standard 21); those rows are ignored.
    """
    lw, lh = LPC_LAYOUT.size
    return width == lw and height >= lh and height % LPC_LAYOUT.frame_height == 0


def layout_of_size(width: int, height: int, known: Sequence[SheetLayout] = ()) -> Optional[SheetLayout]:
    """The layout a ``width x height`` sheet has by its size alone: :data:`~motionmap.layout.LPC_LAYOUT` for an LPC
    sheet (:func:`is_lpc_size`), else the first of ``known`` of exactly that size; None for anything else (a grid
    sheet, whose frame size must be given)."""
    if is_lpc_size(width, height):
        return LPC_LAYOUT
    return next((layout for layout in known if layout.size == (width, height)), None)


def parse_frame_size(value: object) -> Optional[Tuple[int, int]]:
    """``None``, ``64``, ``"64"``, ``"64x48"`` or ``(64, 48)`` -> ``(width, height)``; else :class:`MotionmapError`."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            parts = value.lower().replace(" ", "").split("x")
            dims = tuple(int(p) for p in parts)
        elif isinstance(value, (int, np.integer)):
            dims = (int(value),)
        else:
            dims = tuple(int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        dims = ()
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1:
        raise MotionmapError(f"frame size {value!r}: expected WIDTHxHEIGHT in pixels, e.g. 64x64")
    return dims[0], dims[1]


def detect_layout(
    width: int,
    height: int,
    frame_size: object = None,
    names: Optional[Sequence[str]] = None,
    frame_counts: Optional[Sequence[int]] = None,
    name_for_errors: str = "sheet",
) -> SheetLayout:
    """The layout of a ``width x height`` sheet.

    An LPC-sized sheet (see :func:`is_lpc_size`) with no ``frame_size``, ``names`` or ``frame_counts`` (or a
    64x64 frame size) is :data:`~motionmap.layout.LPC_LAYOUT`. Anything else is a generic grid of ``frame_size``
    cells (``(w, h)`` or ``"WxH"``), one animation per row, named by ``names`` (default ``row0``, ``row1``...);
    an LPC-sized sheet given names or counts is a 64x64 grid. Raises :class:`MotionmapError` when the frame size
    is needed but missing, or does not divide the sheet.
    """
    size = parse_frame_size(frame_size)
    grid_options = names is not None or frame_counts is not None
    if layout_of_size(width, height) is LPC_LAYOUT and not grid_options and size in (None, (64, 64)):
        return LPC_LAYOUT
    if size is None:
        if is_lpc_size(width, height):
            size = (LPC_LAYOUT.frame_width, LPC_LAYOUT.frame_height)
        else:
            lw, lh = LPC_LAYOUT.size
            raise MotionmapError(
                f"{name_for_errors}: {width}x{height} is not an LPC sheet ({lw}x{lh}); "
                "give the frame size of this grid sheet, e.g. --frame-size 64x64"
            )
    fw, fh = size
    if width % fw or height % fh:
        raise MotionmapError(
            f"{name_for_errors}: {width}x{height} is not a multiple of the {fw}x{fh} frame size; "
            "crop or pad the sheet to whole frames, or give the right --frame-size"
        )
    try:
        return grid_layout(fw, fh, width // fw, height // fh, names=names, frame_counts=frame_counts)
    except MotionmapError as e:
        raise MotionmapError(f"{name_for_errors}: {e}") from None
