"""The frame cache: every frame of every character pre-sliced into one memory-mapped uint8 array.

Decoding PNGs and compositing on the fly made an early prototype data-bound (about 25 pairs/s). The cache is built
once from the sheets (``DIR/frames.npy``, written atomically) and then opened with ``mmap_mode="r"``, so a worker
fetches a pair with two array reads and the page cache is shared by every process.

Layout of the array: ``uint8 [N_characters, F, h, w, 4]`` where ``F = sum(row.frames for row in layout.rows)`` and row
``r`` of the sheet occupies ``F``-indices ``offsets[r]:offsets[r+1]``
(see :func:`motionmap.datasets.format.row_offsets`).
Cells of a row beyond its real frame count are not stored.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from motionmap.datasets.format import row_offsets
from motionmap.errors import MotionmapError
from motionmap.io.sheets import row_frames
from motionmap.layout import SheetLayout


def sheet_frames(sheet: np.ndarray, layout: SheetLayout, name: str = "sheet") -> np.ndarray:
    """All real frames of ``sheet`` in row order.

    sheet: uint8 [H, W, 4] with ``(W, H) == layout.size``. Returns uint8 [F, h, w, 4] (a new array).
    ``name`` is used in the error message when the size does not match.
    """
    w, h = layout.frame_width, layout.frame_height
    if sheet.ndim != 3 or sheet.shape[2] != 4 or sheet.dtype != np.uint8:
        raise MotionmapError(f"{name}: expected an RGBA uint8 sheet [H,W,4], got {sheet.dtype} {tuple(sheet.shape)}")
    if (sheet.shape[1], sheet.shape[0]) != layout.size:
        raise MotionmapError(
            f"{name}: sheet is {sheet.shape[1]}x{sheet.shape[0]} pixels but the dataset layout is "
            f"{layout.size[0]}x{layout.size[1]}; rebuild the dataset"
        )
    offsets = row_offsets(layout)
    out = np.empty((int(offsets[-1]), h, w, 4), dtype=np.uint8)
    for r in range(len(layout.rows)):
        out[offsets[r]:offsets[r + 1]] = row_frames(sheet, layout, r)  # (n, h, w, 4)
    return out


def write_frame_cache(
    path: Path,
    n_characters: int,
    layout: SheetLayout,
    frames_of: Callable[[int], np.ndarray],
    progress: Optional[Callable[[int], None]] = None,
) -> None:
    """Write ``uint8 [N, F, h, w, 4]`` to ``path`` (a plain ``.npy``), filling character ``i`` with ``frames_of(i)``.

    The file is written through a memory map so peak memory is one character's frames. The caller makes it atomic.
    """
    offsets = row_offsets(layout)
    shape = (n_characters, int(offsets[-1]), layout.frame_height, layout.frame_width, 4)
    arr = np.lib.format.open_memmap(str(path), mode="w+", dtype=np.uint8, shape=shape)
    try:
        _reserve_space(path)
        for i in range(n_characters):
            arr[i] = frames_of(i)
            if progress is not None:
                progress(i)
        arr.flush()
    finally:
        del arr


def _reserve_space(path: Path) -> None:
    """Allocate the (sparse) file's blocks now: on a full disk that is an ``OSError`` (ENOSPC, one line in the CLI),
    where writing through the memory map later would kill the process with SIGBUS and leave its temporary folder."""
    if not hasattr(os, "posix_fallocate"):  # macOS, Windows: nothing to reserve with
        return
    with open(path, "r+b") as fh:
        try:
            os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # a filesystem without it: write as before
                return
            raise


def open_frame_cache(path: Path, expected_shape: Sequence[int]) -> np.ndarray:
    """Open ``frames.npy`` read-only as a memory map and check its shape and dtype against the manifest."""
    try:
        arr = np.load(str(path), mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise MotionmapError(
            f"{path}: unreadable frame cache ({e}); delete it and it is rebuilt from the sheets"
        ) from None
    if arr.dtype != np.uint8 or tuple(arr.shape) != tuple(expected_shape):
        raise MotionmapError(
            f"{path}: frame cache is {arr.dtype} {tuple(arr.shape)}, the manifest needs uint8 {tuple(expected_shape)}; "
            "delete it and it is rebuilt from the sheets"
        )
    return arr
