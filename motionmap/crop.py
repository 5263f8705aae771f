"""Content crop: run the model only on the part of the frame that holds the character.

A sprite on a flat background leaves much of its frame empty (an LPC character's animation rows fill about 60 % of
the 64x64 cell). There the answer is known without a model (the target's own background), yet every stage of the
model (encoders, correlations, matching, refinement, adaptor, decoder) pays for those pixels. :func:`plan_crop`
finds the box that holds every pixel unlike the background, in the source frames, the reference and the targets,
with :data:`CROP_MARGIN` pixels of background around it (an LPC row's box: 60x48 to 60x56 of its 64x64 cell); the
retargeter runs the model on that box (:meth:`CropPlan.to_model`) and pastes the result into the target
(:meth:`CropPlan.from_model`): on the speed benchmark's rows 11-13 % faster (README, Speed). Over a scene
background, or for a character that fills its frame, the box is the whole frame and nothing changes.

Why a wide margin: the network's receptive field sees past the box's edge, and a crop shifts where its zero padding
starts. With 8 px of background on each side the validation scores matched the uncropped model's (``motionmap eval
--set lpc|ulpc --seed 1|2``, 2 threads: 26.236 / 60.464 / 28.430 / 60.466 uncropped, 26.233 / 60.512 / 28.431 /
60.489 cropped, within what the thread count alone moves them); 4 px lost 0.16 SSE on ``ulpc`` (docs/RESEARCH.md,
"The whole model pass on the character's box").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

CROP_MARGIN = 8
"""Pixels of background kept around the content (then widened to whole :data:`CROP_ALIGN`-pixel cells)."""

CROP_ALIGN = 4
"""Box edges on multiples of this (the network pools by 2 twice; the refinement needs sizes divisible by 4)."""

MIN_CROP_SIDE = 16
"""The smallest box side; a smaller box grows around its centre (the network's coarse levels need room)."""

Box = Tuple[int, int, int, int]  # (y0, y1, x0, x1): rows y0..y1-1, columns x0..x1-1


def _pixels(images: np.ndarray) -> np.ndarray:
    """``uint8 [N,H,W,3|4]`` -> ``uint32 [N,H,W]``, one number per pixel; transparent pixels read as opaque black
    (what the model sees of them: RGBA is composited over black)."""
    images = np.asarray(images)
    rgba = np.empty(images.shape[:-1] + (4,), np.uint8)
    rgba[..., : images.shape[-1]] = images
    if images.shape[-1] == 3:
        rgba[..., 3] = 255
    pixels = rgba.view(np.uint32)[..., 0]
    opaque_black = np.array([0, 0, 0, 255], np.uint8).view(np.uint32)[0]
    return np.where(rgba[..., 3] == 0, opaque_black, pixels)


def content_bounds(images: np.ndarray, background: Optional[np.ndarray] = None) -> Optional[Box]:
    """The tight box around every pixel of ``images`` (``uint8 [N,H,W,3|4]``) unlike ``background`` (``uint8 [3|4]``;
    default the first image's top-left pixel; transparent reads as black); None when there is none. A pixel that is
    half transparent counts as unlike any opaque colour (the box can only grow by it)."""
    pixels = _pixels(images)
    background = pixels[0, 0, 0] if background is None else _pixels(np.asarray(background)[None, None, None])[0, 0, 0]
    # Some frame differs from the background at p iff the frames' max or min there does (cheaper than comparing all)
    differs = (pixels.max(0) != background) | (pixels.min(0) != background)  # (H, W)
    rows, cols = np.flatnonzero(differs.any(1)), np.flatnonzero(differs.any(0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _union(a: Optional[Box], b: Optional[Box]) -> Optional[Box]:
    if a is None or b is None:
        return a if b is None else b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def _widen(lo: int, hi: int, size: int, margin: int, align: int, min_side: int) -> Tuple[int, int]:
    """``[lo, hi)`` plus ``margin`` on each side, its ends on multiples of ``align`` and at least ``min_side`` long
    (both only as far as the frame, ``size``, allows)."""
    lo, hi = max(0, (lo - margin) // align * align), min(size, -(-(hi + margin) // align) * align)
    while hi - lo < min(min_side, size):
        lo, hi = max(0, lo - align), min(size, hi + align)
    return lo, hi


@dataclass(frozen=True)
class CropPlan:
    """``box``: the part of the frame the model runs on, ``(y0, y1, x0, x1)``; None: the whole frame."""

    box: Optional[Box] = None

    @property
    def is_identity(self) -> bool:
        return self.box is None

    def to_model(self, images: np.ndarray) -> np.ndarray:
        """``[..., H, W, C]`` -> ``[..., y1-y0, x1-x0, C]``, the box."""
        if self.box is None:
            return images
        y0, y1, x0, x1 = self.box
        return np.ascontiguousarray(np.asarray(images)[..., y0:y1, x0:x1, :])

    def from_model(self, outputs: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Model outputs of the box, ``uint8 [T,h,w,3]``, pasted into ``target`` (``uint8 [H,W,3|4]``, RGBA over black,
        as the model sees it) -> ``uint8 [T,H,W,3]``: outside the box every frame is the target."""
        if self.box is None:
            return outputs
        from motionmap.retarget import _to_float, _to_uint8  # the model's own conversion (imported here: no cycle)

        y0, y1, x0, x1 = self.box
        frame = _to_uint8(_to_float(target[None]))[0]  # (H, W, 3)
        out = np.broadcast_to(frame, (len(outputs),) + frame.shape).copy()
        out[:, y0:y1, x0:x1] = outputs
        return out


def plan_crop(source_frames: np.ndarray, targets: Sequence[np.ndarray], reference: Optional[np.ndarray] = None,
              margin: int = CROP_MARGIN, align: int = CROP_ALIGN, min_side: int = MIN_CROP_SIDE) -> CropPlan:
    """The crop plan for ``source_frames`` (``uint8 [T,H,W,3|4]``) onto ``targets`` (each ``uint8 [H,W,3|4]``), the
    motion starting from ``reference`` (``uint8 [H,W,3|4]``; default ``source_frames[0]``).

    The source's content is measured against the reference's top-left pixel, each target's against its own (a target
    may stand on another colour); the box holds both, with ``margin`` pixels around. A target whose content lies
    within the margin of the source's content changes nothing, so one animation onto many targets of its size crops
    alike and keeps its cached motion (:mod:`motionmap.motion_cache`). The whole frame (identity) when the box would
    be the whole frame or nothing differs from the background.
    """
    h, w = source_frames.shape[1:3]
    pose = source_frames[:1] if reference is None else reference[None]
    source_box = _union(content_bounds(pose), content_bounds(source_frames, pose[0, 0, 0]))
    target_box = None
    for target in targets:
        target_box = _union(target_box, content_bounds(target[None]))
    if source_box is None and target_box is None:
        return CropPlan()
    box = _union(source_box, target_box)
    y0, y1 = _widen(box[0], box[1], h, margin, align, min_side)
    x0, x1 = _widen(box[2], box[3], w, margin, align, min_side)
    if (y1 - y0, x1 - x0) == (h, w):
        return CropPlan()
    return CropPlan((y0, y1, x0, x1))
