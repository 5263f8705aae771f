"""Animations on disk: animated GIF, APNG, folders of numbered PNG frames, and sprite sheets; read and write.

In memory an animation is an :class:`Animation`: RGBA frames ``uint8 [T,H,W,4]`` and one duration per frame in
milliseconds. Readers accept:

- an animated GIF or APNG (``.gif``, ``.png``, ``.apng``): per-frame durations kept;
- a folder of numbered frames (``frame_1.png``, ``frame_2.png``, ..., ``frame_10.png``: natural order);
- an Aseprite export (``.json`` beside its PNG): one tag, picked by ``animation`` (see :mod:`motionmap.io.aseprite`);
- a sprite sheet plus an animation name (``animation="walk", facing="left"``): LPC sheets (832x1344) are detected
  by size, other grids need ``frame_size`` (and optionally per-row ``names`` and ``frame_counts``);
- one character's folder of LPC layer sheets (``body.png``, ``hair.png``... or ``body/``, ``hair/``... holding one
  sheet each), composed on the fly and then read as a sheet.

Writers are atomic (see :mod:`motionmap.io.atomic`) and refuse to replace an existing output unless ``overwrite``.
``write_animation`` picks the format from the suffix: ``.gif`` GIF, ``.png``/``.apng`` APNG, no suffix a frame
folder.

>>> anim = read_animation("hero.png", animation="walk", facing="left")    # doctest: +SKIP
>>> anim.frames.shape, anim.durations_ms[:2]                               # doctest: +SKIP
((9, 64, 64, 4), (100, 100))
>>> write_animation("walk.gif", anim)                                      # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import imageio.v3 as iio
import numpy as np
from PIL import GifImagePlugin, Image

from motionmap.errors import MotionmapError
from motionmap.io.atomic import atomic_dir, atomic_file
from motionmap.io.images import (
    MAX_FRAMES,
    MAX_TOTAL_PIXELS,
    _check_uint8_image,
    check_image_file,
    iter_frames,
    read_image,
    to_rgba,
    write_png,
)
from motionmap.io.names import natural_key
from motionmap.io.sheets import animation_from_sheet, assemble_sheet, detect_layout, is_lpc_size
from motionmap.layout import LPC_LAYOUT, SheetLayout

PathLike = Union[str, "os.PathLike[str]"]

# Frame duration when the source has none (sheets, frame folders, GIFs with a zero delay): 10 fps, the pace of
# LPC animations and what browsers substitute for zero-delay GIF frames.
DEFAULT_DURATION_MS = 100

# File types taken as frames in a frame folder.
FRAME_SUFFIXES = (".png",)
ANIMATION_SUFFIXES = (".gif", ".png", ".apng")

# Alpha below this is transparent in a GIF (GIF has one fully transparent palette entry and no partial alpha).
GIF_ALPHA_THRESHOLD = 128


@dataclass
class Animation:
    """An animation: ``frames`` ``uint8 [T,H,W,4]`` (RGBA, alpha 0 transparent) and ``durations_ms`` (T ints > 0).

    RGB frames ``[T,H,W,3]`` are accepted and given an opaque alpha.
    """

    frames: np.ndarray
    durations_ms: Tuple[int, ...]

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] not in (3, 4) or len(frames) == 0:
            raise ValueError(
                f"Animation.frames: expected uint8 [T,H,W,4] with T >= 1, got {frames.dtype} {frames.shape}"
            )
        self.frames = to_rgba(frames)
        durations = _durations(self.durations_ms, len(frames))
        self.durations_ms = durations

    @staticmethod
    def uniform(frames: np.ndarray, duration_ms: int = DEFAULT_DURATION_MS) -> "Animation":
        """An animation whose frames all last ``duration_ms``."""
        return Animation(frames, (int(duration_ms),) * len(frames))

    def __len__(self) -> int:
        return len(self.frames)


def _durations(durations_ms: Union[int, Sequence[int]], n: int) -> Tuple[int, ...]:
    if isinstance(durations_ms, (int, np.integer)):
        durations_ms = [int(durations_ms)] * n
    durations = tuple(int(round(float(d))) for d in durations_ms)
    if len(durations) != n:
        raise ValueError(f"got {len(durations)} frame durations for {n} frames; give one per frame")
    if any(d <= 0 for d in durations):
        raise ValueError(f"frame durations must be positive milliseconds, got {durations}")
    return durations


# --- reading ---------------------------------------------------------------------------------------------------------


def frame_files(folder: Path) -> List[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_frame_folder(folder: PathLike) -> Animation:
    """Read a folder of PNG frames in natural order (``2.png`` before ``10.png``); durations are the default.

    Raises :class:`MotionmapError` for a folder without PNG frames or frames of different sizes (naming the file).
    """
    folder = Path(folder)
    files = frame_files(folder)
    if not files:
        raise MotionmapError(f"{folder}: no PNG frames in this folder; put numbered frames (frame_000.png, ...) in it")
    if len(files) > MAX_FRAMES:
        raise MotionmapError(
            f"{folder}: {len(files)} PNG frames, more than motionmap loads as one animation (limit {MAX_FRAMES}); "
            "split the folder"
        )
    first_w, first_h = check_image_file(files[0])
    if len(files) * first_w * first_h > MAX_TOTAL_PIXELS:
        raise MotionmapError(f"{folder}: {len(files)} frames of {first_w}x{first_h} is too large to load; split it")
    frames = []
    for p in files:
        w, h = check_image_file(p)
        if (w, h) != (first_w, first_h):
            raise MotionmapError(
                f"{p}: frame is {w}x{h} but {files[0].name} is {first_w}x{first_h}; all frames need the same size"
            )
        frames.append(read_image(p))
    return Animation.uniform(np.stack(frames))


def read_animated_file(path: Path) -> Animation:
    frames, durations = [], []
    for frame, meta in iter_frames(path):
        frames.append(frame)
        d = meta.get("duration")
        durations.append(int(round(float(d))) if d and float(d) >= 1 else DEFAULT_DURATION_MS)
    if path.suffix.lower() == ".gif":
        # GIF transparency is one palette index: its colour under alpha 0 is meaningless. Zero it, as our PNGs have.
        stack = np.stack(frames)
        stack[stack[..., 3] == 0] = 0
        return Animation(stack, tuple(durations))
    return Animation(np.stack(frames), tuple(durations))


def read_sheet(path: PathLike) -> np.ndarray:
    """Read a sprite sheet ``uint8 [H,W,4]``: a sheet image, or a character's folder of LPC layer sheets composed
    in LPC order (``uint8 [1344,832,4]``). Raises :class:`MotionmapError` naming the path for bad input."""
    from motionmap.lpc import compose_layer_folder

    p = Path(path)
    if p.is_dir():
        return compose_layer_folder(p)
    return read_image(p)


def read_animation(
    path: PathLike,
    *,
    animation: Optional[str] = None,
    facing: Optional[str] = None,
    frame_size: object = None,
    names: Optional[Sequence[str]] = None,
    frame_counts: Optional[Sequence[int]] = None,
) -> Animation:
    """Read an animation from a GIF, an APNG, a frame folder, a sprite sheet or an LPC layer folder.

    ``animation`` (and ``facing`` where the animation has several) picks a row of a sheet: required for sheets and
    layer folders, not allowed for GIFs, APNGs and frame folders. ``frame_size`` (``(w, h)`` or ``"WxH"``),
    ``names`` and ``frame_counts`` describe a generic grid sheet (see :func:`motionmap.io.sheets.detect_layout`).

    Returns an :class:`Animation` (frames ``uint8 [T,H,W,4]``). Every problem with the input (missing, corrupt,
    wrong size, empty folder, unknown animation or facing, frames of mixed sizes) raises :class:`MotionmapError`
    naming the file.
    """
    from motionmap.lpc import layer_folder_files

    p = Path(path)
    if not p.exists():
        raise MotionmapError(f"{path}: no such file or folder; check the path")
    if p.suffix.lower() == ".json" and p.is_file():
        return _aseprite_animation(p, animation, facing)
    is_sheet = animation is not None
    if p.is_dir():
        layer_files = layer_folder_files(p)
        if layer_files is None:
            if is_sheet:
                raise MotionmapError(
                    f"{path}: is a folder of frames, not a sprite sheet; drop --animation, or give the sheet file"
                )
            return read_frame_folder(p)
        if not is_sheet:
            raise MotionmapError(
                f"{path}: is a folder of LPC layer sheets; pick an animation with --animation "
                f"({', '.join(LPC_LAYOUT.animation_names)})"
            )
        sheet = read_sheet(p)
    elif is_sheet:
        sheet = read_image(p)
    else:
        anim = read_animated_file(p)
        if len(anim) == 1:
            height, width = anim.frames.shape[1:3]
            if is_lpc_size(width, height) or frame_size is not None:
                layout = detect_layout(width, height, frame_size, names, frame_counts, name_for_errors=str(path))
                raise MotionmapError(
                    f"{path}: is a sprite sheet; pick an animation with --animation "
                    f"({', '.join(layout.animation_names)})"
                )
        return anim
    height, width = sheet.shape[:2]
    layout = detect_layout(width, height, frame_size, names, frame_counts, name_for_errors=str(path))
    frames = animation_from_sheet(sheet, layout, animation, facing, name_for_errors=str(path))
    return Animation.uniform(frames)


def _aseprite_animation(path: Path, animation: Optional[str], facing: Optional[str]) -> Animation:
    """One tag of an Aseprite export: ``animation`` (``walk`` with ``facing`` ``left`` also finds ``walk_left``);
    may be omitted when the file has one tag."""
    from motionmap.io.aseprite import read_aseprite

    tags = {a.name: a.animation for a in read_aseprite(path).animations}
    if animation is None:
        if len(tags) == 1:
            return next(iter(tags.values()))
        raise MotionmapError(f"{path}: has {len(tags)} tags; pick one with --animation ({', '.join(tags)})")
    for name in ((f"{animation}_{facing}", animation) if facing else (animation,)):
        if name in tags:
            return tags[name]
    raise MotionmapError(f"{path}: no tag {animation!r}{f' facing {facing}' if facing else ''}; it has: {', '.join(tags)}")


# --- writing ---------------------------------------------------------------------------------------------------------


def _check_frames(frames: np.ndarray, what: str) -> np.ndarray:
    return np.ascontiguousarray(_check_uint8_image(frames, what, ndim=4))


def _gif_palette(frames: np.ndarray) -> Tuple[np.ndarray, np.ndarray, Optional[int]]:
    """Quantise ``uint8 [T,H,W,3|4]`` to one shared palette.

    Returns ``(indices uint8 [T,H,W], palette uint8 [P,3], transparent index or None)``. Exact (lossless) when the
    opaque pixels use at most 255 colours, as sprites do; otherwise median-cut to 255 colours, nearest colour, no
    dithering (dithering makes sprites shimmer from frame to frame).
    """
    rgba = to_rgba(frames)
    opaque = rgba[..., 3] >= GIF_ALPHA_THRESHOLD  # (T, H, W)
    has_transparency = not bool(opaque.all())
    max_colors = 256 - (1 if has_transparency else 0)
    rgb = rgba[..., :3].astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]  # (T, H, W)
    colors, inverse = np.unique(packed[opaque], return_inverse=True)
    if len(colors) <= max_colors:
        palette = np.stack([(colors >> 16) & 255, (colors >> 8) & 255, colors & 255], axis=-1).astype(np.uint8)
        indices = np.zeros(opaque.shape, np.uint8)
        indices[opaque] = inverse.reshape(-1)
    else:
        # Median cut over (a subsample of) every frame's opaque pixels: one palette, so colours do not flicker.
        sample = packed[opaque]
        sample = sample[:: max(1, len(sample) // 1_000_000)]
        strip = np.stack([(sample >> 16) & 255, (sample >> 8) & 255, sample & 255], axis=-1).astype(np.uint8)
        pal_im = Image.fromarray(strip[None]).quantize(
            colors=max_colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        full = np.asarray(pal_im.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
        palette = full[np.unique(np.asarray(pal_im))]  # the entries median-cut actually uses, (P, 3)
        # Map every frame to its nearest palette colour with Pillow (C speed). The 256-entry table is padded with
        # the last colour, so an index past the palette means that colour.
        padded = np.concatenate([palette, np.repeat(palette[-1:], 256 - len(palette), axis=0)])
        target = Image.new("P", (1, 1))
        target.putpalette(padded.tobytes())
        indices = np.stack(
            [
                np.asarray(Image.fromarray(np.ascontiguousarray(f)).quantize(palette=target, dither=Image.Dither.NONE))
                for f in rgba[..., :3]
            ]
        )
        indices = np.minimum(indices, len(palette) - 1).astype(np.uint8)
    n = len(palette)
    transparent = n if has_transparency else None
    if transparent is not None:
        indices[~opaque] = transparent
        palette = np.concatenate([palette, np.zeros((1, 3), np.uint8)])
    # A GIF colour table has 2**k entries (k >= 1).
    size = max(2, 1 << (len(palette) - 1).bit_length())
    palette = np.concatenate([palette, np.zeros((size - len(palette), 3), np.uint8)])
    return indices, palette, transparent


def encode_gif(frames: np.ndarray, durations_ms: Union[int, Sequence[int]], loop: Optional[int] = 0) -> bytes:
    """Encode ``uint8 [T,H,W,3|4]`` frames as GIF bytes (see :func:`write_gif`)."""
    frames = _check_frames(frames, "write_gif frames")
    durations = _durations(durations_ms, len(frames))
    if loop is not None and not 0 <= int(loop) <= 65535:
        raise ValueError(f"loop must be 0 (forever) to 65535, or None; got {loop}")
    indices, palette, transparent = _gif_palette(frames)
    height, width = indices.shape[1:]
    images = []
    for idx in indices:
        im = Image.frombytes("P", (width, height), np.ascontiguousarray(idx).tobytes())
        im.putpalette(palette.tobytes())
        images.append(im)
    # Pillow's save_all merges identical consecutive frames (adding up their durations), which would change the
    # frame count of a sprite animation that holds a pose. Its frame-level GIF encoder (getheader/getdata) writes
    # every frame as given: full-canvas frames over one global palette.
    info = {"loop": None if loop is None else int(loop), "duration": durations[0]}
    if transparent is not None:
        info["transparency"] = transparent
    out = io.BytesIO()
    header, _ = GifImagePlugin.getheader(images[0], None, info)
    for chunk in header:
        out.write(chunk)
    params = {"disposal": 2 if transparent is not None else 1}  # 2: clear to transparent before the next frame
    if transparent is not None:
        params["transparency"] = transparent
    for im, d in zip(images, durations):
        # GIF stores delays in 10 ms units.
        for chunk in GifImagePlugin.getdata(im, (0, 0), duration=max(10, int(round(d / 10.0)) * 10), **params):
            out.write(chunk)
    out.write(b";")
    return out.getvalue()


def write_gif(
    path: PathLike,
    frames: np.ndarray,
    durations_ms: Union[int, Sequence[int]] = DEFAULT_DURATION_MS,
    loop: Optional[int] = 0,
    overwrite: bool = False,
) -> Path:
    """Write an animated GIF atomically. Returns the path.

    frames: ``uint8 [T,H,W,3]`` or ``[T,H,W,4]``; every frame is kept (also repeated ones). With RGBA, pixels
    with alpha < 128 become GIF-transparent and the rest opaque (GIF has no partial alpha). Colours are exact up to
    255 per animation (sprites), median-cut quantised beyond. durations_ms: one int or one per frame, stored in GIF's
    10 ms units (rounded, at least 10). loop: 0 repeats forever, ``None`` plays once.
    """
    data = encode_gif(frames, durations_ms, loop)
    with atomic_file(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_apng(
    path: PathLike,
    frames: np.ndarray,
    durations_ms: Union[int, Sequence[int]] = DEFAULT_DURATION_MS,
    loop: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write an animated PNG atomically, lossless (RGBA including partial alpha). Returns the path.

    frames: ``uint8 [T,H,W,3|4]``; durations_ms: one int or one per frame (kept to the millisecond); loop: 0
    repeats forever. A single frame is written as a plain PNG.
    """
    frames = _check_frames(frames, "write_apng frames")
    durations = _durations(durations_ms, len(frames))
    if not 0 <= int(loop) <= 2**31 - 1:
        raise ValueError(f"loop must be 0 (forever) or a positive count, got {loop}")
    # Pillow merges an APNG frame into the previous one when it is identical and has the same disposal and blend;
    # alternating the disposal (OP_NONE / OP_BACKGROUND; Pillow diffs against the disposed canvas, so the picture is
    # unchanged) keeps every frame. blend=OP_SOURCE (0) stores each frame's alpha as is instead of blending.
    disposal = [i % 2 for i in range(len(frames))]
    with atomic_file(path, overwrite=overwrite) as tmp:
        if len(frames) == 1:
            tmp.write_bytes(iio.imwrite("<bytes>", frames[0], plugin="pillow", extension=".png"))
        else:
            tmp.write_bytes(iio.imwrite(
                "<bytes>", frames, plugin="pillow", extension=".png",
                duration=list(durations), loop=int(loop), disposal=disposal, blend=0,
            ))
    return Path(path)


def write_frames(folder: PathLike, frames: np.ndarray, overwrite: bool = False) -> Path:
    """Write ``uint8 [T,H,W,3|4]`` frames as ``folder/frame_000.png ...`` (a new folder, atomically). Returns it."""
    frames = _check_frames(frames, "write_frames frames")
    digits = max(3, len(str(len(frames) - 1)))
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        for i, frame in enumerate(frames):
            png = iio.imwrite("<bytes>", frame, plugin="pillow", extension=".png")  # encoded in memory: a full
            (tmp / f"frame_{i:0{digits}d}.png").write_bytes(png)  # disk fails here, once, as a plain OSError
    return Path(folder)


def write_sheet(path: PathLike, rows: Sequence[np.ndarray], layout: SheetLayout, overwrite: bool = False) -> Path:
    """Write animations as one PNG sheet in ``layout`` (one ``uint8 [T_i,h,w,C]`` per layout row), atomically."""
    return write_png(path, assemble_sheet(rows, layout), overwrite=overwrite)


# The animation format each output suffix means (write_animation, motionmap retarget --out); no suffix: a folder.
ANIMATION_FORMATS = {".gif": "gif", ".png": "apng", ".apng": "apng", "": "frames"}


def animation_format(path: PathLike) -> Optional[str]:
    """The format an animation written to ``path`` takes, from its suffix: ``"gif"``, ``"apng"`` (``.png`` or
    ``.apng``), ``"frames"`` (no suffix: a folder of PNG frames), or ``None`` for any other suffix."""
    return ANIMATION_FORMATS.get(Path(path).suffix.lower())


def write_animation(path: PathLike, anim: Animation, overwrite: bool = False) -> Path:
    """Write ``anim`` by the suffix of ``path`` (:func:`animation_format`): ``.gif`` GIF, ``.png``/``.apng`` APNG, no
    suffix a frame folder."""
    fmt = animation_format(path)
    if fmt == "gif":
        return write_gif(path, anim.frames, anim.durations_ms, overwrite=overwrite)
    if fmt == "apng":
        return write_apng(path, anim.frames, anim.durations_ms, overwrite=overwrite)
    if fmt == "frames":
        return write_frames(path, anim.frames, overwrite=overwrite)
    raise MotionmapError(
        f"{path}: cannot write {Path(path).suffix.lower()} animations; use .gif, .png (animated PNG), or a folder "
        "name without a suffix"
    )
