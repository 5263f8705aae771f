"""Dataset builders: the synthetic set (no download), sets composed from LPC layer folders, and a user's own sprites.

All write the ``motionmap-sprites`` format (``data/README.md``) into a temporary folder beside ``out`` and rename it
into place at the end, so an error or Ctrl-C leaves nothing behind. The frame cache ``frames.npy`` is written in the
same pass, from the sheets already in memory, so training starts without decoding a PNG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy as np

from motionmap.backgrounds import background_pool
from motionmap.check.screen import drop_cells
from motionmap.errors import MotionmapError
from motionmap.layout import LPC_LAYOUT, RowSpec, SheetLayout
from motionmap.datasets.cache import sheet_frames, write_frame_cache
from motionmap.datasets.dataset import SpriteDataset
from motionmap.datasets.format import (
    BACKGROUNDS,
    FRAMES,
    MANIFEST,
    CharacterEntry,
    Manifest,
    assign_splits,
    character_id,
)
from motionmap.datasets.importer import read_characters
from motionmap.io.atomic import atomic_dir, check_output_location
from motionmap.io.images import write_png
from motionmap.io.sheets import assemble_sheet
from motionmap.lpc import LpcLayers, compose_character, sample_recipes
from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character
from motionmap.ulpc import UlpcLayers, compose_ulpc_character, is_ulpc_tree, sample_ulpc_recipes

PathLike = Union[str, "os.PathLike[str]"]

# Why 128: the background term of the model needs variety (gradients, noise, tiles), and 128 64x64 tiles cost ~1.5 MB
# and well under a second to generate; with flips every pair sees one of 256 backgrounds.
DEFAULT_BACKGROUNDS = 128


def check_output_dir(out: PathLike) -> Path:
    """``out`` as a Path, refusing an existing file or non-empty folder (an existing empty folder is fine), a name
    over 255 bytes and a folder that cannot be written (no permission, read-only disk)."""
    out = Path(out)
    check_output_location(out)  # names that fit, a writable folder on a writable disk
    if out.exists():
        if not out.is_dir():
            raise MotionmapError(f"{out}: exists and is not a folder; choose a new --out")
        if any(out.iterdir()):
            raise MotionmapError(f"{out}: folder exists and is not empty; choose a new --out or delete it")
    return out


def character_seed(seed: int, i: int) -> int:
    """The seed of character ``i`` of a dataset built with ``seed`` (a 31-bit int, independent per ``(seed, i)``)."""
    return int(np.random.SeedSequence([int(seed), int(i), 0xC4A7]).generate_state(1)[0] & 0x7FFFFFFF)


def _check_count(characters: int) -> int:
    if isinstance(characters, bool) or not isinstance(characters, (int, np.integer)) or characters < 2:
        raise MotionmapError(f"--characters {characters}: need an integer of at least 2 (one goes to validation)")
    return int(characters)


def write_dataset(
    out: PathLike,
    source: str,
    seed: int,
    layout: SheetLayout,
    recipes: Sequence[Dict[str, Any]],
    render: Callable[[int], np.ndarray],
    backgrounds: np.ndarray,
    progress: bool = True,
    row_frames: Optional[Sequence[Sequence[int]]] = None,
    durations_ms: Optional[Sequence[Sequence[Sequence[int]]]] = None,
    screen: Optional[Callable[..., Set[Tuple[int, int]]]] = None,
) -> Path:
    """Write a complete dataset to ``out`` atomically.

    recipes: one JSON-able dict per character (stored in the manifest). render(i) -> uint8 [H, W, 4], the RGBA sheet
    of character ``i`` in ``layout``. Sheets are rendered once; their frames also fill ``frames.npy``.
    backgrounds: uint8 [N, h, w, 3], frame-sized backgrounds, stored as the strip ``backgrounds.png``.
    row_frames, durations_ms: per character, its own frame count per layout row and the frames' durations (format
    version 2, for characters with different animation sets); ``None``: every character fills every row.
    screen: ``screen(i, sheet, layout, row_frames) -> {(row, frame), ...}``, called on each rendered sheet before it
    is written (:class:`motionmap.check.screen.FrameScreen`, the sheet doctor); the cells it returns are dropped
    (:func:`motionmap.check.screen.drop_cells`) and the character gets its own frame counts (version 2).
    """
    out = check_output_dir(out)
    was_empty_folder = out.exists()
    if was_empty_folder:  # atomic_dir wants to create it itself; put it back if the build fails
        out.rmdir()
    bgs = np.asarray(backgrounds)
    if bgs.dtype != np.uint8 or bgs.ndim != 4 or bgs.shape[1:] != (layout.frame_height, layout.frame_width, 3):
        raise ValueError(f"backgrounds: expected uint8 [N, {layout.frame_height}, {layout.frame_width}, 3], "
                         f"got {bgs.dtype} {tuple(bgs.shape)}")
    n = len(recipes)
    splits = assign_splits(n, seed)
    counts: List[Optional[Tuple[int, ...]]] = [
        tuple(int(k) for k in row_frames[i]) if row_frames is not None else None for i in range(n)]
    durations: List[Optional[Tuple[Tuple[int, ...], ...]]] = [
        tuple(tuple(int(d) for d in r) for r in durations_ms[i]) if durations_ms is not None else None
        for i in range(n)]
    recipes = [dict(r) for r in recipes]

    def entry(i: int) -> CharacterEntry:
        return CharacterEntry(id=character_id(i), sheet=f"characters/{character_id(i)}.png", split=splits[i],
                              recipe=recipes[i], row_frames=counts[i], durations_ms=durations[i])

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"{source} characters", unit="char")
    try:
        with atomic_dir(out) as tmp:
            tmp = Path(tmp)
            (tmp / "characters").mkdir()

            def frames_of(i: int) -> np.ndarray:
                sheet = render(i)
                drop = screen(i, sheet, layout, counts[i]) if screen is not None else set()
                if drop:
                    sheet, kept = drop_cells(sheet, layout, drop, counts[i])
                    counts[i] = tuple(len(k) for k in kept)
                    if durations[i] is not None:
                        durations[i] = tuple(tuple(d[j] for j in k) for d, k in zip(durations[i], kept))
                    recipes[i]["dropped_frames"] = sorted([r, f] for r, f in drop)
                write_png(tmp / entry(i).sheet, sheet)
                if bar is not None:
                    bar.update(1)
                return sheet_frames(sheet, layout, name=f"{source} character {i}")

            write_frame_cache(tmp / FRAMES, n, layout, frames_of)
            strip = bgs.transpose(1, 0, 2, 3).reshape(layout.frame_height, -1, 3)  # (h, N*w, 3)
            write_png(tmp / BACKGROUNDS, np.ascontiguousarray(strip))
            manifest = Manifest(source=source, seed=int(seed), layout=layout,
                                characters=tuple(entry(i) for i in range(n)), backgrounds=BACKGROUNDS)
            (tmp / MANIFEST).write_text(manifest.dumps(), encoding="utf-8")
    except BaseException:
        if was_empty_folder and not out.exists():
            out.mkdir()
        raise
    finally:
        if bar is not None:
            bar.close()
    return out


def dataset_backgrounds(seed: int, layout: SheetLayout, n: int = DEFAULT_BACKGROUNDS) -> np.ndarray:
    """The procedural backgrounds stored with a dataset: uint8 [n, h, w, 3] from ``motionmap.backgrounds``."""
    size = (layout.frame_height, layout.frame_width)
    # A seed of its own, so the training backgrounds differ from a benchmark's `background_pool(n, seed=0)`.
    bg_seed = int(np.random.SeedSequence([int(seed), 0xB6B6]).generate_state(1)[0] & 0x7FFFFFFF)
    return np.asarray(background_pool(n, seed=bg_seed, size=size), dtype=np.uint8)


def build_synth_dataset(out: PathLike, characters: int = 64, seed: int = 0, progress: bool = True) -> Path:
    """Build the synthetic dataset (our own generated art; no download) into ``out``; returns ``out``.

    Character ``i`` is ``motionmap.synth.sample_character(character_seed(seed, i))``, so the same seed gives the same
    bytes. Refuses an existing non-empty ``out`` with a :class:`MotionmapError`.
    """
    n = _check_count(characters)
    check_output_dir(out)
    specs = [sample_character(character_seed(seed, i)) for i in range(n)]
    recipes: List[Dict[str, Any]] = []
    for i, spec in enumerate(specs):
        recipe = dict(spec.to_json())
        recipe.setdefault("seed", character_seed(seed, i))
        recipes.append(recipe)
    return write_dataset(
        out, "synth", seed, SYNTH_LAYOUT, recipes, lambda i: render_sheet(specs[i]),
        dataset_backgrounds(seed, SYNTH_LAYOUT), progress=progress,
    )


def build_lpc_dataset(
    layers_root: Union[PathLike, Sequence[PathLike]],
    out: PathLike,
    characters: int = 64,
    seed: int = 0,
    progress: bool = True,
    screen: Optional[Callable[..., Set[Tuple[int, int]]]] = None,
) -> Path:
    """Compose ``characters`` LPC characters from one or more layer libraries into a dataset at ``out``.

    Each library is a flat LPC layer folder (``motionmap.lpc``) or a Universal LPC tree with two body types
    (``motionmap.ulpc``, detected by its ``body/male`` or ``body/female`` folder). With several libraries the
    characters are shared out evenly between them. Recipes exclude the benchmark's held-out looks
    (``motionmap.lpc.HELD_OUT_LAYERS``, ``motionmap.ulpc.HELD_OUT``), so they never occur in a training set.
    ``screen``: see :func:`write_dataset` (the sheet doctor, ``--check``/``--drop-flagged``). Returns ``out``.
    """
    n = _check_count(characters)
    check_output_dir(out)
    roots = [Path(layers_root)] if isinstance(layers_root, (str, os.PathLike)) else [Path(r) for r in layers_root]
    if not roots:
        raise MotionmapError("no layer folder given; pass --layers DIR (repeat it to mix libraries)")
    recipes: List[Dict[str, Any]] = []
    renderers: List[Callable[[], np.ndarray]] = []
    for k, root in enumerate(roots):
        share = n // len(roots) + (1 if k < n % len(roots) else 0)
        if share == 0:
            continue
        if is_ulpc_tree(root):
            ulayers = UlpcLayers(root)
            for r in sample_ulpc_recipes(ulayers, share, seed=int(seed) + 7919 * k, held_out="exclude"):
                recipes.append(r.to_json())
                renderers.append(lambda r=r, L=ulayers: compose_ulpc_character(L, r))
        else:
            layers = LpcLayers(root)
            for r in sample_recipes(layers, share, seed=int(seed) + 7919 * k, held_out="exclude"):
                recipes.append(r.to_json())
                renderers.append(lambda r=r, L=layers: compose_character(L, r))
    return write_dataset(
        out,
        "lpc",
        seed,
        LPC_LAYOUT,
        recipes,
        lambda i: renderers[i](),
        dataset_backgrounds(seed, LPC_LAYOUT),
        progress=progress,
        screen=screen,
    )


def build_import_dataset(
    inputs: Sequence[PathLike],
    out: PathLike,
    frame_size: object = None,
    rows: Optional[Sequence[str]] = None,
    seed: int = 0,
    progress: bool = True,
    screen: Optional[Callable[..., Set[Tuple[int, int]]]] = None,
) -> Path:
    """Import a user's sprites, one character per input (:mod:`motionmap.datasets.importer`), into a dataset at ``out``.

    The layout is the union of every character's animations (rows in order of first appearance, each as long as its
    longest take); each character's sheet fills the rows it has, and the manifest (version 2) records its own frame
    count per row (0 where it lacks the animation) and the frames' durations. All inputs need one frame size within
    8..256 px (a clear error otherwise). ``screen``: see :func:`write_dataset`. Returns ``out``.
    """
    check_output_dir(out)
    if len(inputs) < 2:
        raise MotionmapError(
            f"{len(inputs)} input(s): a dataset needs at least 2 characters (one goes to validation); give more inputs"
        )
    characters = read_characters(inputs, frame_size, rows)
    longest: Dict[Any, int] = {}
    for c in characters:
        for key, anim in c.animations:
            longest[key] = max(longest.get(key, 0), len(anim))
    w, h = characters[0].frame_size
    layout = SheetLayout(w, h, max(longest.values()), tuple(RowSpec(k.name, k.facing, n) for k, n in longest.items()))
    keys = list(longest)
    tables = [dict(c.animations) for c in characters]
    counts = [[len(t[k]) if k in t else 0 for k in keys] for t in tables]
    durations = [[list(t[k].durations_ms) if k in t else [] for k in keys] for t in tables]
    blank = np.zeros((1, h, w, 4), np.uint8)
    recipes = [{"input": c.source.name, "kind": c.kind, "animations": [k.label for k, _ in c.animations]}
               for c in characters]

    def render(i: int) -> np.ndarray:
        return assemble_sheet([tables[i][k].frames if k in tables[i] else blank for k in keys], layout)

    return write_dataset(out, "import", seed, layout, recipes, render, dataset_backgrounds(seed, layout),
                         progress=progress, row_frames=counts, durations_ms=durations, screen=screen)


class DatasetSummary(NamedTuple):
    """What a CLI message says about a built dataset: characters per split, animation rows, real frames of all
    characters together, and the frame size ``(w, h)``."""

    n_train: int
    n_val: int
    n_rows: int
    n_frames: int
    frame_size: Tuple[int, int]


def dataset_summary(root: PathLike) -> DatasetSummary:
    """The :class:`DatasetSummary` of the dataset at ``root``."""
    ds = SpriteDataset(root)
    rows = ds.row_frames()
    return DatasetSummary(len(ds.split_indices("train")), len(ds.split_indices("val")), rows.shape[1],
                          int(rows.sum()), (ds.layout.frame_width, ds.layout.frame_height))
