"""Small whole-frame moves of pixel-art frames and masks: shifts, the list of shifts searched, dilation."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

MAX_SHIFT = 3


def shift_list(max_shift: int = MAX_SHIFT) -> List[Tuple[int, int]]:
    """All ``(dy, dx)`` with ``|dy|, |dx| <= max_shift``, row-major; ``(0, 0)`` is at index ``len // 2``."""
    r = range(-max_shift, max_shift + 1)
    return [(dy, dx) for dy in r for dx in r]


SHIFTS = np.array(shift_list(MAX_SHIFT))
"""The shifts the checks search, ``int [S,2]`` (dy, dx) row-major (:func:`shift_list`); ``SHIFTS[ZERO]`` is (0, 0)."""
ZERO = len(SHIFTS) // 2


def shift_frames(keys: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``keys`` ``[...,h,w]`` moved by ``(dy, dx)`` pixels (down, right), filling with 0 (transparent)."""
    out = np.zeros_like(keys)
    h, w = keys.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = keys[..., ys, xs]
    return out


def shift_rgba(cell: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """An RGBA frame ``uint8 [h,w,4]`` moved by ``(dy, dx)``, transparent where nothing moved in."""
    return np.moveaxis(shift_frames(np.moveaxis(cell, -1, 0), dy, dx), 0, -1)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square (Chebyshev) dilation of ``bool [...,h,w]`` by ``radius`` pixels."""
    out = mask.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy or dx:
                out |= shift_frames(mask, dy, dx)
    return out
