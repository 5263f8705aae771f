"""Read a user's own sprites into characters: one character per input file or folder (``motionmap data import``).

An input is one of:

* an **Aseprite export** (``hero.json`` and its PNG; :mod:`motionmap.io.aseprite`): one animation per tag;
* a **composed LPC sheet** (832x1344, :data:`~motionmap.layout.LPC_LAYOUT`): its 21 rows (walk/down, ...);
* a **grid sheet** (a PNG with ``frame_size``): one animation per row, named by ``rows`` (``walk_down,walk_up,...``;
  ``-`` skips a row), trailing empty cells trimmed, fully empty rows dropped;
* an **animated GIF or APNG**: one animation named after the file;
* a **folder**: one character whose animations are its GIF/APNG files and its sub-folders of numbered PNG frames
  (each named after the file or folder); a folder holding only PNG frames is one animation.

An animation name ending in ``_up``, ``_left``, ``_down`` or ``_right`` (``walk_down``) is that animation seen from
that facing, so imported rows line up with LPC's (``walk``, ``down``). Durations are kept where the input has them
(Aseprite, GIF, APNG); sheets and frame folders get the default 100 ms.

Every problem is a one-line :class:`MotionmapError` naming the input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.animation import ANIMATION_SUFFIXES, Animation, read_frame_folder, frame_files, read_animated_file
from motionmap.io.aseprite import read_aseprite
from motionmap.io.images import check_image_file, read_image
from motionmap.io.sheets import detect_layout, is_lpc_size, parse_frame_size, slice_sheet
from motionmap.layout import FACINGS, LPC_LAYOUT, check_dataset_frame_size

PathLike = Union[str, "os.PathLike[str]"]

SKIP_ROW = "-"
# A row-map file is a few hundred bytes; refuse anything that cannot be one before reading it.
MAX_ROW_MAP_BYTES = 64 * 1024


class RowKey(NamedTuple):
    """An animation seen from one facing (``None``: the animation has no facings)."""

    name: str
    facing: Optional[str]

    @property
    def label(self) -> str:
        return f"{self.name}_{self.facing}" if self.facing else self.name


class ImportedCharacter(NamedTuple):
    """One input read: ``kind`` (``aseprite``, ``lpc``, ``grid``, ``animation``, ``folder``), and its animations
    in input order, each ``(RowKey, Animation)`` with frames ``uint8 [T,h,w,4]`` of one size for the character."""

    source: Path
    kind: str
    animations: Tuple[Tuple[RowKey, Animation], ...]

    @property
    def frame_size(self) -> Tuple[int, int]:
        """``(width, height)`` of the character's frames."""
        h, w = self.animations[0][1].frames.shape[1:3]
        return w, h


def row_key(name: str) -> RowKey:
    """``"walk_down"`` -> ``RowKey("walk", "down")``; ``"idle"`` -> ``RowKey("idle", None)``.

    >>> row_key("walk_down"), row_key("jump")
    (RowKey(name='walk', facing='down'), RowKey(name='jump', facing=None))
    """
    base, sep, facing = name.rpartition("_")
    if sep and base and facing in FACINGS:
        return RowKey(base, facing)
    return RowKey(name, None)


def parse_row_map(value: str) -> List[str]:
    """``--rows``: comma-separated names (``walk_down,walk_up,-,idle``), or a file holding them: a JSON list of
    strings, or text with one name per line (blank lines and ``#`` comments ignored). ``-`` skips a row."""
    path = Path(value)
    if path.is_file():
        if path.stat().st_size > MAX_ROW_MAP_BYTES:
            raise MotionmapError(f"--rows {value}: file larger than {MAX_ROW_MAP_BYTES // 1024} KiB, not a row map")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MotionmapError(f"--rows {value}: not a text file; give one row name per line") from None
        if text.lstrip().startswith("["):
            try:
                names = json.loads(text)
            except json.JSONDecodeError as e:
                raise MotionmapError(f"--rows {value}: not valid JSON ({e.msg}); give a list of row names") from None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise MotionmapError(f"--rows {value}: expected a JSON list of row names (strings)")
        else:
            names = [ln.split("#", 1)[0] for ln in text.splitlines()]
            names = [n for n in names if n.strip()]
    else:
        names = value.split(",")
    names = [n.strip() for n in names]
    if not names or any(not n for n in names):
        raise MotionmapError(f"--rows {value!r}: empty row name; give names like walk_down,walk_up (- skips a row)")
    real = [n for n in names if n != SKIP_ROW]
    for n in real:
        if real.count(n) > 1:
            raise MotionmapError(f"--rows: row name {n!r} appears twice; give every row its own name")
    return names


def _has_content(frames: np.ndarray) -> bool:
    return bool(frames[..., 3].any())


def read_grid_sheet(path: Path, frame_size: Tuple[int, int], rows: Optional[Sequence[str]]) -> ImportedCharacter:
    """A grid sheet: one animation per row of ``frame_size`` cells, named by ``rows`` (default ``row0``...)."""
    sheet = read_image(path)
    height, width = sheet.shape[:2]
    layout = detect_layout(width, height, frame_size, name_for_errors=str(path))
    n_rows = len(layout.rows)
    if rows is not None and len(rows) != n_rows:
        raise MotionmapError(
            f"{path}: --rows names {len(rows)} rows but the sheet has {n_rows} rows of {frame_size[0]}x{frame_size[1]} "
            "frames; give one name per row (- skips a row) or the right --frame-size"
        )
    names = list(rows) if rows is not None else [f"row{i}" for i in range(n_rows)]
    animations = []
    for name, frames in zip(names, slice_sheet(sheet, layout, name_for_errors=str(path))):
        if name == SKIP_ROW or not _has_content(frames):
            continue
        animations.append((row_key(name), Animation.uniform(frames)))
    if not animations:
        raise MotionmapError(f"{path}: every row of the sheet is empty (fully transparent); check --frame-size")
    return ImportedCharacter(path, "grid", tuple(animations))


def read_lpc_sheet(path: Path) -> ImportedCharacter:
    """A composed LPC sheet: every row that has a visible frame, keyed by LPC's (animation, facing)."""
    sheet = read_image(path)
    animations = [
        (RowKey(spec.name, spec.facing), Animation.uniform(frames))
        for spec, frames in zip(LPC_LAYOUT.rows, slice_sheet(sheet, LPC_LAYOUT, name_for_errors=str(path)))
        if _has_content(frames)
    ]
    if not animations:
        raise MotionmapError(f"{path}: the LPC sheet is empty (fully transparent)")
    return ImportedCharacter(path, "lpc", tuple(animations))


def read_aseprite_character(path: Path) -> ImportedCharacter:
    sheet = read_aseprite(path)
    return ImportedCharacter(path, "aseprite", tuple((row_key(a.name), a.animation) for a in sheet.animations))


def read_folder_character(folder: Path) -> ImportedCharacter:
    """A folder: its GIF/APNG files and frame sub-folders are its animations; only PNG frames: one animation."""
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    subfolders = [p for p in entries if p.is_dir()]
    gifs = [p for p in entries if p.is_file() and p.suffix.lower() in (".gif", ".apng")]
    if not subfolders and not gifs:
        return ImportedCharacter(folder, "folder", ((row_key(folder.name), read_frame_folder(folder)),))
    animations = []
    for p in entries:
        if p.is_dir():
            if not frame_files(p):
                continue  # not an animation (a stray folder); said nothing because nothing else uses it
            animations.append((row_key(p.name), read_frame_folder(p)))
        elif p.is_file() and p.suffix.lower() in ANIMATION_SUFFIXES:
            animations.append((row_key(p.stem), read_animated_file(p)))
    names = [k for k, _ in animations]
    for k in names:
        if names.count(k) > 1:
            raise MotionmapError(f"{folder}: two animations are named {k.label!r}; rename one of them")
    if not animations:
        raise MotionmapError(f"{folder}: no animations in it (GIF/APNG files or folders of PNG frames)")
    return ImportedCharacter(folder, "folder", tuple(animations))


def read_character(path: PathLike, frame_size: Optional[Tuple[int, int]] = None,
                   rows: Optional[Sequence[str]] = None) -> ImportedCharacter:
    """Read one input (see the module docstring) into a character; checks that its frames share one size."""
    path = Path(path)
    if not path.exists():
        raise MotionmapError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        character = read_folder_character(path)
    elif path.suffix.lower() == ".json":
        character = read_aseprite_character(path)
    elif path.suffix.lower() in ANIMATION_SUFFIXES:
        width, height = check_image_file(path)
        lpc = is_lpc_size(width, height) and rows is None and frame_size in (None, (64, 64))
        if lpc and path.suffix.lower() == ".png":
            character = read_lpc_sheet(path)
        elif frame_size is not None and path.suffix.lower() == ".png":
            character = read_grid_sheet(path, frame_size, rows)
        else:
            anim = read_animated_file(path)
            if len(anim) == 1 and path.suffix.lower() == ".png":
                raise MotionmapError(
                    f"{path}: a still {width}x{height} image; if it is a grid sheet give --frame-size WxH (and --rows)"
                )
            character = ImportedCharacter(path, "animation", ((row_key(path.stem), anim),))
    else:
        raise MotionmapError(
            f"{path}: unknown input type {path.suffix or '(no suffix)'}; give an Aseprite .json, a sheet .png, "
            "a .gif/.apng, or a folder of them"
        )
    sizes = sorted({tuple(a.frames.shape[1:3][::-1]) for _, a in character.animations})
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sizes)
        raise MotionmapError(f"{path}: animations of different frame sizes ({listed}); one character has one size")
    return character


def read_characters(inputs: Sequence[PathLike], frame_size: object = None,
                    rows: Optional[Sequence[str]] = None) -> List[ImportedCharacter]:
    """Read every input; all characters must share one frame size, within 8..256 px."""
    size = parse_frame_size(frame_size)
    if size is not None:
        check_dataset_frame_size(*size, what="--frame-size")
    characters = [read_character(p, size, rows) for p in inputs]
    first = characters[0]
    check_dataset_frame_size(*first.frame_size, what=str(first.source))
    for c in characters[1:]:
        if c.frame_size != first.frame_size:
            (w0, h0), (w, h) = first.frame_size, c.frame_size
            raise MotionmapError(
                f"{c.source}: frames are {w}x{h} but {first.source.name} has {w0}x{h0}; one dataset has one frame "
                "size: import them into separate datasets, or scale/pad the art to one size"
            )
    return characters
