"""Safe image decoding and encoding, and alpha compositing.

Everything here works on ``numpy.uint8`` arrays: RGBA images are ``uint8 [H,W,4]`` with alpha 0 transparent and 255
opaque (straight, not premultiplied alpha); RGB images are ``uint8 [H,W,3]``.

Reading goes through Pillow, one frame at a time. Before any pixel is decoded the file size and header are checked, so
a missing file, a non-image, an oversized file (:data:`MAX_FILE_BYTES`) or a decompression bomb (a small file that
claims a huge size, :data:`MAX_PIXELS`; an APNG declaring more than :data:`MAX_FRAMES` frames; a GIF frame outside its
header's canvas) is refused with a one-line :class:`~motionmap.errors.MotionmapError` naming the file. Animations are
also capped per frame (:data:`MAX_ANIMATION_FRAME_PIXELS`), in frame count and in total pixels
(:data:`MAX_TOTAL_PIXELS`). ``tests/safety/test_fuzz_readers.py`` fuzzes every reader with hostile bytes.
"""

from __future__ import annotations

import io
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
# Largest frame of an *animated* file (GIF/APNG) we decode: 2048x2048. Sprite animations are 32-512 px a side; without
# this a 1 kB GIF can declare a 65290x255 canvas (16 MP, under MAX_PIXELS) and three frames, 200 MB and seconds of
# decoding (found by the fuzz test). Still images (sheets) keep the MAX_PIXELS limit.
MAX_ANIMATION_FRAME_PIXELS = 2048 * 2048
# Most frames in one animation (GIF, APNG or frame folder). The longest LPC animation has 13 frames and long hand-drawn
# loops a few hundred; without this cap a GIF of 1x1 frames (~15 bytes each) could hold millions of frames within
# MAX_TOTAL_PIXELS and MAX_FILE_BYTES, each costing a decode call and a Python object.
MAX_FRAMES = 4096
# Largest image file we open (checked with stat, before Pillow reads a byte). A 4096x4096 RGBA atlas of noise is ~67 MB
# as PNG; sprite sheets are far smaller (an LPC layer sheet is 10-100 kB).
MAX_FILE_BYTES = 128 * 1024 * 1024

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
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise MotionmapError(
            f"{path}: file is {size / 2**20:.0f} MiB, more than motionmap opens ({MAX_FILE_BYTES // 2**20} MiB); "
            "split the sheet or animation into smaller files"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                width, height = im.size
                # APNG states its frame count in the header (acTL); GIF's is only known by decoding (capped there).
                declared_frames = int(getattr(im, "n_frames", 1)) if im.format == "PNG" else 1
                logical = _gif_logical_screen(p) if im.format == "GIF" else None
    except UnidentifiedImageError:
        raise _unreadable(path, "not an image file (or a format motionmap cannot read)") from None
    except PermissionError:  # an OSError, but not a corrupt file: say so, or the user re-exports for nothing
        raise MotionmapError(f"{path}: permission denied (cannot read the file); check its permissions "
                             "(chmod u+r) or copy it somewhere readable") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MotionmapError(
            f"{path}: image is too large to decode safely; "
            f"use a sprite sheet under {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except _DECODE_ERRORS:
        raise _unreadable(path) from None
    if logical is not None and logical != (width, height):
        # Pillow grows the canvas to fit a frame placed outside the header's logical screen: a 10x12 GIF whose frame
        # sits at x=65280 becomes a 17-megapixel decode (found by the fuzz test). Encoders never write that.
        raise _unreadable(path, f"its first frame lies outside the {logical[0]}x{logical[1]} canvas its header "
                                "declares (corrupt or hostile file)")
    if width * height > MAX_PIXELS:
        raise MotionmapError(
            f"{path}: {width}x{height} is too large to decode safely (limit {MAX_PIXELS // 1_000_000} megapixels); "
            "split the sheet or scale it down"
        )
    if width == 0 or height == 0:
        raise _unreadable(path, f"image has no pixels ({width}x{height})")
    if declared_frames > MAX_FRAMES:
        raise MotionmapError(
            f"{path}: declares {declared_frames} frames, more than motionmap decodes (limit {MAX_FRAMES}); "
            "split the animation"
        )
    return width, height


def _gif_logical_screen(path: Path) -> Tuple[int, int]:
    """The logical screen size a GIF header declares (bytes 6-9, little-endian width and height)."""
    with open(path, "rb") as fh:
        head = fh.read(10)
    return struct.unpack("<HH", head[6:10])


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


def _frame_array(im: "Image.Image") -> np.ndarray:
    """The current frame of an open Pillow image as decoded numbers: RGBA ``uint8 [H,W,4]`` for 8-bit modes, the raw
    ``[H,W]`` integers or floats for 16/32-bit greyscale (``I``, ``I;16``, ``F``; scaled by :func:`_to_rgba_array`)."""
    if im.mode.startswith("I") or im.mode == "F":
        if im.format == "PNG" and im.mode == "I":
            im = im.convert("I;16")  # 16-bit PNGs decode as 32-bit "I"; their range is 16 bits
        return np.asarray(im)
    return np.asarray(im.convert("RGBA"))


def _decode(path: PathLike, width: int, height: int, max_frames: int) -> Iterator[Tuple[np.ndarray, dict]]:
    """Decode frames one by one with Pillow, checking each frame's size *before* decoding it.

    A GIF frame may lie partly outside the logical screen the header gives; Pillow then grows the canvas (up to its own
    bomb limit, 179 MP) when it seeks to that frame. Every frame must keep the header's ``width x height`` (which
    :func:`check_image_file` capped), so a 10x12 GIF cannot turn into a 60-megapixel decode on its third frame.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(path)
    try:
        if max_frames > 1 and width * height > MAX_ANIMATION_FRAME_PIXELS and getattr(im, "is_animated", False):
            raise MotionmapError(
                f"{path}: animation frames of {width}x{height} are too large to decode safely (limit "
                f"{MAX_ANIMATION_FRAME_PIXELS / 1e6:.1f} megapixels per frame); scale the animation down"
            )
        index = 0
        while True:
            if index > 0:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", Image.DecompressionBombWarning)
                        im.seek(index)
                except EOFError:
                    return
            if index >= max_frames:
                raise MotionmapError(
                    f"{path}: more than {max_frames} frames of {width}x{height} is too large to decode safely; "
                    "split the animation"
                )
            if im.size != (width, height):
                raise _unreadable(path, f"frame {index} is {im.size[0]}x{im.size[1]}, outside the file's "
                                        f"{width}x{height} canvas (corrupt or hostile file)")
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                frame = _to_rgba_array(_frame_array(im), im.mode)
                meta = dict(im.info)
            yield frame, meta
            if not getattr(im, "is_animated", False):
                return
            index += 1
    finally:
        im.close()


def _bomb_message(path: PathLike) -> MotionmapError:
    return MotionmapError(
        f"{path}: image is too large to decode safely; use a sprite sheet under {MAX_PIXELS // 1_000_000} megapixels"
    )


def read_image(path: PathLike) -> np.ndarray:
    """Read one image as RGBA.

    Returns ``uint8 [H,W,4]``; palette, greyscale and RGB images are converted (opaque alpha where the file has
    none). For an animated file (GIF, APNG) the first frame is returned.

    Raises :class:`MotionmapError` naming the file when it is missing, not an image, corrupt, truncated, larger
    than :data:`MAX_FILE_BYTES` or :data:`MAX_PIXELS` (checked from the file size and header, before decoding).
    """
    width, height = check_image_file(path)
    try:
        for frame, _ in _decode(path, width, height, max_frames=1):
            return frame
        raise _unreadable(path)
    except MotionmapError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb_message(path) from None
    except _DECODE_ERRORS:
        raise _unreadable(path) from None


def iter_frames(path: PathLike) -> Iterator[Tuple[np.ndarray, dict]]:
    """Decode every frame of an image file (GIF, APNG, or a still image as one frame).

    Yields ``(frame uint8 [H,W,4], metadata dict)``; the metadata is Pillow's for that frame (``duration`` in ms
    where the file has one). Frames are fully composed (GIF/APNG disposal and blending applied).
    Raises :class:`MotionmapError` as :func:`read_image` does, when a frame does not fit the header's canvas, and
    when there are more than :data:`MAX_FRAMES` frames or all frames together exceed :data:`MAX_TOTAL_PIXELS`.
    """
    width, height = check_image_file(path)
    max_frames = max(1, min(MAX_FRAMES, MAX_TOTAL_PIXELS // (width * height)))
    try:
        yield from _decode(path, width, height, max_frames)
    except MotionmapError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb_message(path) from None
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
        tmp.write_bytes(iio.imwrite("<bytes>", np.ascontiguousarray(image), plugin="pillow", extension=".png"))
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


# --- sizes and bytes -------------------------------------------------------------------------------------------------

# Bytes of chunks a PNG may carry beyond its pixels (palette, colour profile, text) before it counts as padded.
PNG_SLACK_BYTES = 64 * 1024


def honest_size(width: int, height: int, frames: int = 1) -> int:
    """The most bytes an image file of ``frames`` frames of ``width x height`` needs: its pixels stored uncompressed at
    16 bits per RGBA channel, plus :data:`PNG_SLACK_BYTES`. Anything longer is padding (zeros after the image end),
    which would sit on the server's disk for nothing."""
    return frames * (width * height * 8 + height) + PNG_SLACK_BYTES


def check_png_size(data: bytes, what: str) -> None:
    """Refuse a PNG (``data``) longer than :func:`honest_size` of the width and height in its header (IHDR)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise MotionmapError(f"{what}: not a PNG file; zip the PNG frames themselves")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if len(data) > honest_size(width, height):
        raise MotionmapError(f"{what}: {len(data)} bytes for one {width}x{height} frame: padded or damaged; "
                             "re-export the frames")


def encode_png(image: np.ndarray) -> bytes:
    """``uint8 [H,W,3|4]`` -> PNG bytes (in memory: a page's picture, a zip member)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()

