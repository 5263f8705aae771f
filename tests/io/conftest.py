"""Small synthetic sprites for the I/O tests (made here, so the tests need no data files)."""

from __future__ import annotations

import numpy as np
import pytest


def make_sprite_frames(t: int = 6, h: int = 24, w: int = 20, seed: int = 0, partial_alpha: bool = False) -> np.ndarray:
    """``uint8 [T,H,W,4]``: a few-colour blob that moves, on a transparent background (like a sprite)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (6, 3), dtype=np.uint8)
    frames = np.zeros((t, h, w, 4), np.uint8)
    for i in range(t):
        y, x = 2 + i % 4, 1 + (2 * i) % max(1, w - 10)
        body = rng.integers(0, len(palette), (h // 2, 8))
        frames[i, y : y + h // 2, x : x + 8, :3] = palette[body]
        frames[i, y : y + h // 2, x : x + 8, 3] = 255
        if partial_alpha:
            frames[i, y, x : x + 8, 3] = 100  # a soft edge
    return frames


@pytest.fixture
def sprite_frames() -> np.ndarray:
    return make_sprite_frames()


@pytest.fixture
def make_sprites():
    """The :func:`make_sprite_frames` factory, for tests that need several sizes or seeds."""
    return make_sprite_frames
