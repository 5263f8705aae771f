"""Baselines of the analogy benchmark, behind the same ``.retarget(source_frames, target)`` call as a model.

The task: given the source animation ``a_0..a_T`` (``uint8 [T,H,W,3|4]``) and the target ``b_0``
(``uint8 [H,W,3|4]``) in the same starting pose, predict ``b_0..b_T`` as ``uint8 [T,H,W,3]``. Alpha is ignored: the
benchmark passes RGB frames composited on the track's background.

* :class:`IdentityBaseline`: ``b_t = b_0`` (no motion at all).
* :class:`PixelAnalogyBaseline`: ``b_t = clip(b_0 + a_t - a_0, 0, 255)`` (the "visual analogy" of Reed et al. 2015 in
  pixel space).
* :class:`FlowWarpBaseline`: dense optical flow from each ``a_t`` back to ``a_0`` (OpenCV DIS, medium preset, on
  grey frames upsampled 4x, as docs/RESEARCH.md explains), then ``b_t(p) = b_0(p + flow_t(p))`` by backward
  warping with ``cv2.remap`` (at 4x, then area-averaged back to the frame size).
  OpenCV is an optional extra (``pip install motionmap[flow]``); :func:`flow_available` says whether it is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from motionmap.errors import MotionmapError


def _split(source_frames: np.ndarray, target: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Validate and drop alpha: ``(uint8 [T,H,W,3], uint8 [H,W,3])``."""
    source_frames, target = np.asarray(source_frames), np.asarray(target)
    if source_frames.ndim != 4 or source_frames.shape[-1] not in (3, 4) or source_frames.dtype != np.uint8:
        raise MotionmapError(
            f"source frames {source_frames.dtype} {tuple(source_frames.shape)}: expected uint8 [T,H,W,3|4]"
        )
    if target.ndim != 3 or target.shape[-1] not in (3, 4) or target.dtype != np.uint8:
        raise MotionmapError(f"target {target.dtype} {tuple(target.shape)}: expected uint8 [H,W,3|4]")
    if source_frames.shape[1:3] != target.shape[:2]:
        raise MotionmapError(
            f"source frames {source_frames.shape[1]}x{source_frames.shape[2]} vs target "
            f"{target.shape[0]}x{target.shape[1]}: sizes differ; pass frames and target of the same size"
        )
    return source_frames[..., :3], target[..., :3]


class IdentityBaseline:
    """``b_t = b_0``: repeats the target for every source frame."""

    name = "identity"

    def retarget(self, source_frames: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``uint8 [T,H,W,3|4]``, ``uint8 [H,W,3|4]`` -> ``uint8 [T,H,W,3]``, every frame equal to the target's RGB."""
        source, b0 = _split(source_frames, target)
        return np.repeat(b0[None], source.shape[0], axis=0).copy()


class PixelAnalogyBaseline:
    """``b_t = clip(b_0 + a_t - a_0, 0, 255)``, per pixel and channel, in integers."""

    name = "analogy"

    def retarget(self, source_frames: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``uint8 [T,H,W,3|4]``, ``uint8 [H,W,3|4]`` -> ``uint8 [T,H,W,3]``."""
        source, b0 = _split(source_frames, target)
        a = source.astype(np.int16)  # (T, H, W, 3)
        out = b0.astype(np.int16)[None] + a - a[:1]
        return np.clip(out, 0, 255).astype(np.uint8)


def flow_available() -> bool:
    """Whether OpenCV (the ``flow`` extra) can be imported."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def _cv2():
    try:
        import cv2
    except ImportError as e:
        raise MotionmapError(
            f"the optical-flow baseline needs OpenCV ({e}); install it with: pip install 'motionmap[flow]'"
        ) from None
    return cv2


@dataclass(frozen=True)
class FlowWarpConfig:
    """Settings of the optical-flow warp baseline (:class:`FlowWarpBaseline`, method label ``flow``).

    ``upsample``: frames are resized by this factor (bilinear) before the flow, because DIS works on 8x8 patches
    with a coarse-to-fine pyramid that has almost nothing to work with at 64x64; 4x is what the measurements below chose.
    ``b_0`` is warped at that resolution too (nearest-neighbour upsampled, bilinear remap, area-averaged back down),
    so the warp keeps the flow's sub-pixel detail. ``preset``: DIS preset, ``ultrafast``, ``fast`` or ``medium``.

    Measured on the default lpc set (SSE/img, plain / scene): medium, bilinear upsampling, warp at 4x: 55.5 / 73.0;
    the same warping at 1x: 58.3 / 75.1; bicubic upsampling: 59.6 / 76.9; fast: 79.7 (plain); 2x: 71.6; 8x: 55.3
    at 5x the time.
    """

    upsample: int = 4
    preset: str = "medium"

    def __post_init__(self):
        if isinstance(self.upsample, bool) or not isinstance(self.upsample, int) or self.upsample < 1:
            raise MotionmapError(f"flow upsample {self.upsample!r}: must be an integer >= 1")
        if self.preset not in ("ultrafast", "fast", "medium"):
            raise MotionmapError(f"DIS preset {self.preset!r}: unknown; choose ultrafast, fast or medium")


def _dis(config: FlowWarpConfig):
    cv2 = _cv2()
    preset = {
        "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
        "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    }[config.preset]
    return cv2.DISOpticalFlow_create(preset)


def _flow_input(frame: np.ndarray, scale: int) -> np.ndarray:
    """``uint8 [H,W,3]`` -> grey ``uint8 [H*scale, W*scale]``, bilinear (what DIS is run on)."""
    cv2 = _cv2()
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    if scale == 1:
        return gray
    h, w = gray.shape
    return cv2.resize(gray, (w * scale, h * scale), interpolation=cv2.INTER_LINEAR)


def dense_flow_to_from(frame_to: np.ndarray, frame_from: np.ndarray, config: FlowWarpConfig = FlowWarpConfig()) -> np.ndarray:
    """Backward flow: for each pixel ``p`` of ``frame_to``, the offset to where it came from in ``frame_from``.

    ``frame_to``, ``frame_from``: ``uint8 [H,W,3]``. Returns ``float32 [H,W,2]`` holding ``(dx, dy)`` in pixels of the
    input size such that ``frame_to(p) ~ frame_from(p + flow(p))``. OpenCV's ``calc(I0, I1)`` returns the flow with
    ``I0(p) ~ I1(p + flow(p))``, so it is called with ``I0 = frame_to`` and ``I1 = frame_from``.
    """
    cv2 = _cv2()
    h, w = frame_to.shape[:2]
    s = config.upsample
    flow = _dis(config).calc(_flow_input(frame_to, s), _flow_input(frame_from, s), None)  # (H*s, W*s, 2)
    if s > 1:
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_AREA) / np.float32(s)  # (H, W, 2)
    return flow.astype(np.float32)


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(p) = image(p + flow(p))``, bilinear, borders replicated: ``uint8 [H,W,C]``, ``float32 [H,W,2]`` ->
    ``uint8 [H,W,C]``."""
    cv2 = _cv2()
    h, w = image.shape[:2]
    if flow.shape != (h, w, 2):
        raise MotionmapError(f"flow of shape {tuple(flow.shape)}: expected ({h}, {w}, 2) for a {h}x{w} image")
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y + flow[..., 1]
    return cv2.remap(np.ascontiguousarray(image), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class FlowWarpBaseline:
    """``b_t = warp(b_0, flow a_t -> a_0)``: moves the target's pixels along the source's dense optical flow.

    Flow and warp run at ``config.upsample`` times the frame size (see :class:`FlowWarpConfig`).
    """

    name = "flow"

    def __init__(self, config: FlowWarpConfig = FlowWarpConfig()):
        _cv2()  # fail early, with the install hint, when the extra is missing
        self.config = config

    def retarget(self, source_frames: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``uint8 [T,H,W,3|4]``, ``uint8 [H,W,3|4]`` -> ``uint8 [T,H,W,3]``; frame 0 is ``b_0`` itself."""
        cv2 = _cv2()
        source, b0 = _split(source_frames, target)
        h, w = b0.shape[:2]
        s = self.config.upsample
        dis = _dis(self.config)
        a0 = _flow_input(source[0], s)
        b0_big = np.ascontiguousarray(b0.repeat(s, axis=0).repeat(s, axis=1))  # (H*s, W*s, 3), nearest
        out = np.empty(source.shape, dtype=np.uint8)
        out[0] = b0
        for t in range(1, source.shape[0]):
            flow = dis.calc(_flow_input(source[t], s), a0, None)  # (H*s, W*s, 2): a_t coords -> a_0 coords
            warped = backward_warp(b0_big, flow)  # (H*s, W*s, 3)
            out[t] = warped if s == 1 else cv2.resize(warped, (w, h), interpolation=cv2.INTER_AREA)
        return out
