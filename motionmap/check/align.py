"""How well one frame matches another under small whole-frame shifts (pixel-exact, the way pixel art is drawn).

Frames are packed keys ``uint32 [N,h,w]`` (:meth:`motionmap.check.grid.SheetGrid.keys`: 0 = transparent).
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

MAX_SHIFT = 3


def shift_list(max_shift: int = MAX_SHIFT) -> List[Tuple[int, int]]:
    """All ``(dy, dx)`` with ``|dy|, |dx| <= max_shift``, row-major; ``(0, 0)`` is at index ``len // 2``."""
    r = range(-max_shift, max_shift + 1)
    return [(dy, dx) for dy in r for dx in r]


def shift_frames(keys: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``keys`` ``[...,h,w]`` moved by ``(dy, dx)`` pixels (down, right), filling with 0 (transparent)."""
    out = np.zeros_like(keys)
    h, w = keys.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = keys[..., ys, xs]
    return out


def shifted_mismatch(a: np.ndarray, b: np.ndarray, max_shift: int = MAX_SHIFT) -> np.ndarray:
    """``int32 [N,S]``: for each pair ``(a[i], b[i])`` and each shift of :func:`shift_list`, how many pixels of
    ``a`` moved by that shift differ from ``b`` (colour or opacity). a, b: ``uint32 [N,h,w]``."""
    a, b = np.asarray(a), np.asarray(b)
    n, h, w = a.shape
    m = max_shift
    padded = np.zeros((n, h + 2 * m, w + 2 * m), a.dtype)
    padded[:, m : m + h, m : m + w] = a
    shifts = shift_list(max_shift)
    out = np.empty((n, len(shifts)), np.int32)
    for k, (dy, dx) in enumerate(shifts):
        window = padded[:, m - dy : m - dy + h, m - dx : m - dx + w]
        out[:, k] = (window != b).reshape(n, -1).sum(axis=1)
    return out


def shifted_matches(a: np.ndarray, b: np.ndarray, max_shift: int = MAX_SHIFT) -> np.ndarray:
    """``int32 [N,S]``: for each pair and shift of :func:`shift_list`, how many opaque pixels of ``a`` moved by that
    shift land on an opaque pixel of ``b`` of exactly the same colour. a, b: ``uint32 [N,h,w]``."""
    a, b = np.asarray(a), np.asarray(b)
    n, h, w = a.shape
    m = max_shift
    padded = np.zeros((n, h + 2 * m, w + 2 * m), a.dtype)
    padded[:, m : m + h, m : m + w] = a
    b_opaque = b != 0
    shifts = shift_list(max_shift)
    out = np.empty((n, len(shifts)), np.int32)
    for k, (dy, dx) in enumerate(shifts):
        window = padded[:, m - dy : m - dy + h, m - dx : m - dx + w]
        out[:, k] = ((window == b) & b_opaque).reshape(n, -1).sum(axis=1)
    return out
