"""Aseprite sprite-sheet exports: read a PNG + JSON (``json-array`` or ``json-hash``) and write one (``json-array``).

Aseprite's "Export Sprite Sheet" writes a packed PNG and a JSON file that Godot and Unity importers also read::

    {"frames": [ {"filename": "hero 0.aseprite",
                  "frame": {"x": 0, "y": 0, "w": 20, "h": 28},             # the rectangle in the PNG
                  "rotated": false, "trimmed": true,
                  "spriteSourceSize": {"x": 6, "y": 4, "w": 20, "h": 28},  # where it sits in the untrimmed frame
                  "sourceSize": {"w": 32, "h": 32},                        # the untrimmed frame size
                  "duration": 100}, ...],                                  # milliseconds
     "meta": {"image": "hero.png", "size": {"w": 128, "h": 32},
              "frameTags": [{"name": "walk", "from": 0, "to": 3, "direction": "forward"}, ...]}}

``json-hash`` has the same frame objects in an object keyed by file name (in frame order). Reading restores every
frame to its ``sourceSize`` (trimmed frames are pasted at ``spriteSourceSize``), keeps each frame's duration, and
turns each tag into an animation, playing its frames in the tag's ``direction``: ``forward`` (from..to), ``reverse``
(to..from), ``pingpong`` (from..to..from+1, one loop) or ``pingpong_reverse``. A file without tags is one animation
named after the JSON file.

Every problem (missing image, a rectangle outside it, overlapping tags, tags past the last frame, durations <= 0,
frames of different sizes, rotated frames) is one :class:`MotionmapError` line naming the file.

>>> sheet = read_aseprite("hero.json")                     # doctest: +SKIP
>>> [(a.name, a.animation.frames.shape) for a in sheet.animations]   # doctest: +SKIP
[('walk', (4, 32, 32, 4)), ('idle', (6, 32, 32, 4))]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List, NamedTuple, Sequence, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.animation import DEFAULT_DURATION_MS, Animation
from motionmap.io.atomic import atomic_file, ensure_writable_output
from motionmap.io.images import MAX_ANIMATION_FRAME_PIXELS, MAX_FRAMES, MAX_TOTAL_PIXELS, read_image, write_png
from motionmap.io.sheets import assemble_sheet
from motionmap.layout import grid_layout

PathLike = Union[str, "os.PathLike[str]"]

DIRECTIONS = ("forward", "reverse", "pingpong", "pingpong_reverse")

# Largest JSON we parse: a 4096-frame export is about 1.5 MB; anything far bigger is not a sprite sheet.
MAX_JSON_BYTES = 16 * 2**20


class NamedAnimation(NamedTuple):
    """One animation of a file: its name (an Aseprite tag, or the file's stem) and its frames and durations."""

    name: str
    animation: Animation


class AsepriteSheet(NamedTuple):
    """What an Aseprite export holds: every frame restored to its source size, and the tags played out.

    frames: ``uint8 [N,h,w,4]`` in file order; durations_ms: N ints > 0; animations: one per tag (file order), or
    one named after the file when it has no tags.
    """

    frames: np.ndarray
    durations_ms: Tuple[int, ...]
    animations: Tuple[NamedAnimation, ...]


def tag_order(start: int, end: int, direction: str) -> List[int]:
    """Frame indices a tag plays in one loop: ``forward`` start..end, ``reverse`` end..start, ``pingpong``
    start..end..start+1, ``pingpong_reverse`` end..start..end-1 (Aseprite's own playback).

    >>> tag_order(0, 3, "pingpong")
    [0, 1, 2, 3, 2, 1]
    """
    forward = list(range(start, end + 1))
    if direction == "forward":
        return forward
    if direction == "reverse":
        return forward[::-1]
    if direction == "pingpong":
        return forward + forward[-2:0:-1]
    if direction == "pingpong_reverse":
        back = forward[::-1]
        return back + back[-2:0:-1]
    raise ValueError(f"unknown direction {direction!r}")


def _fail(path: Path, what: str) -> MotionmapError:
    return MotionmapError(f"{path}: {what}")


def _int_field(obj: Any, key: str, path: Path, where: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"{where}: {key!r} should be an integer, got {value!r}; re-export it from Aseprite")
    return value


def _rect(obj: Any, path: Path, where: str, keys: Sequence[str] = ("x", "y", "w", "h")) -> Tuple[int, ...]:
    if not isinstance(obj, dict):
        raise _fail(path, f"{where}: expected an object, got {type(obj).__name__}; re-export it from Aseprite")
    return tuple(_int_field(obj, k, path, where) for k in keys)


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise MotionmapError(f"{path}: no such file; give the .json that Aseprite exported with the sheet")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise _fail(path, f"larger than {MAX_JSON_BYTES // 2**20} MiB, not an Aseprite export")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _fail(path, f"not valid JSON ({msg}); export the sheet again from Aseprite") from None
    if not isinstance(d, dict) or "frames" not in d:
        raise _fail(path, "no 'frames': not an Aseprite sheet export (File > Export Sprite Sheet, Output: JSON Data)")
    return d


def _frame_objects(d: dict, path: Path) -> List[dict]:
    frames = d["frames"]
    if isinstance(frames, dict):  # json-hash: keyed by file name, in frame order
        frames = list(frames.values())
    if not isinstance(frames, list) or not frames:
        raise _fail(path, "'frames' is empty or neither a list (json-array) nor an object (json-hash)")
    for i, f in enumerate(frames):
        if not isinstance(f, dict):
            raise _fail(path, f"frame {i}: expected an object, got {type(f).__name__}")
    return frames


def _image_path(d: dict, path: Path) -> Path:
    meta = d.get("meta")
    name = meta.get("image") if isinstance(meta, dict) else None
    if isinstance(name, str) and name:
        image = path.parent / Path(name).name  # only the name: an export never points outside its own folder
    else:
        image = path.with_suffix(".png")
    if not image.is_file():
        raise _fail(path, f"its image {image.name} is missing; put the PNG Aseprite exported beside the JSON")
    return image


def _restore_frames(frames: List[dict], sheet: np.ndarray, path: Path) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """Cut every frame out of ``sheet`` (uint8 [H,W,4]) and paste it into its untrimmed canvas."""
    height, width = sheet.shape[:2]
    if len(frames) > MAX_FRAMES:
        raise _fail(path, f"{len(frames)} frames, more than motionmap loads (limit {MAX_FRAMES}); split the export")
    sizes = set()
    total = 0
    canvases, durations = [], []
    for i, f in enumerate(frames):
        where = f"frame {i}"
        if f.get("rotated"):
            raise _fail(path, f"{where} is rotated; export without rotation (Aseprite never rotates frames)")
        x, y, w, h = _rect(f.get("frame"), path, f"{where} 'frame'")
        if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise _fail(path, f"{where}: rectangle {w}x{h} at ({x},{y}) lies outside the {width}x{height} image; "
                              "the JSON does not belong to this PNG, export both again")
        sw, sh = _rect(f.get("sourceSize", {"w": w, "h": h}), path, f"{where} 'sourceSize'", ("w", "h"))
        sx, sy, ssw, ssh = _rect(f.get("spriteSourceSize", {"x": 0, "y": 0, "w": w, "h": h}), path,
                                 f"{where} 'spriteSourceSize'")
        if (ssw, ssh) != (w, h) or sx < 0 or sy < 0 or sx + w > sw or sy + h > sh:
            raise _fail(path, f"{where}: trimmed rectangle {ssw}x{ssh} at ({sx},{sy}) does not fit its {sw}x{sh} "
                              "source size; export the sheet again")
        total += sw * sh
        if sw * sh > MAX_ANIMATION_FRAME_PIXELS or total > MAX_TOTAL_PIXELS:
            raise _fail(path, f"{where}: source size {sw}x{sh} makes the frames too large to load; export smaller frames")
        duration = f.get("duration", DEFAULT_DURATION_MS)
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
            raise _fail(path, f"{where}: duration {duration!r} ms is not positive; give every frame a duration > 0")
        sizes.add((sw, sh))
        canvas = np.zeros((sh, sw, 4), np.uint8)
        canvas[sy:sy + h, sx:sx + w] = sheet[y:y + h, x:x + w]
        canvases.append(canvas)
        durations.append(max(1, int(round(duration))))
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
        raise _fail(path, f"frames of different sizes ({listed}); one file needs one frame size (canvas size)")
    return np.stack(canvases), tuple(durations)


def _tags(d: dict, n: int, path: Path) -> List[Tuple[str, int, int, str]]:
    meta = d.get("meta") if isinstance(d.get("meta"), dict) else {}
    tags = meta.get("frameTags", [])
    if not isinstance(tags, list):
        raise _fail(path, "'meta.frameTags' should be a list")
    out: List[Tuple[str, int, int, str]] = []
    for k, t in enumerate(tags):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"].strip():
            raise _fail(path, f"tag {k}: needs a non-empty 'name'")
        name = t["name"].strip()
        where = f"tag {name!r}"
        start, end = _int_field(t, "from", path, where), _int_field(t, "to", path, where)
        direction = t.get("direction", "forward")
        if direction not in DIRECTIONS:
            raise _fail(path, f"{where}: direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        if not 0 <= start <= end:
            raise _fail(path, f"{where}: frames {start}..{end} are not an ascending range from 0")
        if end >= n:
            raise _fail(path, f"{where}: frames {start}..{end} point past the last frame ({n - 1}); "
                              "export all frames or fix the tag")
        out.append((name, start, end, direction))
    names = [t[0] for t in out]
    for name in names:
        if names.count(name) > 1:
            raise _fail(path, f"tag {name!r} appears twice; give every tag its own name")
    spans = sorted(out, key=lambda t: t[1])
    for a, b in zip(spans, spans[1:]):
        if b[1] <= a[2]:
            raise _fail(path, f"tags {a[0]!r} ({a[1]}..{a[2]}) and {b[0]!r} ({b[1]}..{b[2]}) overlap; "
                              "each frame may belong to one tag only (one animation each)")
    return out


def read_aseprite(path: PathLike) -> AsepriteSheet:
    """Read an Aseprite export (the ``.json``; its PNG is ``meta.image`` beside it). See the module docstring."""
    path = Path(path)
    d = _load_json(path)
    frames = _frame_objects(d, path)
    image = _image_path(d, path)
    restored, durations = _restore_frames(frames, read_image(image), path)
    tags = _tags(d, len(restored), path)
    if not tags:
        tags = [(path.stem, 0, len(restored) - 1, "forward")]
    animations = []
    for name, start, end, direction in tags:
        order = tag_order(start, end, direction)
        anim = Animation(restored[order], tuple(durations[i] for i in order))
        animations.append(NamedAnimation(name, anim))
    return AsepriteSheet(restored, durations, tuple(animations))


def aseprite_document(animations: Sequence[NamedAnimation], image_name: str) -> Tuple[dict, Tuple[int, int]]:
    """The ``json-array`` document for ``animations`` laid out one row per animation; returns it and the sheet's
    ``(width, height)``. Frame ``filename`` is ``"<stem> <index>.aseprite"``, as Aseprite writes them."""
    h, w = animations[0].animation.frames.shape[1:3]
    stem = Path(image_name).stem
    frames, tags = [], []
    index = 0
    for row, (name, anim) in enumerate(animations):
        start = index
        for col, duration in enumerate(anim.durations_ms):
            frames.append({
                "filename": f"{stem} {index}.aseprite",
                "frame": {"x": col * w, "y": row * h, "w": w, "h": h},
                "rotated": False,
                "trimmed": False,
                "spriteSourceSize": {"x": 0, "y": 0, "w": w, "h": h},
                "sourceSize": {"w": w, "h": h},
                "duration": int(duration),
            })
            index += 1
        tags.append({"name": name, "from": start, "to": index - 1, "direction": "forward", "color": "#000000ff"})
    columns = max(len(a.animation.durations_ms) for a in animations)
    size = (columns * w, len(animations) * h)
    meta = {
        "app": "motionmap",
        "version": "1",
        "image": image_name,
        "format": "RGBA8888",
        "size": {"w": size[0], "h": size[1]},
        "scale": "1",
        "frameTags": tags,
        "layers": [],
        "slices": [],
    }
    return {"frames": frames, "meta": meta}, size


def write_aseprite(path: PathLike, animations: Sequence[NamedAnimation], overwrite: bool = False) -> Tuple[Path, Path]:
    """Write ``animations`` as an Aseprite ``json-array`` export: ``path`` (``.json``) and the PNG beside it with the
    same stem; one row per animation, one tag each (direction forward), every frame's duration kept.

    All animations need the same frame size. Refuses existing outputs unless ``overwrite``; both files are written
    atomically. Returns ``(png_path, json_path)``.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise MotionmapError(f"{path}: an Aseprite export is a .json file (its .png is written beside it)")
    if not animations:
        raise ValueError("write_aseprite: no animations")
    sizes = {a.animation.frames.shape[1:3] for a in animations}
    if len(sizes) != 1:
        raise ValueError(f"write_aseprite: animations of different frame sizes {sorted(sizes)}")
    names = [a.name for a in animations]
    if len(set(names)) != len(names):
        raise ValueError(f"write_aseprite: animation names repeat: {names}")
    png = path.with_suffix(".png")
    for out in (png, path):
        ensure_writable_output(out, overwrite=overwrite)
    doc, (width, height) = aseprite_document(animations, png.name)
    h, w = sizes.pop()
    layout = grid_layout(w, h, width // w, len(animations), frame_counts=[len(a.animation.frames) for a in animations])
    write_png(png, assemble_sheet([a.animation.frames for a in animations], layout), overwrite=overwrite)
    try:
        with atomic_file(path, overwrite=overwrite) as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        png.unlink(missing_ok=True)  # never leave half an export behind
        raise
    return png, path
