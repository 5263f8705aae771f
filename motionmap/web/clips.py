"""One side of a transfer as a :class:`Clip`: a source animation or a one-frame target, from an upload or an example.

Targets come from the retargeting core (:func:`motionmap.core.load_target_frame`, given the layout found at upload:
an LPC, synthetic or grid sheet's first frame of the wanted row).
"""

from __future__ import annotations

import secrets
from typing import Any, Mapping, Optional, Tuple

import numpy as np

from motionmap.core import load_target_frame
from motionmap.errors import MotionmapError
from motionmap.io.animation import DEFAULT_DURATION_MS, Animation, read_animation
from motionmap.io.images import read_image
from motionmap.io.sheets import animation_from_sheet, detect_layout
from motionmap.layout import FACINGS, LPC_LAYOUT, SheetLayout
from motionmap.web.examples import EXAMPLE_CHARACTERS, example_animation, example_target
from motionmap.web.state import Clip, Session, Upload
from motionmap.web.uploads import check_frame_count, check_frame_size


def text_option(spec: Mapping[str, Any], key: str, required: bool = False) -> Optional[str]:
    """The request's short text ``spec[key]`` (None when absent or empty; a one-line error when ``required``)."""
    value = spec.get(key)
    if value in (None, ""):
        if required:
            raise MotionmapError(f"request: missing {key!r}; choose one in the page")
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise MotionmapError(f"request: {key!r} must be a short text, got {str(value)[:40]!r}")
    return value


def resolve_clip(session: Session, spec: Mapping[str, Any]) -> Clip:
    """Frames for one side of a transfer.

    spec: ``{"role": "source"|"target", "upload": ID | "example": {"character", "action", "facing"},
    "animation": NAME, "facing": F, "frame_size": "WxH"}``. A target is one frame: an image, the first frame of
    an animation, or from a sheet the first frame of ``animation`` (default the reference walk) in ``facing``.
    """
    config = session.config
    role = text_option(spec, "role") or "source"
    if role not in ("source", "target"):
        raise MotionmapError(f"request: role {role!r} must be 'source' or 'target'")
    animation, facing = text_option(spec, "animation"), text_option(spec, "facing")
    frame_size = text_option(spec, "frame_size")
    if facing is not None and facing not in FACINGS:
        raise MotionmapError(f"facing {facing!r}: unknown; choose one of {', '.join(FACINGS)}")
    example = spec.get("example")
    if example is not None:
        if not isinstance(example, dict):
            raise MotionmapError("request: 'example' must be an object {character, action, facing}")
        return _example_clip(role, example)
    upload = session.get(session.uploads, spec.get("upload"), "upload")
    if role == "source":
        anim = _source_animation(upload, animation, facing, frame_size)
        label = upload.name + (f" · {animation}" + (f"/{facing}" if facing else "") if animation else "")
    else:
        image, label = target_image(upload, animation, facing, frame_size)
        anim = Animation(image[None], (DEFAULT_DURATION_MS,))
    check_frame_count(config, upload.name, len(anim))
    h, w = anim.frames.shape[1:3]
    check_frame_size(config, upload.name, w, h)
    return Clip(secrets.token_hex(8), label, anim.frames, anim.durations_ms)


def _example_clip(role: str, example: Mapping[str, Any]) -> Clip:
    character = text_option(example, "character", required=True)
    action = text_option(example, "action") or "walk"
    facing = text_option(example, "facing") or "down"
    names = {c.id: c.name for c in EXAMPLE_CHARACTERS}
    if role == "source":
        anim = example_animation(character, action, facing)
        return Clip(secrets.token_hex(8), f"{names[character]} · {action}/{facing}", anim.frames, anim.durations_ms)
    image = example_target(character, action, facing)
    return Clip(secrets.token_hex(8), f"{names[character]} ({action}/{facing} pose)", image[None],
                (DEFAULT_DURATION_MS,))


def _source_animation(upload: Upload, animation: Optional[str], facing: Optional[str],
                      frame_size: Optional[str]) -> Animation:
    if upload.kind == "animation":
        return read_animation(upload.path)
    if upload.kind == "image" and animation is None:
        return Animation.uniform(read_image(upload.path)[None])
    layout = sheet_layout(upload, frame_size)
    if animation is None:
        raise MotionmapError(f"{upload.name}: is a sprite sheet; pick an animation "
                             f"({', '.join(layout.animation_names[:12])})")
    sheet = read_image(upload.path)
    frames = animation_from_sheet(sheet, layout, animation, facing, name_for_errors=upload.name)
    return Animation.uniform(frames)


def sheet_layout(upload: Upload, frame_size: Optional[str]) -> SheetLayout:
    """The layout of a sheet upload: the one recognised at upload, else from ``frame_size``
    (:func:`motionmap.io.sheets.detect_layout`); a one-line error when a grid sheet has none."""
    if frame_size is None and upload.layout is not None:
        return upload.layout
    if frame_size is None:
        raise MotionmapError(f"{upload.name}: {upload.width}x{upload.height} is not an LPC sheet; "
                             "give the frame size of this grid sheet, e.g. 64x64")
    return detect_layout(upload.width, upload.height, frame_size, name_for_errors=upload.name)


def target_image(upload: Upload, animation: Optional[str], facing: Optional[str],
                 frame_size: Optional[str]) -> Tuple[np.ndarray, str]:
    """The target frame ``uint8 [H,W,4]`` of an upload and its label for the page."""
    if upload.kind == "animation":
        return read_animation(upload.path).frames[0], f"{upload.name} (first frame)"
    if upload.kind == "image" and frame_size is None:
        return read_image(upload.path), upload.name
    layout = sheet_layout(upload, frame_size)  # a readable error when a grid sheet has no frame size
    picked = load_target_frame(upload.path, facing=(facing or "down") if layout is LPC_LAYOUT else facing,
                               frame_size=frame_size, animation=animation,
                               layout=upload.layout if frame_size is None else None)  # the one found at upload
    where = "/".join(p for p in (picked.animation, picked.facing) if p)
    return picked.image, f"{upload.name} · {where} frame 1" if where else upload.name
