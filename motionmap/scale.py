"""Pixel scale: run the model on pixel art at the art's own pixel size, and resample frames for the benchmark.

The shipped model learned motion on 64x64 LPC frames drawn one art pixel per image pixel. Pixel art is often exported
upscaled (every art pixel a k x k block: 2x, 4x exports). :func:`plan_scale` finds that block size k from the frames
(every frame constant on aligned k x k blocks, k <= 8); such frames are reduced exactly by k before the model and the
result is blown up again by k, so a 2x export gives exactly the 1x result. Anything else runs at its own size.

Tried and not kept: upscaling small sprites (under 32 px) toward 64 px by an integer before the model. On LPC
characters resampled to 16x16 it helped a little (SSE 74.4 vs 75.6), at 32x32 not at all, and on a set of small
synthetic 16x16 sprites it hurt (44.2 vs 38.1), so small sprites run at their own size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from motionmap.layout import MIN_FRAME_SIDE

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
    (H and W multiples of k) and the reduced frame keeps :data:`motionmap.layout.MIN_FRAME_SIDE` px a side; 1 when
    there is none (a blank frame is constant on any block, so the size floor is what stops it)."""
    # Smallest first: a one-frame target that is not blocky answers before a whole animation is compared.
    arrays = sorted((np.asarray(a) for a in images), key=lambda a: a.size)
    h, w = arrays[0].shape[-3], arrays[0].shape[-2]
    for k in range(max_block, 1, -1):
        if h % k or w % k or h // k < MIN_FRAME_SIDE or w // k < MIN_FRAME_SIDE:
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
    """``block``: the art's pixel size k; frames are reduced exactly by k for the model (1: no change)."""

    block: int = 1

    @property
    def is_identity(self) -> bool:
        return self.block == 1

    def to_model(self, images: np.ndarray) -> np.ndarray:
        """``uint8 [..., H, W, C]`` -> ``[..., H/block, W/block, C]`` (one pixel per block)."""
        images = np.asarray(images)
        return np.ascontiguousarray(images[..., :: self.block, :: self.block, :])

    def from_model(self, images: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_model` for model outputs ``[..., h, w, C]``: every pixel repeated ``block`` times."""
        images = np.asarray(images)
        return np.ascontiguousarray(np.repeat(np.repeat(images, self.block, axis=-3), self.block, axis=-2))


def plan_scale(source_frames: np.ndarray, target: np.ndarray, reference: Optional[np.ndarray] = None) -> ScalePlan:
    """The scale plan for a retarget of ``source_frames`` (``[T,H,W,C]``) onto ``target`` (``[H,W,C]``), with the
    optional ``reference`` frame (``[H,W,C]``) the motion starts from."""
    return ScalePlan(block=pixel_block([source_frames, target] + ([] if reference is None else [reference])))
