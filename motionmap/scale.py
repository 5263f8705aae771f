"""Pixel scale: resample sprites so that the model sees them at the scale it was trained on, and back.

The shipped model learned motion on 64x64 LPC frames, where a character is about 48 px tall and moves a few pixels per
frame. Users bring 16x16 to 256x256 frames, and pixel art is often exported upscaled (every art pixel a k x k block).
:func:`plan_scale` picks, from the frames alone:

1. ``block``: the art's own pixel size k (every frame constant on aligned k x k blocks, k <= 8): such frames are
   reduced exactly by k, and the result is blown up again by k, so a 2x export gives exactly the 1x result;
2. ``up``: for art that is still small after that (longest side under 32 px, e.g. 16x16 or 24x24 sprites), an integer
   nearest-neighbour upscale m that brings it near 64 px, so motions are as many model pixels long as in training;
   the model's output is averaged back over each m x m block.

Anything else runs at its own size. :class:`ScalePlan` applies a plan to ``uint8 [..., H, W, C]`` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

MODEL_FRAME = 64
"""The frame size the shipped model was trained at (the LPC cell)."""

SMALL_FRAME = 32
"""Below this longest side (after removing pixel blocks) sprites are upscaled toward :data:`MODEL_FRAME`."""

MAX_BLOCK = 8


def resize_nearest(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resample of ``[..., H, W, C]`` (any dtype) to ``[..., height, width, C]``.

    Output pixel ``i`` takes input pixel ``floor((i + 0.5) * H / height)`` (centre sampling, as image editors do),
    so an integer upscale repeats each pixel and an integer downscale keeps one pixel per block.
    """
    images = np.asarray(images)
    h, w = images.shape[-3], images.shape[-2]
    rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return np.ascontiguousarray(images[..., rows, :, :][..., :, cols, :])


def pixel_block(images: Sequence[np.ndarray], max_block: int = MAX_BLOCK) -> int:
    """The largest k <= ``max_block`` such that every image (``[..., H, W, C]``) is constant on aligned k x k blocks
    (H and W multiples of k); 1 when there is none."""
    arrays = [np.asarray(a) for a in images]
    h, w = arrays[0].shape[-3], arrays[0].shape[-2]
    for k in range(max_block, 1, -1):
        if h % k or w % k:
            continue
        if all(_constant_blocks(a, k) for a in arrays):
            return k
    return 1


def _constant_blocks(a: np.ndarray, k: int) -> bool:
    h, w, c = a.shape[-3:]
    blocks = a.reshape(a.shape[:-3] + (h // k, k, w // k, k, c))
    first = blocks[..., :, :1, :, :1, :]
    return bool(np.all(blocks == first))


@dataclass(frozen=True)
class ScalePlan:
    """``block``: exact reduction by the art's pixel size; ``up``: integer upscale after it (1: none)."""

    block: int = 1
    up: int = 1

    @property
    def is_identity(self) -> bool:
        return self.block == 1 and self.up == 1

    def to_model(self, images: np.ndarray) -> np.ndarray:
        """``uint8 [..., H, W, C]`` -> the model's working scale ``[..., H*up/block, W*up/block, C]``."""
        images = np.asarray(images)
        if self.block > 1:
            images = images[..., :: self.block, :: self.block, :]
        if self.up > 1:
            images = np.repeat(np.repeat(images, self.up, axis=-3), self.up, axis=-2)
        return np.ascontiguousarray(images)

    def from_model(self, images: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_model` for ``uint8 [..., h, w, C]`` model outputs: each ``up`` x ``up`` block is
        averaged (rounded), then every pixel repeated ``block`` times."""
        images = np.asarray(images)
        if self.up > 1:
            h, w, c = images.shape[-3:]
            m = self.up
            blocks = images.reshape(images.shape[:-3] + (h // m, m, w // m, m, c)).astype(np.float32)
            images = np.round(blocks.mean(axis=(-4, -2))).clip(0, 255).astype(np.uint8)
        if self.block > 1:
            images = np.repeat(np.repeat(images, self.block, axis=-3), self.block, axis=-2)
        return np.ascontiguousarray(images)


def plan_scale(source_frames: np.ndarray, target: np.ndarray) -> ScalePlan:
    """The scale plan for a retarget of ``source_frames`` (``[T,H,W,C]``) onto ``target`` (``[H,W,C]``)."""
    block = pixel_block([source_frames, target])
    h, w = source_frames.shape[-3] // block, source_frames.shape[-2] // block
    longest = max(h, w)
    up = 1
    if longest < SMALL_FRAME:
        up = max(1, int(round(MODEL_FRAME / longest)))
    return ScalePlan(block=block, up=up)
