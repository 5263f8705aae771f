"""Safe image decoding and encoding, and alpha compositing.

Everything here works on ``numpy.uint8`` arrays: RGBA images are ``uint8 [H,W,4]`` with alpha 0 transparent and 255
opaque (straight, not premultiplied alpha); RGB images are ``uint8 [H,W,3]``.

Reading goes through ``imageio.v3`` with its Pillow plugin. Before any pixel is decoded the header is checked, so a
missing file, a non-image, or a decompression bomb (a small file that claims a huge size) is refused with a one-line
:class:`~motionmap.errors.MotionmapError` naming the file.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Iterator, Tuple, Union

import imageio.v3 as iio
import numpy as np
from PIL import Image, UnidentifiedImageError

from motionmap.errors import MotionmapError
from motionmap.io.atomic import atomic_file

PathLike = Union[str, "os.PathLike[str]"]

# Largest frame we decode, from the header's width x height. Sprite sheets are far smaller (an LPC sheet is 1.1 MP,
# large atlases 4096x4096 = 17 MP); 40 MP is 160 MB of RGBA. Pillow's own bomb guard starts at 89 MP.
MAX_PIXELS = 40_000_000
# Largest animation we decode, all frames together (400 MB of RGBA): 24k frames of 64x64, 380 of 512x512.
MAX_TOTAL_PIXELS = 100_000_000

# Exceptions that decoders raise on a corrupt or truncated file.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, struct.error)


def _unreadable(path: PathLike, why: str = "not a readable image (truncated or corrupt)") -> MotionmapError:
    return MotionmapError(f"{path}: {why}; re-export it as PNG")


def check_image_file(path: PathLike) -> Tuple[int, int]:
    """Check that ``path`` is an image file of acceptable size, from its header only; return ``(width, height)``.

    Raises :class:`MotionmapError` for a missing path, a folder, a non-image, or an image over :data:`MAX_PIXELS`.
    """
    p = Path(path)
    if not p.exists():
        raise MotionmapError(f"{path}: no such file; check the path")
    if p.is_dir():
        raise MotionmapError(f"{path}: is a folder, expected an image file; give the path of a PNG or GIF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                width, height = im.size
    except UnidentifiedImageError:
        raise _unreadable(path, "not an image file (or a format motionmap cannot read)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MotionmapError(
            f"{path}: image is too large to decode safely; "
            f"use a sprite sheet under {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except _DECODE_ERRORS:
        raise _unreadable(path) from None
    if width * height > MAX_PIXELS:
        raise MotionmapError(
            f"{path}: {width}x{height} is too large to decode safely (limit {MAX_PIXELS // 1_000_000} megapixels); "
            "split the sheet or scale it down"
        )
    if width == 0 or height == 0:
        raise _unreadable(path, f"image has no pixels ({width}x{height})")
    return width, height


def _pil_mode(path: PathLike) -> str:
    with Image.open(path) as im:
        return im.mode


def _to_rgba_array(frame: np.ndarray, pil_mode: str) -> np.ndarray:
    """Convert a frame as decoded by Pillow (any channel count/dtype) to ``uint8 [H,W,4]``."""
    if frame.dtype != np.uint8:
        # 16-bit or 32-bit integer greyscale PNGs: scale to 8 bits instead of clipping.
        frame = frame.astype(np.float64)
        top = 65535.0 if frame.max(initial=0) > 255 or pil_mode.startswith("I;16") else 255.0
        frame = np.clip(np.round(frame * (255.0 / top)), 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = frame[..., None]
    channels = frame.shape[-1]
    if channels == 1:
        frame = np.concatenate([np.repeat(frame, 3, axis=-1), np.full_like(frame, 255)], axis=-1)
    elif channels == 2:
        frame = np.concatenate([np.repeat(frame[..., :1], 3, axis=-1), frame[..., 1:]], axis=-1)
    elif channels == 3:
        frame = to_rgba(frame)
    elif channels != 4:
        raise ValueError(f"unexpected decoded image shape {frame.shape}")
    return np.ascontiguousarray(frame)


def read_image(path: PathLike) -> np.ndarray:
    """Read one image as RGBA.

    Returns ``uint8 [H,W,4]``; palette, greyscale and RGB images are converted (opaque alpha where the file has
    none). For an animated file (GIF, APNG) the first frame is returned.

    Raises :class:`MotionmapError` naming the file when it is missing, not an image, corrupt, truncated, or larger
    than :data:`MAX_PIXELS` (checked from the header, before decoding).
    """
    check_image_file(path)
    try:
        mode = _pil_mode(path)
        if mode.startswith("I") or mode == "F":
            frame = iio.imread(path, index=0, plugin="pillow")
        else:
            frame = iio.imread(path, index=0, plugin="pillow", mode="RGBA")
        return _to_rgba_array(np.asarray(frame), mode)
    except MotionmapError:
        raise
    except _DECODE_ERRORS:
        raise _unreadable(path) from None


def iter_frames(path: PathLike) -> Iterator[Tuple[np.ndarray, dict]]:
    """Decode every frame of an image file (GIF, APNG, or a still image as one frame).

    Yields ``(frame uint8 [H,W,4], metadata dict)``; the metadata is Pillow's for that frame (``duration`` in ms
    where the file has one). Frames are fully composed (GIF/APNG disposal and blending applied).
    Raises :class:`MotionmapError` as :func:`read_image` does, and when all frames together exceed
    :data:`MAX_TOTAL_PIXELS`.
    """
    width, height = check_image_file(path)
    max_frames = max(1, MAX_TOTAL_PIXELS // (width * height))
    try:
        mode = _pil_mode(path)
        with iio.imopen(path, "r", plugin="pillow") as f:
            kwargs = {} if (mode.startswith("I") or mode == "F") else {"mode": "RGBA"}
            for i, frame in enumerate(f.iter(**kwargs)):
                if i >= max_frames:
                    raise MotionmapError(
                        f"{path}: more than {max_frames} frames of {width}x{height} is too large to decode safely; "
                        "split the animation"
                    )
                meta = f.metadata(index=i, exclude_applied=False)
                yield _to_rgba_array(np.asarray(frame), mode), dict(meta)
    except MotionmapError:
        raise
    except _DECODE_ERRORS:
        raise _unreadable(path) from None


def _check_uint8_image(image: np.ndarray, what: str, ndim: int = 3) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8, got {image.dtype}")
    if image.ndim != ndim or image.shape[-1] not in (3, 4):
        dims = "[H,W,3|4]" if ndim == 3 else "[T,H,W,3|4]"
        raise ValueError(f"{what}: expected uint8 {dims}, got shape {tuple(image.shape)}")
    if image.shape[-2] == 0 or image.shape[-3] == 0:
        raise ValueError(f"{what}: image has no pixels, shape {tuple(image.shape)}")
    return image


def write_png(path: PathLike, image: np.ndarray, overwrite: bool = False) -> Path:
    """Write ``image`` (``uint8 [H,W,3]`` RGB or ``[H,W,4]`` RGBA) as a PNG, atomically. Returns the path."""
    image = _check_uint8_image(image, "write_png image")
    with atomic_file(path, overwrite=overwrite) as tmp:
        iio.imwrite(tmp, np.ascontiguousarray(image), plugin="pillow", extension=".png")
    return Path(path)


def to_rgba(image: np.ndarray) -> np.ndarray:
    """``uint8 [...,H,W,3|4] -> uint8 [...,H,W,4]``: RGB gets an opaque alpha; RGBA is returned as is (not copied)."""
    image = np.asarray(image)
    if image.shape[-1] == 4:
        return image
    if image.shape[-1] != 3:
        raise ValueError(f"expected [...,H,W,3|4], got shape {tuple(image.shape)}")
    alpha = np.full(image.shape[:-1] + (1,), 255, dtype=image.dtype)
    return np.concatenate([image, alpha], axis=-1)


def composite_over(rgba: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Alpha-composite ``rgba`` over an opaque ``background`` (Porter-Duff "over", straight alpha).

    rgba: ``uint8 [...,H,W,4]``; background: ``uint8 [...,H,W,3]``, broadcastable against ``rgba[..., :3]``
    (e.g. one ``[H,W,3]`` background under ``[T,H,W,4]`` frames, or ``[1,1,3]`` for a solid colour).
    Returns ``uint8 [...,H,W,3]``: exactly the sprite where alpha is 255, exactly the background where it is 0,
    ``round((rgb*a + bg*(255-a)) / 255)`` in between.
    """
    rgba = np.asarray(rgba)
    background = np.asarray(background)
    if rgba.dtype != np.uint8 or background.dtype != np.uint8:
        raise ValueError(f"composite_over: expected uint8 inputs, got {rgba.dtype} and {background.dtype}")
    if rgba.shape[-1] != 4:
        raise ValueError(f"composite_over: expected rgba [...,H,W,4], got shape {tuple(rgba.shape)}")
    if background.shape[-1] != 3:
        raise ValueError(f"composite_over: expected background [...,H,W,3], got shape {tuple(background.shape)}")
    alpha = rgba[..., 3:].astype(np.uint16)  # (..., H, W, 1)
    # rgb*a + bg*(255-a) <= 255*255, so uint16 cannot overflow (+127 for rounding: 65152 < 65536).
    mixed = rgba[..., :3].astype(np.uint16) * alpha + background.astype(np.uint16) * (255 - alpha)
    return ((mixed + 127) // 255).astype(np.uint8)


def alpha_over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Alpha-composite RGBA ``top`` over RGBA ``bottom`` (Porter-Duff "over", straight alpha).

    top, bottom: ``uint8 [...,H,W,4]`` of the same shape. Returns ``uint8 [...,H,W,4]``. Where ``top`` is opaque the
    result is exactly ``top``; where it is fully transparent, exactly ``bottom``. Used to stack LPC layer sheets.
    """
    top = np.asarray(top)
    bottom = np.asarray(bottom)
    if top.shape != bottom.shape or top.shape[-1] != 4:
        raise ValueError(f"alpha_over: expected two RGBA arrays of one shape, got {top.shape} and {bottom.shape}")
    a_top = top[..., 3]
    out = bottom.copy()
    opaque = a_top == 255
    out[opaque] = top[opaque]
    partial = (a_top > 0) & ~opaque
    if partial.any():
        t = top[partial].astype(np.float32) / 255.0  # (N, 4)
        b = bottom[partial].astype(np.float32) / 255.0  # (N, 4)
        a_out = t[:, 3:] + b[:, 3:] * (1.0 - t[:, 3:])  # (N, 1), > 0 since t alpha > 0
        rgb = (t[:, :3] * t[:, 3:] + b[:, :3] * b[:, 3:] * (1.0 - t[:, 3:])) / a_out
        mixed = np.concatenate([rgb, a_out], axis=-1)
        out[partial] = np.clip(np.round(mixed * 255.0), 0, 255).astype(np.uint8)
    return out
