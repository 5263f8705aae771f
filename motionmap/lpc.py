"""Compose LPC (Liberated Pixel Cup) characters from layer sheets.

A layer library is a folder with one subfolder per layer, each holding interchangeable layer sheets (832x1344 RGBA,
the LPC layout of :data:`motionmap.layout.LPC_LAYOUT`)::

    lpc/body/0.png ... body/5.png      lpc/hair/0.png ... hair/7.png      lpc/shoes/0.png ...   (optional)
    lpc/bottomwear/...  lpc/topwear/...                                   lpc/eyes/0.png ...    (optional)

A character is a :class:`LpcRecipe` (one option per layer; shoes and eyes may be absent), rendered by
:func:`compose_character` as the alpha-composite of its layers in :data:`LAYER_ORDER`.

Some options are held out (:data:`HELD_OUT_LAYERS`): characters wearing them are kept for benchmark targets and never
used for training, so the benchmark measures transfer to looks the model has not seen.

>>> layers = LpcLayers("../shared/data/lpc")                       # doctest: +SKIP
>>> recipes = sample_recipes(layers, 8, seed=0, held_out="exclude")  # doctest: +SKIP
>>> compose_character(layers, recipes[0]).shape                    # doctest: +SKIP
(1344, 832, 4)
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.images import alpha_over, check_image_file, read_image
from motionmap.io.names import natural_key
from motionmap.io.sheets import is_lpc_size
from motionmap.layout import LPC_LAYOUT

PathLike = Union[str, "os.PathLike[str]"]

# Bottom to top. Eyes go last so that they stay visible over hair fringes; shoes over trouser legs.
LAYER_ORDER: Tuple[str, ...] = ("body", "bottomwear", "topwear", "hair", "shoes", "eyes")
REQUIRED_LAYERS: Tuple[str, ...] = ("body", "bottomwear", "topwear", "hair")
OPTIONAL_LAYERS: Tuple[str, ...] = ("shoes", "eyes")

# Options reserved for benchmark targets (file stems in the layer folders): never in training data.
HELD_OUT_LAYERS: Dict[str, Tuple[str, ...]] = {"body": ("5",), "topwear": ("5",), "hair": ("7",)}

HELD_OUT_MODES = ("exclude", "require", "allow")

# Chance that a sampled character wears each optional layer.
OPTIONAL_LAYER_PROBABILITY = 0.5

IMAGE_SUFFIXES = (".png",)

# Enumerate every recipe (instead of rejection sampling) only while the space is this small.
_ENUMERATE_LIMIT = 2_000_000


@dataclass(frozen=True)
class LpcRecipe:
    """One LPC character: the option (file stem) chosen for each layer; ``None`` leaves an optional layer out."""

    body: str
    bottomwear: str
    topwear: str
    hair: str
    shoes: Optional[str] = None
    eyes: Optional[str] = None

    def layers(self) -> List[Tuple[str, str]]:
        """``(layer, option)`` pairs in :data:`LAYER_ORDER`, skipping absent optional layers."""
        return [(name, getattr(self, name)) for name in LAYER_ORDER if getattr(self, name) is not None]

    def wears_held_out(self) -> bool:
        """True if any layer uses an option from :data:`HELD_OUT_LAYERS`."""
        return any(getattr(self, layer) in options for layer, options in HELD_OUT_LAYERS.items())

    def slug(self) -> str:
        """A short, file-name-safe id, e.g. ``b0-bw1-t2-h3-s0-e-`` (``-`` ends an absent layer)."""
        short = {"body": "b", "bottomwear": "bw", "topwear": "t", "hair": "h", "shoes": "s", "eyes": "e"}
        parts = [f"{short[name]}{getattr(self, name) or ''}" for name in LAYER_ORDER]
        return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(d: Mapping) -> "LpcRecipe":
        known = {f.name for f in fields(LpcRecipe)}
        unknown = set(d) - known
        missing = [name for name in REQUIRED_LAYERS if d.get(name) is None]
        if unknown or missing:
            raise MotionmapError(
                f"LPC recipe {dict(d)!r}: "
                + (f"unknown layers {sorted(unknown)}" if unknown else f"missing layers {missing}")
                + f"; a recipe names one option for each of {', '.join(LAYER_ORDER)} (shoes and eyes optional)"
            )
        return LpcRecipe(**{k: (None if d.get(k) is None else str(d[k])) for k in known})


class LpcLayers:
    """A folder of LPC layer sheets, one subfolder per layer (see the module docstring).

    ``options[layer]`` lists the option names (file stems, natural order) of each layer in :data:`LAYER_ORDER`;
    optional layers without a folder have none. A missing or empty required layer folder raises
    :class:`MotionmapError`. Decoded sheets are cached (about 4.5 MB each), so composing many characters decodes
    each layer file once.
    """

    def __init__(self, root: PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise MotionmapError(
                f"{root}: no such folder of LPC layers; give a folder with body/, bottomwear/, topwear/, hair/ "
                "(and optionally shoes/, eyes/) subfolders of 832x1344 layer sheets"
            )
        self.options: Dict[str, List[str]] = {}
        self._paths: Dict[Tuple[str, str], Path] = {}
        self._cache: Dict[Tuple[str, str], np.ndarray] = {}
        for layer in LAYER_ORDER:
            folder = self.root / layer
            files = []
            if folder.is_dir():
                files = sorted(
                    (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                    key=lambda p: natural_key(p.stem),
                )
            if layer in REQUIRED_LAYERS and not files:
                what = "holds no layer sheets (*.png)" if folder.is_dir() else "does not exist"
                raise MotionmapError(
                    f"{folder}: {what}; every LPC character needs "
                    f"{', '.join(REQUIRED_LAYERS)}, each a subfolder of {root} with at least one PNG"
                )
            self.options[layer] = [p.stem for p in files]
            for p in files:
                self._paths[(layer, p.stem)] = p

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.options.items())
        return f"LpcLayers({str(self.root)!r}: {counts})"

    def path(self, layer: str, option: str) -> Path:
        """The file of ``option`` in ``layer``; :class:`MotionmapError` naming the choices if there is none."""
        if layer not in self.options:
            raise MotionmapError(f"unknown LPC layer {layer!r}; layers are: {', '.join(LAYER_ORDER)}")
        try:
            return self._paths[(layer, str(option))]
        except KeyError:
            choices = ", ".join(self.options[layer]) or "none"
            raise MotionmapError(
                f"{self.root / layer}: no {layer} option {option!r}; choose one of: {choices}"
            ) from None

    def sheet(self, layer: str, option: str) -> np.ndarray:
        """The decoded layer sheet ``uint8 [1344,832,4]`` (cached; do not modify it in place)."""
        key = (layer, str(option))
        if key not in self._cache:
            path = self.path(layer, option)
            self._cache[key] = load_layer_sheet(path)
        return self._cache[key]

    def validate(self, recipe: LpcRecipe) -> None:
        """Raise :class:`MotionmapError` if ``recipe`` names an option these layers do not have."""
        for layer, option in recipe.layers():
            self.path(layer, option)

    def count_recipes(self, held_out: str = "allow") -> int:
        """How many distinct recipes these layers allow under ``held_out`` (see :func:`sample_recipes`)."""
        check_held_out_mode(held_out)
        total = 1
        free = 1  # recipes wearing no held-out option
        for layer in LAYER_ORDER:
            opts = self.options[layer]
            n = len(opts) + (1 if layer in OPTIONAL_LAYERS else 0)
            n_free = len([o for o in opts if o not in HELD_OUT_LAYERS.get(layer, ())])
            n_free += 1 if layer in OPTIONAL_LAYERS else 0
            total *= n
            free *= n_free
        return {"allow": total, "exclude": free, "require": total - free}[held_out]


def load_layer_sheet(path: PathLike) -> np.ndarray:
    """Read one LPC layer sheet as ``uint8 [1344,832,4]`` (taller LPC sheets are cropped to the standard rows)."""
    sheet = read_image(path)
    height, width = sheet.shape[:2]
    lw, lh = LPC_LAYOUT.size
    if not is_lpc_size(width, height):
        raise MotionmapError(
            f"{path}: {width}x{height} is not an LPC layer sheet ({lw}x{lh}); "
            "use sheets in the standard LPC layout (13 columns x 21 rows of 64x64 frames)"
        )
    return sheet[:lh]


def compose_layers(sheets: Sequence[np.ndarray]) -> np.ndarray:
    """Alpha-composite RGBA sheets bottom to top: ``[uint8 [H,W,4], ...] -> uint8 [H,W,4]``."""
    if not sheets:
        raise ValueError("compose_layers: need at least one sheet")
    shapes = {s.shape for s in sheets}
    if len(shapes) != 1:
        raise ValueError(f"compose_layers: all layer sheets need one size, got {sorted(shapes)}")
    out = np.array(sheets[0], dtype=np.uint8, copy=True)
    for top in sheets[1:]:
        out = alpha_over(top, out)
    return out


def compose_character(layers: LpcLayers, recipe: LpcRecipe) -> np.ndarray:
    """Render ``recipe`` as an LPC sheet ``uint8 [1344,832,4]``: its layers alpha-composited in :data:`LAYER_ORDER`.

    Deterministic: the same layers and recipe give the same bytes. Raises :class:`MotionmapError` for an option
    the layers do not have.
    """
    layers.validate(recipe)
    return compose_layers([layers.sheet(layer, option) for layer, option in recipe.layers()])


def check_held_out_mode(held_out: str) -> None:
    """Refuse a ``held_out`` rule other than :data:`HELD_OUT_MODES` (one line)."""
    if held_out not in HELD_OUT_MODES:
        raise MotionmapError(f"held_out={held_out!r}: expected one of {', '.join(HELD_OUT_MODES)}")


def held_out_allows(recipe, held_out: str) -> bool:
    """Whether ``recipe`` (anything with ``wears_held_out()``) passes the ``held_out`` rule of a sampler."""
    if held_out == "exclude":
        return not recipe.wears_held_out()
    if held_out == "require":
        return recipe.wears_held_out()
    return True


def sample_recipes(layers: LpcLayers, n: int, seed: int, held_out: str = "exclude") -> List[LpcRecipe]:
    """Draw ``n`` distinct characters at random, deterministically for ``seed``.

    Each required layer takes a uniformly random option; each optional layer is present with probability
    :data:`OPTIONAL_LAYER_PROBABILITY` (then a uniform option). ``held_out``:

    - ``"exclude"``: no recipe wears a held-out option (training data);
    - ``"require"``: every recipe wears at least one (benchmark targets);
    - ``"allow"``: no constraint.

    Raises :class:`MotionmapError` when the layers allow fewer than ``n`` distinct recipes under that rule.
    """
    check_held_out_mode(held_out)
    if n < 0:
        raise MotionmapError(f"--characters {n}: expected a count of 0 or more")
    possible = layers.count_recipes(held_out)
    if n > possible:
        rule = {"exclude": "without held-out layers", "require": "wearing a held-out layer", "allow": "in all"}
        raise MotionmapError(
            f"{layers.root}: its layers make only {possible} distinct characters {rule[held_out]}, fewer than the "
            f"{n} asked for; ask for fewer characters or add layer sheets"
        )
    rng = np.random.default_rng(seed)
    total = layers.count_recipes("allow")
    if total <= _ENUMERATE_LIMIT and (n > possible // 2 or possible < total // 20):
        # Dense request or a rare constraint: rejection sampling would stall, so shuffle the whole space instead.
        everything = [r for r in _all_recipes(layers) if held_out_allows(r, held_out)]
        order = rng.permutation(len(everything))[:n]
        return [everything[i] for i in order]
    return draw_distinct(lambda k: _draw(layers, rng), n, held_out, layers.root, tries=1000 * (n + 1))


def draw_distinct(draw, n: int, held_out: str, root, tries: int) -> list:
    """``n`` distinct recipes from ``draw(k)`` (``k``: how many are chosen so far) that pass the ``held_out`` rule;
    :class:`MotionmapError` naming ``root`` when ``tries`` draws do not give them."""
    chosen: list = []
    seen = set()
    for _ in range(tries):
        if len(chosen) == n:
            break
        recipe = draw(len(chosen))
        if recipe in seen or not held_out_allows(recipe, held_out):
            continue
        seen.add(recipe)
        chosen.append(recipe)
    if len(chosen) < n:
        raise MotionmapError(f"{root}: could not draw {n} distinct characters; ask for fewer characters")
    return chosen


def _draw(layers: LpcLayers, rng: np.random.Generator) -> LpcRecipe:
    picks: Dict[str, Optional[str]] = {}
    for layer in LAYER_ORDER:
        opts = layers.options[layer]
        present = layer in REQUIRED_LAYERS or (opts and rng.random() < OPTIONAL_LAYER_PROBABILITY)
        picks[layer] = opts[int(rng.integers(len(opts)))] if present else None
    return LpcRecipe(**picks)  # type: ignore[arg-type]


def _all_recipes(layers: LpcLayers) -> List[LpcRecipe]:
    choices = [
        list(layers.options[layer]) + ([None] if layer in OPTIONAL_LAYERS else []) for layer in LAYER_ORDER
    ]
    return [LpcRecipe(*combo) for combo in itertools.product(*choices)]


# --- one character's layer folder ------------------------------------------------------------------------------------
# Users often have a single character as a folder of its layer sheets rather than a composed sheet: either
# hero/body.png, hero/hair.png, ... (a flat folder) or hero/body/<one sheet>.png, hero/hair/<one sheet>.png, ...


def _images_in(folder: Path) -> List[Path]:
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        ),
        key=lambda p: natural_key(p.name),
    )


def _layer_rank(stem: str) -> int:
    """Position of a layer file in the stack: by the first layer name its stem contains, unknown names last."""
    lowered = stem.lower()
    for i, layer in enumerate(LAYER_ORDER):
        if layer in lowered:
            return i
    return len(LAYER_ORDER)


def layer_folder_files(folder: PathLike) -> Optional[List[Path]]:
    """The layer sheets of one character's layer folder, bottom to top; ``None`` if ``folder`` is not one.

    A layer folder either has layer-named subfolders (``body/`` required) holding one sheet each, or holds only
    LPC-sized sheets (832 wide, at least 1344 tall), stacked by the layer name in each file name (:data:`LAYER_ORDER`;
    files naming no layer go on top, in natural order). Raises :class:`MotionmapError` for a layer subfolder
    holding several sheets (a library such as ``../shared/data/lpc``, which :class:`LpcLayers` reads instead).
    """
    folder = Path(folder)
    if (folder / "body").is_dir():
        files = []
        for layer in LAYER_ORDER:
            sub = folder / layer
            if not sub.is_dir():
                continue
            found = _images_in(sub)
            if len(found) > 1:
                names = ", ".join(p.name for p in found[:5]) + (", ..." if len(found) > 5 else "")
                raise MotionmapError(
                    f"{sub}: has {len(found)} layer sheets ({names}), expected one per layer for a single character; "
                    "compose characters from a layer library with `motionmap data lpc --layers` instead"
                )
            files.extend(found)
        if not files:
            raise MotionmapError(f"{folder}: its layer subfolders hold no PNG sheets; put one sheet in each")
        return files
    images = _images_in(folder)
    if not images:
        return None
    for p in images:
        width, height = check_image_file(p)
        if not is_lpc_size(width, height):
            return None
    return sorted(images, key=lambda p: (_layer_rank(p.stem), natural_key(p.name)))


def compose_layer_folder(folder: PathLike) -> np.ndarray:
    """Compose one character's layer folder (see :func:`layer_folder_files`) into ``uint8 [1344,832,4]``."""
    files = layer_folder_files(folder)
    if files is None:
        raise MotionmapError(
            f"{folder}: not a folder of LPC layer sheets; give body/, hair/... subfolders or 832x1344 layer PNGs"
        )
    return compose_layers([load_layer_sheet(p) for p in files])
