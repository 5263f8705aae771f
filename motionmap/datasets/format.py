"""The on-disk dataset format ``motionmap-sprites`` (version 1): a manifest, one RGBA sheet per character, backgrounds.

A dataset is a folder::

    DIR/manifest.json            what is in the folder (below)
    DIR/characters/c0000.png     one RGBA sprite sheet per character, transparent background, in the manifest's layout
    DIR/backgrounds.png          a horizontal strip of N procedural RGB backgrounds, each one frame in size
    DIR/frames.npy               derived cache: uint8 [N_characters, F, h, w, 4], every frame of every row (optional;
                                 rebuilt from the sheets when missing)

``manifest.json``::

    {"format": "motionmap-sprites", "version": 1, "source": "synth" | "lpc" | "import", "seed": 0,
     "layout": {...SheetLayout.to_json()...},
     "characters": [{"id": "c0000", "sheet": "characters/c0000.png", "split": "train" | "val", "recipe": {...}}],
     "backgrounds": "backgrounds.png"}

Version 2 (imported sets, whose characters have different animation sets) adds to each character
``"row_frames": [n_0, ..., n_R-1]``, its own frame count per layout row (0: the character lacks that animation;
at most the layout row's count, which is the largest over the characters), and ``"durations_ms"``: one list of
``n_r`` frame durations per row. Versions 1 and 2 are both read; a version-1 character has every row's full count.

The split is by character: a character's every frame is in one split only. This module is pure data and validation;
building lives in :mod:`motionmap.datasets.build`, reading frames in :mod:`motionmap.datasets.cache`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.layout import SheetLayout

FORMAT = "motionmap-sprites"
VERSION = 2
# Version 1 has no per-character row_frames/durations_ms; builders still write 1 when no character needs them.
READABLE_VERSIONS: Tuple[int, ...] = (1, 2)
MANIFEST = "manifest.json"
BACKGROUNDS = "backgrounds.png"
FRAMES = "frames.npy"
SPLITS: Tuple[str, ...] = ("train", "val")
SOURCES: Tuple[str, ...] = ("synth", "lpc", "import")

# Why 10 %: enough validation characters to see over-fitting on the default 64-character set (6 of them) while
# keeping most characters for training; at least one so a validation loop always has data.
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class CharacterEntry:
    """One character of a dataset: its id, its sheet path relative to the dataset folder, its split and recipe.

    ``row_frames`` (version 2): the character's own frame count per layout row, 0 where it lacks the animation;
    ``None`` means every row's full count. ``durations_ms``: one tuple of frame durations per row, or ``None``.
    """

    id: str
    sheet: str
    split: str
    recipe: Dict[str, Any]
    row_frames: Optional[Tuple[int, ...]] = None
    durations_ms: Optional[Tuple[Tuple[int, ...], ...]] = None

    def to_json(self) -> dict:
        d = {"id": self.id, "sheet": self.sheet, "split": self.split, "recipe": self.recipe}
        if self.row_frames is not None:
            d["row_frames"] = list(self.row_frames)
        if self.durations_ms is not None:
            d["durations_ms"] = [list(r) for r in self.durations_ms]
        return d


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json`` of a dataset."""

    source: str
    seed: int
    layout: SheetLayout
    characters: Tuple[CharacterEntry, ...]
    backgrounds: str = BACKGROUNDS
    format: str = FORMAT

    @property
    def version(self) -> int:
        """2 when a character carries its own row counts or durations, else 1 (what older motionmap reads)."""
        per_character = any(c.row_frames is not None or c.durations_ms is not None for c in self.characters)
        return VERSION if per_character else 1

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "version": self.version,
            "source": self.source,
            "seed": self.seed,
            "layout": self.layout.to_json(),
            "characters": [c.to_json() for c in self.characters],
            "backgrounds": self.backgrounds,
        }

    def dumps(self) -> str:
        """Deterministic JSON text (same dataset, same bytes)."""
        return json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n"


def character_id(i: int) -> str:
    """``c0000``-style id of character ``i``."""
    return f"c{i:04d}"


def assign_splits(n: int, seed: int, val_fraction: float = VAL_FRACTION) -> List[str]:
    """Split ``n`` characters into ``"train"``/``"val"`` by character, seeded.

    ``round(val_fraction * n)`` characters (at least 1) go to validation, chosen by a permutation seeded with ``seed``;
    the same ``(n, seed)`` always gives the same split. ``n`` must be at least 2 so both splits are non-empty.
    """
    if n < 2:
        raise MotionmapError(
            f"{n} characters: a dataset needs at least 2 (one for validation); ask for more characters"
        )
    n_val = min(n - 1, max(1, int(round(val_fraction * n))))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5B117]))
    val = set(rng.permutation(n)[:n_val].tolist())
    return ["val" if i in val else "train" for i in range(n)]


def _require(d: dict, key: str, kind: type, where: Path) -> Any:
    if key not in d:
        raise MotionmapError(f"{where}: missing key {key!r}; rebuild the dataset with `motionmap data synth|lpc`")
    value = d[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MotionmapError(
            f"{where}: key {key!r} should be {kind.__name__}, got {type(value).__name__}; rebuild the dataset"
        )
    return value


def _row_frames(c: dict, layout: SheetLayout, here: Path) -> Optional[Tuple[int, ...]]:
    if "row_frames" not in c:
        return None
    counts = _require(c, "row_frames", list, here)
    full = [r.frames for r in layout.rows]
    if (len(counts) != len(full) or any(isinstance(n, bool) or not isinstance(n, int) for n in counts)
            or any(not 0 <= n <= m for n, m in zip(counts, full)) or not any(counts)):
        raise MotionmapError(
            f"{here}: 'row_frames' should be {len(full)} integers, each between 0 and its row's frame count, "
            "not all 0; rebuild the dataset"
        )
    return tuple(counts)


def _durations(c: dict, entry: CharacterEntry, layout: SheetLayout, here: Path) -> Tuple[Tuple[int, ...], ...]:
    rows = _require(c, "durations_ms", list, here)
    counts = entry.row_frames if entry.row_frames is not None else tuple(r.frames for r in layout.rows)
    ok = len(rows) == len(counts) and all(
        isinstance(r, list) and len(r) == n and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in r)
        for r, n in zip(rows, counts)
    )
    if not ok:
        raise MotionmapError(f"{here}: 'durations_ms' should hold one list of positive durations per row, as long "
                             "as the row; rebuild the dataset")
    return tuple(tuple(r) for r in rows)


def character_row_frames(characters: Sequence[CharacterEntry], layout: SheetLayout) -> np.ndarray:
    """int64 [N, R]: each character's real frame count per layout row (the layout's count where it has no own)."""
    full = [r.frames for r in layout.rows]
    return np.array([c.row_frames if c.row_frames is not None else full for c in characters], dtype=np.int64)


def parse_manifest(d: Any, where: Path) -> Manifest:
    """Validate a decoded manifest; every problem is a one-line :class:`MotionmapError` naming ``where``."""
    if not isinstance(d, dict):
        raise MotionmapError(f"{where}: expected a JSON object, got {type(d).__name__}; rebuild the dataset")
    fmt = _require(d, "format", str, where)
    if fmt != FORMAT:
        raise MotionmapError(f"{where}: format {fmt!r} is not {FORMAT!r}; point at a folder made by `motionmap data`")
    version = _require(d, "version", int, where)
    if version not in READABLE_VERSIONS:
        raise MotionmapError(
            f"{where}: dataset format version {version} is not supported (this motionmap reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}); rebuild it with this motionmap's `motionmap data`"
        )
    source = _require(d, "source", str, where)
    seed = _require(d, "seed", int, where)
    try:
        layout = SheetLayout.from_json(_require(d, "layout", dict, where))
    except (KeyError, TypeError, ValueError) as e:
        raise MotionmapError(f"{where}: invalid 'layout' ({e!r}); rebuild the dataset") from None
    backgrounds = _require(d, "backgrounds", str, where)
    entries = []
    seen = set()
    for i, c in enumerate(_require(d, "characters", list, where)):
        here = Path(f"{where} characters[{i}]")
        if not isinstance(c, dict):
            raise MotionmapError(f"{here}: expected an object, got {type(c).__name__}; rebuild the dataset")
        entry = CharacterEntry(
            id=_require(c, "id", str, here),
            sheet=_require(c, "sheet", str, here),
            split=_require(c, "split", str, here),
            recipe=_require(c, "recipe", dict, here),
            row_frames=_row_frames(c, layout, here) if version >= 2 else None,
        )
        if version >= 2 and "durations_ms" in c:
            entry = replace(entry, durations_ms=_durations(c, entry, layout, here))
        if entry.split not in SPLITS:
            raise MotionmapError(
                f"{here}: split {entry.split!r} is not one of {', '.join(SPLITS)}; rebuild the dataset"
            )
        if entry.id in seen:
            raise MotionmapError(f"{here}: duplicate character id {entry.id!r}; rebuild the dataset")
        seen.add(entry.id)
        entries.append(entry)
    if not entries:
        raise MotionmapError(f"{where}: lists no characters; rebuild the dataset with --characters 2 or more")
    return Manifest(source=source, seed=seed, layout=layout, characters=tuple(entries), backgrounds=backgrounds)


def read_manifest(root: Path) -> Manifest:
    """Read and validate ``root/manifest.json`` (existence of the files it names is checked by the caller)."""
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise MotionmapError(f"{root}: no such dataset folder; build one with `motionmap data synth --out {root}`")
    if not path.is_file():
        raise MotionmapError(
            f"{path}: missing; {root} is not a motionmap dataset (build one with `motionmap data synth`)"
        )
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MotionmapError(f"{path}: not valid JSON ({msg}); rebuild the dataset with `motionmap data`") from None
    return parse_manifest(d, path)


def row_offsets(layout: SheetLayout) -> np.ndarray:
    """Start of each row in the flat frame axis of the cache: int64 [R+1], ``offsets[r]..offsets[r+1]`` is row ``r``.

    Only a row's real frames (``RowSpec.frames``) are stored, so ``offsets[-1]`` is the total frame count ``F``.
    """
    counts = np.array([r.frames for r in layout.rows], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def split_indices(characters: Sequence[CharacterEntry], split: str) -> np.ndarray:
    """Indices (int64, ascending) of the characters in ``split`` (``"train"`` or ``"val"``)."""
    if split not in SPLITS:
        raise MotionmapError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    return np.array([i for i, c in enumerate(characters) if c.split == split], dtype=np.int64)
