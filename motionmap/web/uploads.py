"""Uploads to the demo page: the type from the first bytes, then checks before decoding, one decode, an :class:`Upload`.

An upload is stored under a server-chosen folder and name in the session's temp folder; the artist's file name is only
shown, after :func:`~motionmap.io.names.safe_display_name`. A zip of PNG frames is unpacked by
:mod:`motionmap.io.frame_zip`; a sheet's layout is recognised by its size (:func:`motionmap.io.sheets.layout_of_size`:
LPC, or motionmap's synthetic sheet); any other sheet needs the frame size the page asks for.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from PIL import Image

from motionmap.errors import MotionmapError
from motionmap.io.animation import read_animation, read_frame_folder
from motionmap.io.frame_zip import extract_frame_zip
from motionmap.io.images import check_image_file, honest_size, read_image
from motionmap.io.names import safe_display_name
from motionmap.io.sheets import layout_of_size
from motionmap.synth import SYNTH_LAYOUT
from motionmap.web.config import DemoConfig
from motionmap.web.state import Session, Upload


def sniff_kind(head: bytes) -> Optional[str]:
    """File type from its first bytes: ``"gif"``, ``"png"`` or ``"zip"``; ``None`` for anything else."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


def name_without_suffix(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return safe_display_name(stem, default="frames")


def _named_like(name: str, kind: str) -> str:
    """A file name for the upload: the artist's (sanitised) stem with the sniffed type's suffix."""
    suffix = {"gif": ".gif", "png": ".png"}[kind]
    return name_without_suffix(name)[:60] + suffix


def check_frame_size(config: DemoConfig, name: str, width: int, height: int) -> None:
    """Refuse frames larger than ``config.max_frame_side`` (the model's limit)."""
    side = config.max_frame_side
    if max(width, height) > side:
        raise MotionmapError(f"{name}: frames of {width}x{height} are larger than this demo retargets "
                             f"({side} px a side); scale the animation down")


def check_frame_count(config: DemoConfig, name: str, n: int) -> None:
    """Refuse animations longer than ``config.max_frames``."""
    if n > config.max_frames:
        raise MotionmapError(
            f"{name}: {n} frames is more than this demo's limit of {config.max_frames}; "
            "trim the animation, or restart the demo with a larger --max-frames"
        )


def receive_upload(session: Session, name: str, body: bytes) -> Upload:
    """Check and store the bytes of one upload (``name``: the artist's file name, already made safe to show) in a
    new folder of the session; nothing stays on disk when it is refused (:class:`MotionmapError`)."""
    if not body:
        raise MotionmapError(f"{name}: empty file; pick the file again")
    kind = sniff_kind(body[:16])
    if kind is None:
        raise MotionmapError(f"{name}: not a GIF, PNG or zip file; upload an animation (GIF/APNG), "
                             "a sprite sheet or image (PNG), or a zip of PNG frames")
    uid = secrets.token_hex(8)
    folder = session.workdir / "uploads" / uid
    folder.mkdir(parents=True)
    try:
        upload = _inspect_upload(session.config, uid, name, folder, kind, body)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    upload.nbytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    session.put(session.uploads, upload, session.config.keep_uploads)
    return upload


def _inspect_upload(cfg: DemoConfig, uid: str, name: str, folder: Path, kind: str, body: bytes) -> Upload:
    if kind == "zip":
        frames_dir = folder / name_without_suffix(name)
        n = extract_frame_zip(body, frames_dir, name, cfg.max_frames, cfg.max_zip_bytes)
        anim = read_frame_folder(frames_dir)
        t, h, w = anim.frames.shape[:3]
        check_frame_size(cfg, name, w, h)
        return Upload(uid, name, frames_dir, "animation", w, h, n)
    path = folder / f"upload.{kind}"
    path.write_bytes(body)
    width, height = check_image_file(path)  # header only: refuses decompression bombs before decoding

    path = path.rename(folder / _named_like(name, kind))  # so the I/O layer's messages show the artist's name
    if max(width, height) > cfg.max_image_side:
        raise MotionmapError(f"{name}: {width}x{height} is larger than this demo accepts "
                             f"({cfg.max_image_side} px a side); crop or split it")
    try:
        with Image.open(path) as im:
            n_frames = int(getattr(im, "n_frames", 1))
    except Exception as e:  # noqa: BLE001 - any decoder failure means an unreadable file
        raise MotionmapError(f"{name}: not a readable image ({type(e).__name__}); re-export it") from None
    if len(body) > honest_size(width, height, min(n_frames, cfg.max_frames)):  # never kept on disk padded
        raise MotionmapError(f"{name}: {len(body) / 2**20:.1f} MB for {n_frames} frame(s) of {width}x{height}: "
                             "padded or damaged; re-export it")
    if n_frames > 1:
        check_frame_count(cfg, name, n_frames)
        check_frame_size(cfg, name, width, height)
        read_animation(path)  # decode once now, so a truncated file is reported at upload, not later
        return Upload(uid, name, path, "animation", width, height, n_frames)
    read_image(path)
    layout = layout_of_size(width, height, known=(SYNTH_LAYOUT,))
    if layout is not None:
        return Upload(uid, name, path, "sheet", width, height, 1, layout)
    if max(width, height) <= cfg.max_frame_side:
        return Upload(uid, name, path, "image", width, height, 1)
    return Upload(uid, name, path, "sheet", width, height, 1)  # a grid sheet: the page asks for the frame size
