"""Palette lock: output that uses only the target's own colours, as a pixel artist would draw it.

A model renders every pixel as a blend (the bilinear warp and the decoder both average colours), so most pixels it
draws on a character are colours that occur nowhere in the character: 35 % of the shipped model's character pixels
were colours of the target on the LPC benchmark (``motionmap eval --set lpc --palette off``), against 99.7 % in the
true frames. Palette lock snaps each output pixel to the nearest colour of the target's palette:

- :func:`target_palette`: the distinct RGB colours of the target ``b_0`` (for RGBA, of its pixels with alpha > 0;
  fully transparent pixels carry no colour). For a sheet target, the colours of the whole sheet.
- :func:`snap_to_palette`: each pixel to the palette colour nearest in RGB (squared Euclidean distance). A colour
  already in the palette is its own nearest and stays exactly as it is.

Why plain RGB distance, and why snapping the model's output rather than sampling the target's pixels: on 21 cases
of the LPC benchmark (every 10th case; ``python benchmarks/palette_methods.py --track plain|scene``) snapping in RGB
cost 1.6 SSE/img (plain) and 2.0 (scene) over the soft output; snapping in OKLab gave the same SSE and a lower SSIM
(0.9580 against 0.9592, plain); sampling the moved pixels of ``b_0`` with nearest instead of bilinear interpolation
cost 8.9 (plain) and 11.7 (scene), because it rounds the flow's sub-pixel motion away. The benchmark's metrics are
RGB errors, so the nearest RGB colour is the one that loses least of what the model got right.

Palette size has no limit: a painted target with thousands of colours snaps to its own colours as well (nothing is
merged or dropped). Arrays are ``uint8``: images ``[...,3]``, palettes ``[K,3]``.

>>> snap_to_palette(np.array([[10, 10, 10], [250, 0, 0]], np.uint8), np.array([[0, 0, 0], [255, 0, 0]], np.uint8))
array([[  0,   0,   0],
       [255,   0,   0]], dtype=uint8)
"""

from __future__ import annotations

from typing import Iterable, Optional, Union

import numpy as np

from motionmap.alpha import BLACK, over_solid
from motionmap.errors import MotionmapError

PALETTE_MODES = ("target", "off")
"""``target``: snap to the target's colours and make alpha hard (0 or 255); ``off``: the model's soft output."""

DEFAULT_PALETTE = "target"

# Distances are computed for this many distinct output colours at a time: (chunk x K) float32 stays small (a
# 4096-colour palette gives 16 MiB per chunk).
_CHUNK = 1024

Palette = Union[str, np.ndarray]
"""A palette option: a mode of :data:`PALETTE_MODES`, or explicit colours ``uint8 [K,3]``."""


def check_palette(palette: object, name: str = "--palette") -> Palette:
    """``palette`` if it is a mode of :data:`PALETTE_MODES` or colours ``uint8 [K,3]``, else a one-line
    :class:`MotionmapError` saying what is allowed."""
    if isinstance(palette, str):
        if palette in PALETTE_MODES:
            return palette
    elif isinstance(palette, np.ndarray) and palette.dtype == np.uint8 and palette.ndim == 2 and palette.shape[1] == 3:
        return palette
    if isinstance(palette, str):
        shown = palette[:40]
    else:
        shown = f"{type(palette).__name__} {getattr(palette, 'shape', '')}".strip()
    raise MotionmapError(
        f"{name} {shown!r}: unknown palette option; use 'target' (the target's own colours, hard alpha) or 'off' "
        "(the model's soft colours and alpha)"
    )


def _pack(rgb: np.ndarray) -> np.ndarray:
    """``uint8 [...,3]`` -> ``int64 [...]``, one integer per colour (0xRRGGBB)."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _distinct(keys: np.ndarray):
    """``np.unique(keys, return_inverse=True)`` for 24-bit colour keys ``[N]``: the sorted distinct keys (int64) and
    each key's index among them ``int64 [N]``. Through torch's sort (about half numpy's time for a 13-frame row of
    64x64: 0.6 vs 1.2 ms), as int32, which sorts faster than int64."""
    import torch

    distinct, inverse = torch.unique(torch.from_numpy(np.ascontiguousarray(keys, dtype=np.int32)), return_inverse=True)
    return distinct.numpy().astype(np.int64), inverse.numpy()


def _unpack(keys: np.ndarray) -> np.ndarray:
    return np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=-1).astype(np.uint8)


def target_palette(images: Union[np.ndarray, Iterable[np.ndarray]]) -> np.ndarray:
    """The distinct colours of one or more images: ``uint8 [K,3]``, sorted (0xRRGGBB order).

    images: ``uint8 [...,H,W,3|4]`` (a target, a sheet, or frames), or a list of such arrays (e.g. one target per
    facing). RGBA pixels with alpha 0 are left out (their colour is invisible); every other pixel counts, including
    semi-transparent ones (their straight colour). K is 0 for a fully transparent image.
    """
    if isinstance(images, np.ndarray):
        images = [images]
    keys = []
    for image in images:
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim < 3 or image.shape[-1] not in (3, 4):
            raise MotionmapError(f"palette: expected uint8 [H,W,3|4] images, got {image.dtype} {tuple(image.shape)}")
        rgb = image[..., :3].reshape(-1, 3)
        if image.shape[-1] == 4:
            rgb = rgb[image[..., 3].reshape(-1) > 0]
        keys.append(np.unique(_pack(rgb)))
    if not keys:
        return np.zeros((0, 3), np.uint8)
    return _unpack(np.unique(np.concatenate(keys)))


def in_palette(images: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Whether each pixel's exact RGB occurs in ``palette``: ``uint8 [...,3]``, ``uint8 [K,3]`` -> ``bool [...]``."""
    return np.isin(_pack(np.asarray(images)[..., :3]), _pack(np.asarray(palette)))


def snap_to_palette(images: np.ndarray, palette: np.ndarray, where: Optional[np.ndarray] = None) -> np.ndarray:
    """Each pixel's colour replaced by the nearest colour of ``palette`` in RGB: ``uint8 [...,3]`` -> the same shape.

    palette: ``uint8 [K,3]``; an empty palette returns a copy of ``images`` unchanged. Colours already in the
    palette are unchanged (distance 0). where: optional ``bool [...]``, snap only those pixels (e.g. the opaque ones
    of an RGBA image). Ties go to the first palette entry, so the result is deterministic.
    """
    images = np.asarray(images)
    palette = np.asarray(palette)
    if images.dtype != np.uint8 or images.ndim < 1 or images.shape[-1] != 3:
        raise MotionmapError(f"snap_to_palette: expected uint8 [...,3] images, got {images.dtype} {tuple(images.shape)}")
    if palette.dtype != np.uint8 or palette.ndim != 2 or palette.shape[1] != 3:
        raise MotionmapError(f"snap_to_palette: expected a uint8 [K,3] palette, got {palette.dtype} {tuple(palette.shape)}")
    if len(palette) == 0:
        return images.copy()
    select = None if where is None else np.asarray(where, bool)
    if select is not None and select.shape != images.shape[:-1]:
        raise MotionmapError(f"snap_to_palette: where {tuple(select.shape)} does not fit images {tuple(images.shape)}")
    pixels = images.reshape(-1, 3) if select is None else images[select]  # (N, 3)
    keys, inverse = _distinct(_pack(pixels))
    colours = _unpack(keys).astype(np.float32)  # (U, 3)
    pal = palette.astype(np.float32)  # (K, 3)
    nearest = np.empty(len(keys), np.int64)
    for start in range(0, len(keys), _CHUNK):
        c = colours[start : start + _CHUNK]
        # |c - p|^2 up to the per-row constant |c|^2, which does not change the argmin.
        d = (pal * pal).sum(1)[None, :] - 2.0 * c @ pal.T  # (chunk, K)
        nearest[start : start + _CHUNK] = d.argmin(axis=1)
    snapped = palette[nearest][inverse.reshape(-1)]  # (N, 3)
    if select is None:
        return snapped.reshape(images.shape)
    out = images.copy()
    out[select] = snapped
    return out


def palette_for(palette: Palette, target: np.ndarray, rgba_output: bool) -> Optional[np.ndarray]:
    """The colours an output is locked to, ``uint8 [K,3]``, or None for ``"off"``.

    palette: a :data:`Palette` (checked). ``"target"``: the colours of ``target`` (``uint8 [H,W,3|4]``) as the model
    was shown it: for RGBA output its visible pixels' colours; for RGB output from an RGBA target, the target
    composited over black. Explicit colours are returned as given.
    """
    palette = check_palette(palette, "palette")
    if not isinstance(palette, str):
        return palette
    if palette == "off":
        return None
    target = np.asarray(target)
    if target.shape[-1] == 4 and not rgba_output:
        target = over_solid(target, BLACK)
    return target_palette(target)


def lock_frames(frames: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Frames with every visible pixel snapped to ``palette``: ``uint8 [T,H,W,3|4]`` -> the same shape.

    RGB frames: every pixel. RGBA frames: the pixels with alpha > 0 (transparent ones stay ``(0, 0, 0, 0)``); alpha
    itself is left as it is (make it hard first: :func:`motionmap.alpha.matte` with ``binary=True``).
    """
    frames = np.asarray(frames)
    if frames.shape[-1] == 3:
        return snap_to_palette(frames, palette)
    rgb = snap_to_palette(frames[..., :3], palette, where=frames[..., 3] > 0)
    return np.concatenate([rgb, frames[..., 3:]], axis=-1)
