"""The benchmark's test sets: pairs of characters (A, B) and, per pair, one analogy case per sheet row.

A *case* is one row of the sheet layout (an action seen from one facing) for one pair: the source animation
``a_0..a_T`` of character A, and character B's animation of the same row, whose frame 0 ``b_0`` is what a method is
given and whose frames ``b_1..b_T`` are the truth. Both start from the same pose because both rows start from the
same frame of the same layout.

The split (what "held out" means):

* ``lpc``: characters composed from LPC layer folders (``motionmap.lpc``). Every **target** B is drawn with
  ``sample_recipes(..., held_out="require")``: it wears at least one of :data:`motionmap.lpc.HELD_OUT_LAYERS`
  (body 5, topwear 5, hair 7), which the training builder never uses (it samples with ``held_out="exclude"``).
  Sources A are drawn with ``held_out="allow"`` (any layers; the source only supplies motion), and A != B.
  Each pair gives every row of :data:`motionmap.layout.LPC_LAYOUT`: 5 actions x 4 facings + hurt = 21 cases, so the
  default 10 pairs give 210 cases.
* ``ulpc``: characters composed from a Universal LPC tree (``motionmap.ulpc``: two body types with different
  proportions). Every target wears at least one held-out look (:data:`motionmap.ulpc.HELD_OUT`: hair styles bedhead,
  longhawk, pixie and shoulderl; chain mail and tunics; the dark2 skin), which training sets never use. Pair ``i``
  takes its target's body type from ``i % 2`` and its source's from ``(i // 2) % 2``, so the 10 default pairs cover
  every body-type pair (male->male, male->female, female->male, female->female; reported per pair of types).
* ``synth``: characters of the synthetic generator with seeds ``>= 2**31`` (:data:`SYNTH_TEST_SEED_BASE`). The
  training builder draws character seeds with ``character_seed`` (``motionmap.datasets.build``), which are 31-bit
  (``< 2**31``), so no test character can ever be a training character. Pair ``i`` is A = base + 2i, B = base + 2i + 1
  (shifted by ``2 * pairs * seed`` for another ``--seed``). Every row of ``SYNTH_LAYOUT``.

* a **dataset folder** (``--set DIR``, any ``motionmap-sprites`` dataset, e.g. one made by ``motionmap data import``):
  its validation characters, which training never sees (the split is by character). Every ordered pair (A, B) of two
  different validation characters gives one case per animation row both have with two or more frames, cut to the
  shorter of the two takes. Built from the dataset's frame cache each time (no cache of its own).

Tracks (:data:`TRACKS`), both built from the same RGBA frames (kept as the truth's alpha, for the character mask):

* ``plain``: everything over black, the classic sprite protocol.
* ``scene``: A over one procedural background and B over another, both from a pool drawn with the held-out seed
  :data:`BACKGROUND_TEST_SEED` (training pools use the dataset seed, a small number by default); case ``k`` uses
  backgrounds ``2k`` (source) and ``2k+1`` (target) of ``background_pool(2 * cases, BACKGROUND_TEST_SEED)``. The
  background is static over the animation, so the truth keeps B's background and a method must too.

Building composes every character once; :func:`load_benchmark_set` caches the result as one compressed ``.npz`` under
a cache folder, keyed by a hash of everything that determines it (set, pairs, seeds, layer files' bytes, format).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from motionmap import __version__
from motionmap.backgrounds import background_pool
from motionmap.datasets.dataset import SpriteDataset
from motionmap.datasets.format import MANIFEST
from motionmap.errors import MotionmapError
from motionmap.eval.metrics import character_mask
from motionmap.io import composite_over, slice_sheet
from motionmap.io.atomic import atomic_file
from motionmap.layout import LPC_LAYOUT, SheetLayout
from motionmap.lpc import HELD_OUT_LAYERS, LpcLayers, compose_character, sample_recipes
from motionmap.scale import resize_nearest
from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character
from motionmap.ulpc import BODY_TYPES, HELD_OUT, UlpcLayers, compose_ulpc_character, is_ulpc_tree, sample_ulpc_recipes

SETS = ("lpc", "synth", "ulpc")
LAYERED_SETS = ("lpc", "ulpc")
"""Sets composed from layer folders (``--layers``)."""
DATASET_SET = "dataset"
"""``BenchmarkSetSpec.set`` of a test set cut from a dataset folder's validation characters (``--set DIR``)."""
TRACKS = ("plain", "scene")

DEFAULT_PAIRS = 10
"""10 pairs x 21 LPC rows = 210 cases per track: enough to average out single characters, cheap enough that all
three baselines run in well under 5 minutes on 2 cores."""

SYNTH_TEST_SEED_BASE = 2**31
"""Synthetic test characters use seeds from here up; training character seeds are 31-bit, i.e. below this."""

BACKGROUND_TEST_SEED = 2**31 + 7
"""Seed of the scene track's background pool; training pools use the dataset's seed (0 by default)."""

TESTSET_FORMAT = 1
"""Bumped whenever the cached arrays' meaning changes, so that old caches are rebuilt."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/motionmap/eval``, else ``~/.cache/motionmap/eval``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motionmap" / "eval"


def _shared_data_dir(env: str, name: str) -> Path:
    """``$env`` if set, else ``../shared/data/<name>`` beside the repository this package lives in."""
    value = os.environ.get(env)
    if value:
        return Path(value)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / name


def default_layers_dir() -> Path:
    """``$MOTIONMAP_LPC_LAYERS``, else ``../shared/data/lpc`` beside the repository this package lives in."""
    return _shared_data_dir("MOTIONMAP_LPC_LAYERS", "lpc")


def default_ulpc_dir() -> Path:
    """``$MOTIONMAP_ULPC_LAYERS``, else ``../shared/data/ulpc`` beside the repository this package lives in."""
    return _shared_data_dir("MOTIONMAP_ULPC_LAYERS", "ulpc")


def default_layers_for(set_name: str) -> Optional[Path]:
    """The default layer folder of a layered set (None for ``synth``)."""
    return {"lpc": default_layers_dir, "ulpc": default_ulpc_dir}.get(set_name, lambda: None)()


def _derived_seed(seed: int, stream: int) -> int:
    """An independent 31-bit seed for ``stream`` of a test set built with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(stream), 0xE7A1]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass(frozen=True)
class BenchmarkSetSpec:
    """What determines a test set.

    ``set``: ``lpc`` or ``synth``; ``pairs``: number of character pairs (each gives one case per layout row);
    ``seed``: the test-set seed (keep 0 to compare with published numbers); ``layers``: the LPC layer folder (``lpc``
    only); ``background_seed``: the scene track's background pool.
    """

    set: str
    pairs: int = DEFAULT_PAIRS
    seed: int = 0
    layers: Optional[Path] = None
    background_seed: int = BACKGROUND_TEST_SEED
    data_dir: Optional[Path] = None

    def __post_init__(self):
        if self.set == DATASET_SET and self.data_dir is None:
            raise MotionmapError("a dataset test set needs its data_dir")
        if self.set not in SETS and self.set != DATASET_SET:
            raise MotionmapError(f"--set {self.set!r}: unknown test set; choose one of {', '.join(SETS)}")
        if isinstance(self.pairs, bool) or not isinstance(self.pairs, (int, np.integer)) or self.pairs < 1:
            raise MotionmapError(f"pairs {self.pairs!r}: need a positive integer")
        if self.set in LAYERED_SETS and self.layers is None:
            object.__setattr__(self, "layers", default_layers_for(self.set))
        if self.layers is not None:
            object.__setattr__(self, "layers", Path(self.layers))

    def to_json(self) -> Dict[str, Any]:
        return {
            "set": self.set,
            "pairs": int(self.pairs),
            "seed": int(self.seed),
            "layers": str(self.layers.resolve()) if self.layers is not None else None,
            "background_seed": int(self.background_seed),
            **({"data_dir": str(Path(self.data_dir).resolve())} if self.data_dir is not None else {}),
        }


@dataclass(frozen=True)
class AnalogyCase:
    """One analogy case: row ``row`` of pair ``pair``.

    ``source_rgba``, ``target_rgba``: ``uint8 [T,H,W,4]`` (same T, T >= 2); ``source_background``,
    ``target_background``: ``uint8 [H,W,3]``, used by the ``scene`` track.
    """

    index: int
    pair: int
    row: int
    action: str
    facing: Optional[str]
    source_rgba: np.ndarray = field(repr=False)
    target_rgba: np.ndarray = field(repr=False)
    source_background: np.ndarray = field(repr=False)
    target_background: np.ndarray = field(repr=False)

    @property
    def frames(self) -> int:
        return int(self.source_rgba.shape[0])

    @property
    def label(self) -> str:
        facing = f"/{self.facing}" if self.facing else ""
        return f"case {self.index}: {self.action}{facing}, pair {self.pair}"

    def source(self, track: str) -> np.ndarray:
        """The source animation ``a_0..a_T`` on the track's background: ``uint8 [T,H,W,3]``."""
        return _composite(self.source_rgba, self.source_background, track)

    def truth(self, track: str) -> np.ndarray:
        """B's own animation ``b_0..b_T`` on the track's background: ``uint8 [T,H,W,3]``."""
        return _composite(self.target_rgba, self.target_background, track)

    def target(self, track: str) -> np.ndarray:
        """``b_0``, the single image a method is given: ``uint8 [H,W,3]``."""
        return self.truth(track)[0]

    def character_mask(self) -> np.ndarray:
        """B's character region per frame (see :func:`motionmap.eval.metrics.character_mask`): bool ``[T,H,W]``."""
        return character_mask(self.target_rgba[..., 3])


def check_track(track: str) -> str:
    if track not in TRACKS:
        raise MotionmapError(f"--track {track!r}: unknown track; choose one of {', '.join(TRACKS)}")
    return track


def _composite(rgba: np.ndarray, background: np.ndarray, track: str) -> np.ndarray:
    check_track(track)
    bg = np.zeros_like(background) if track == "plain" else background
    bg = np.broadcast_to(bg, rgba.shape[:-1] + (3,))
    return np.asarray(composite_over(rgba, bg), dtype=np.uint8)


@dataclass(frozen=True)
class BenchmarkSet:
    """A built test set: its spec, layout, cases (pair-major, layout row order) and one description per pair."""

    spec: BenchmarkSetSpec
    layout: SheetLayout
    cases: Tuple[AnalogyCase, ...]
    pairs: Tuple[Dict[str, Any], ...]
    key: str

    def head(self, n: int) -> "BenchmarkSet":
        """The first ``n`` cases (all of them when ``n`` is larger)."""
        return replace(self, cases=self.cases[:n])

    @property
    def actions(self) -> Tuple[str, ...]:
        """Action names present, in layout order."""
        present = {c.action for c in self.cases}
        return tuple(a for a in self.layout.animation_names if a in present)

    def case_groups(self) -> Dict[str, List[int]]:
        """Case indices per group of pairs (``ulpc``: the body-type pair, e.g. ``male->female``); empty when the set
        has no groups."""
        groups: Dict[str, List[int]] = {}
        for c in self.cases:
            name = self.pairs[c.pair].get("group") if c.pair < len(self.pairs) else None
            if name:
                groups.setdefault(str(name), []).append(c.index)
        return groups

    def resized(self, width: int, height: int) -> "BenchmarkSet":
        """The same cases with every frame and background resampled to ``width x height`` (nearest neighbour)."""
        cases = tuple(
            replace(
                c,
                source_rgba=resize_nearest(c.source_rgba, height, width),
                target_rgba=resize_nearest(c.target_rgba, height, width),
                source_background=resize_nearest(c.source_background, height, width),
                target_background=resize_nearest(c.target_background, height, width),
            )
            for c in self.cases
        )
        return replace(self, cases=cases)

    @property
    def frame_size(self) -> Tuple[int, int]:
        """``(width, height)`` of the cases' frames."""
        h, w = self.cases[0].source_rgba.shape[1:3] if self.cases else (self.layout.frame_height, self.layout.frame_width)
        return int(w), int(h)

    def held_out(self) -> Dict[str, Any]:
        """What the targets hold out from training, for the report."""
        if self.spec.set == "ulpc":
            return {"looks": {k: list(v) for k, v in HELD_OUT.items()}, "rule": "every target wears >= 1"}
        if self.spec.set == "lpc":
            return {"layers": {k: list(v) for k, v in HELD_OUT_LAYERS.items()}, "rule": "every target wears >= 1"}
        if self.spec.set == DATASET_SET:
            return {"data_dir": str(self.spec.data_dir), "rule": "the dataset's validation characters (split by character)"}
        return {"synth_seeds_from": SYNTH_TEST_SEED_BASE, "rule": "training character seeds are < 2**31"}


# ---------------------------------------------------------------------------------------------------- building


def _check_layer_folder(layers: Path, what: str, example: str, env: str, needs: str, fits: bool) -> Path:
    layers = Path(layers)
    if not layers.is_dir():
        raise MotionmapError(f"{layers}: {what} not found; pass --layers DIR (a folder with {example}) or set {env}")
    if not fits:
        raise MotionmapError(f"{layers}: has no {needs} folder, so it is no {what}; pass the right --layers")
    return layers


def check_layers_dir(layers: Path) -> Path:
    """``layers`` if it looks like an LPC layer folder (has ``body/``), else a one-line :class:`MotionmapError`."""
    return _check_layer_folder(layers, "LPC layer folder", "body/, topwear/, hair/ ...", "MOTIONMAP_LPC_LAYERS",
                               "body/", (Path(layers) / "body").is_dir())


def check_ulpc_dir(layers: Path) -> Path:
    """``layers`` if it is a Universal LPC tree (``body/male`` or ``body/female``), else a one-line error."""
    return _check_layer_folder(layers, "Universal LPC tree", "body/male, hair/female, ...", "MOTIONMAP_ULPC_LAYERS",
                               "body/male or body/female", is_ulpc_tree(layers))


def check_set_layers(set_name: str, layers: Optional[Path]) -> Optional[Path]:
    """Check the layer folder of a layered set (default folder when ``layers`` is None); None for ``synth``."""
    if set_name not in LAYERED_SETS:
        return None
    folder = Path(layers) if layers is not None else default_layers_for(set_name)
    return check_ulpc_dir(folder) if set_name == "ulpc" else check_layers_dir(folder)


def layers_fingerprint(layers: Path) -> str:
    """sha256 over every PNG's relative path and bytes under ``layers`` (so edited layers rebuild the cache)."""
    h = hashlib.sha256()
    for path in sorted(Path(layers).rglob("*.png")):
        h.update(str(path.relative_to(layers)).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


# Modules whose code decides a test set's bytes; their source is part of the cache key, so that a fix to the
# composer, the synthetic renderer or the backgrounds never leaves a stale cached set behind.
_GENERATOR_MODULES = (
    "motionmap.lpc",
    "motionmap.ulpc",
    "motionmap.backgrounds",
    "motionmap.synth",
    "motionmap.io.images",
    "motionmap.io.sheets",
    "motionmap.layout",
    "motionmap.eval.testsets",
)


def generator_fingerprint() -> str:
    """sha256 over the source files of :data:`_GENERATOR_MODULES` (packages: every ``.py`` file in them)."""
    h = hashlib.sha256()
    for name in _GENERATOR_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        files = sorted(origin.parent.glob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(spec: BenchmarkSetSpec) -> str:
    """A short hash of everything the set's bytes depend on: the spec (not the folder's path), the layer files'
    bytes, the generating code, and the cache format."""
    d = spec.to_json()
    d.pop("layers")
    d["format"] = TESTSET_FORMAT
    d["motionmap"] = __version__
    d["code_sha256"] = generator_fingerprint()
    if spec.set in LAYERED_SETS:
        d["layers_sha256"] = layers_fingerprint(check_set_layers(spec.set, spec.layers))
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _lpc_characters(spec: BenchmarkSetSpec) -> Tuple[SheetLayout, List[Tuple[np.ndarray, np.ndarray]], List[dict]]:
    layers = LpcLayers(check_layers_dir(spec.layers))
    targets = list(sample_recipes(layers, spec.pairs, seed=_derived_seed(spec.seed, 1), held_out="require"))
    # Twice as many sources as needed, so that a source equal to its target can be skipped.
    pool = list(sample_recipes(layers, 2 * spec.pairs + 1, seed=_derived_seed(spec.seed, 2), held_out="allow"))
    sheets, info = [], []
    for i, target in enumerate(targets):
        if not target.wears_held_out():  # the composer's contract; checked because the split depends on it
            raise MotionmapError(f"target recipe {target.to_json()}: wears no held-out layer; fix sample_recipes")
        source = next(r for r in pool[i:] + pool[:i] if r != target)
        sheets.append((compose_character(layers, source), compose_character(layers, target)))
        info.append({"source": source.to_json(), "target": target.to_json()})
    return LPC_LAYOUT, sheets, info


def _ulpc_characters(spec: BenchmarkSetSpec) -> Tuple[SheetLayout, List[Tuple[np.ndarray, np.ndarray]], List[dict]]:
    layers = UlpcLayers(check_ulpc_dir(spec.layers))
    types = [t for t in BODY_TYPES if t in layers.body_types]
    targets = {t: sample_ulpc_recipes(layers, spec.pairs, seed=_derived_seed(spec.seed, 11), held_out="require",
                                      body_types=(t,)) for t in types}
    # One spare source per pair, so that a source equal to its target can be skipped.
    sources = {t: sample_ulpc_recipes(layers, spec.pairs + 1, seed=_derived_seed(spec.seed, 12), held_out="allow",
                                      body_types=(t,)) for t in types}
    sheets, info = [], []
    for i in range(spec.pairs):
        target_type, source_type = types[i % len(types)], types[(i // len(types)) % len(types)]
        target = targets[target_type][i]
        source = next(r for r in sources[source_type][i:] + sources[source_type][:i] if r != target)
        sheets.append((compose_ulpc_character(layers, source), compose_ulpc_character(layers, target)))
        info.append({"source": source.to_json(), "target": target.to_json(), "group": f"{source_type}->{target_type}"})
    return LPC_LAYOUT, sheets, info


def _synth_characters(spec: BenchmarkSetSpec) -> Tuple[SheetLayout, List[Tuple[np.ndarray, np.ndarray]], List[dict]]:
    base = SYNTH_TEST_SEED_BASE + 2 * spec.pairs * int(spec.seed)
    sheets, info = [], []
    for i in range(spec.pairs):
        a_seed, b_seed = base + 2 * i, base + 2 * i + 1
        sheets.append((render_sheet(sample_character(a_seed)), render_sheet(sample_character(b_seed))))
        info.append({"source": {"seed": a_seed}, "target": {"seed": b_seed}})
    return SYNTH_LAYOUT, sheets, info


def build_benchmark_set(spec: BenchmarkSetSpec, progress: bool = False) -> BenchmarkSet:
    """Compose the characters of ``spec`` and cut them into cases (no cache; see :func:`load_benchmark_set`)."""
    build = {"lpc": _lpc_characters, "ulpc": _ulpc_characters, "synth": _synth_characters}[spec.set]
    layout, sheets, info = build(spec)
    cases_raw = []
    for p, (sheet_a, sheet_b) in enumerate(sheets):
        rows_a, rows_b = slice_sheet(sheet_a, layout), slice_sheet(sheet_b, layout)
        for r, spec_row in enumerate(layout.rows):
            t = min(len(rows_a[r]), len(rows_b[r]))
            if t < 2:  # nothing to predict; a complete character never has this
                continue
            cases_raw.append((p, r, spec_row, np.ascontiguousarray(rows_a[r][:t]), np.ascontiguousarray(rows_b[r][:t])))
    if not cases_raw:
        raise MotionmapError(f"test set {spec.set}: no row has two or more frames; check the layer sheets")
    return BenchmarkSet(spec=spec, layout=layout, cases=_with_backgrounds(cases_raw, layout, spec), pairs=tuple(info),
                        key=cache_key(spec))


def _with_backgrounds(cases_raw: List[tuple], layout: SheetLayout, spec: BenchmarkSetSpec) -> Tuple[AnalogyCase, ...]:
    """``(pair, row, RowSpec, a uint8 [T,H,W,4], b uint8 [T,H,W,4])`` per case -> cases with their scene backgrounds."""
    h, w = layout.frame_height, layout.frame_width
    bgs = np.asarray(background_pool(2 * len(cases_raw), seed=int(spec.background_seed), size=(h, w)), dtype=np.uint8)
    return tuple(
        AnalogyCase(
            index=k,
            pair=p,
            row=r,
            action=row.name,
            facing=row.facing,
            source_rgba=a,
            target_rgba=b,
            source_background=bgs[2 * k],
            target_background=bgs[2 * k + 1],
        )
        for k, (p, r, row, a, b) in enumerate(cases_raw)
    )


def is_dataset_dir(name: object) -> bool:
    """True when ``name`` is a folder holding a dataset manifest (``--set DIR``)."""
    return isinstance(name, (str, Path)) and (Path(name) / MANIFEST).is_file()


def dataset_benchmark_set(data_dir: Path, cases: Optional[int] = None) -> BenchmarkSet:
    """The analogy cases of a dataset's validation characters (see the module docstring), the first ``cases``."""
    ds = SpriteDataset(data_dir)
    val = ds.split_indices("val").tolist()
    if len(val) < 2:
        raise MotionmapError(
            f"{data_dir}: has {len(val)} validation character(s); the analogy test needs 2 (A and B): build the "
            "dataset from 15 or more characters (a tenth go to validation)"
        )
    spec = BenchmarkSetSpec(set=DATASET_SET, pairs=len(val) * (len(val) - 1), data_dir=Path(data_dir))
    frames, offsets, own = ds.frames(), ds.row_offsets, ds.row_frames()
    cases_raw, info = [], []
    for b in val:
        for a in val:
            if a == b or (cases is not None and len(cases_raw) >= cases):
                continue
            p = len(info)
            info.append({"source": ds.characters[a].id, "target": ds.characters[b].id})
            for r, row in enumerate(ds.layout.rows):
                t = int(min(own[a, r], own[b, r]))
                if t >= 2:
                    start = int(offsets[r])
                    cases_raw.append((p, r, row, np.array(frames[a, start:start + t]), np.array(frames[b, start:start + t])))
    if not cases_raw:
        raise MotionmapError(f"{data_dir}: no two validation characters share an animation of 2 or more frames")
    cases_raw = cases_raw[:cases] if cases is not None else cases_raw
    return BenchmarkSet(spec=spec, layout=ds.layout, cases=_with_backgrounds(cases_raw, ds.layout, spec),
                        pairs=tuple(info), key="dataset")


# ---------------------------------------------------------------------------------------------------- caching


def _to_arrays(bset: BenchmarkSet) -> Dict[str, np.ndarray]:
    lengths = np.array([c.frames for c in bset.cases], dtype=np.int64)
    meta = {
        "format": TESTSET_FORMAT,
        "key": bset.key,
        "spec": bset.spec.to_json(),
        "layout": bset.layout.to_json(),
        "pairs": list(bset.pairs),
    }
    return {
        "meta": np.array(json.dumps(meta)),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]),
        "pair": np.array([c.pair for c in bset.cases], dtype=np.int64),
        "row": np.array([c.row for c in bset.cases], dtype=np.int64),
        "source_rgba": np.concatenate([c.source_rgba for c in bset.cases]),  # (F, H, W, 4)
        "target_rgba": np.concatenate([c.target_rgba for c in bset.cases]),  # (F, H, W, 4)
        "source_background": np.stack([c.source_background for c in bset.cases]),  # (C, H, W, 3)
        "target_background": np.stack([c.target_background for c in bset.cases]),  # (C, H, W, 3)
    }


def _from_arrays(spec: BenchmarkSetSpec, arrays: Dict[str, np.ndarray]) -> BenchmarkSet:
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != TESTSET_FORMAT:
        raise ValueError("old cache format")
    layout = SheetLayout.from_json(meta["layout"])
    off = arrays["offsets"]
    cases = []
    for k in range(len(off) - 1):
        row = int(arrays["row"][k])
        cases.append(
            AnalogyCase(
                index=k,
                pair=int(arrays["pair"][k]),
                row=row,
                action=layout.rows[row].name,
                facing=layout.rows[row].facing,
                source_rgba=arrays["source_rgba"][off[k] : off[k + 1]],
                target_rgba=arrays["target_rgba"][off[k] : off[k + 1]],
                source_background=arrays["source_background"][k],
                target_background=arrays["target_background"][k],
            )
        )
    return BenchmarkSet(spec=spec, layout=layout, cases=tuple(cases), pairs=tuple(meta["pairs"]), key=meta["key"])


def cache_path(spec: BenchmarkSetSpec, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{spec.set}-{cache_key(spec)}.npz"


def load_benchmark_set(spec: BenchmarkSetSpec, cache_dir: Optional[Path] = None) -> BenchmarkSet:
    """The test set of ``spec``, from ``cache_dir`` when cached there, else built and then cached.

    ``cache_dir=None`` disables the cache. A corrupt or outdated cache file is rebuilt; a cache folder that cannot be
    written only costs the rebuild next time (a note is printed to stderr).
    """
    if cache_dir is None:
        return build_benchmark_set(spec)
    path = cache_path(spec, cache_dir)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            return _from_arrays(spec, arrays)
        except Exception as e:  # noqa: BLE001 - any damage to a cache file just means: rebuild it
            print(f"motionmap: note: rebuilding the test-set cache {path} ({type(e).__name__}: {e})", file=sys.stderr)
    bset = build_benchmark_set(spec)
    try:
        with atomic_file(path, overwrite=True) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **_to_arrays(bset))
    except (OSError, MotionmapError) as e:
        print(f"motionmap: note: could not cache the test set in {cache_dir} ({e}); it is rebuilt next time", file=sys.stderr)
    return bset


def pairs_for_cases(cases: int, layout_rows: int) -> int:
    """How many pairs give at least ``cases`` cases with ``layout_rows`` cases per pair."""
    return max(1, math.ceil(cases / layout_rows))


def benchmark_set_for(
    set_name: str,
    cases: Optional[int] = None,
    layers: Optional[Path] = None,
    seed: int = 0,
    cache_dir: Optional[Path] = None,
) -> BenchmarkSet:
    """The ``set_name`` test set, cut to its first ``cases`` cases (``--cases`` of the CLI).

    ``cases=None`` is the full default set, :data:`DEFAULT_PAIRS` pairs (210 LPC cases, 200 synthetic); a number
    takes the first ``cases`` cases of ``ceil(cases / rows)`` pairs.
    """
    if cases is not None and (isinstance(cases, bool) or not isinstance(cases, (int, np.integer)) or cases < 1):
        raise MotionmapError(f"--cases {cases!r}: need a positive integer")
    if is_dataset_dir(set_name):
        return dataset_benchmark_set(Path(set_name), cases)
    if set_name not in SETS:
        raise MotionmapError(f"--set {set_name!r}: unknown test set; choose one of {', '.join(SETS)}")
    layout = LPC_LAYOUT if set_name in LAYERED_SETS else SYNTH_LAYOUT
    if set_name in LAYERED_SETS:
        check_set_layers(set_name, layers)
    pairs = DEFAULT_PAIRS if cases is None else pairs_for_cases(cases, len(layout.rows))
    spec = BenchmarkSetSpec(set=set_name, pairs=pairs, seed=seed, layers=layers)
    bset = load_benchmark_set(spec, cache_dir)
    return bset if cases is None else bset.head(cases)


__all__: Sequence[str] = (
    "SETS",
    "TRACKS",
    "DEFAULT_PAIRS",
    "SYNTH_TEST_SEED_BASE",
    "BACKGROUND_TEST_SEED",
    "BenchmarkSetSpec",
    "AnalogyCase",
    "BenchmarkSet",
    "build_benchmark_set",
    "dataset_benchmark_set",
    "is_dataset_dir",
    "load_benchmark_set",
    "benchmark_set_for",
    "default_cache_dir",
    "default_layers_dir",
    "default_ulpc_dir",
    "default_layers_for",
    "check_layers_dir",
    "check_ulpc_dir",
    "check_set_layers",
    "check_track",
)
