"""Compose characters from a Universal LPC layer tree (nested folders, two body types).

The Universal LPC Spritesheet keeps its layers in nested folders named by what they are and by body type::

    body/male/light.png            body/female/eyes/blue.png        legs/pants/female/teal_pants_female.png
    hair/male/STYLE/COLOUR.png     torso/chain/mail_female.png      torso/leather/shoulders_male.png
    head/caps/male/leather_cap_male.png   feet/shoes/female/black_shoes_female.png

Every sheet is 832x1344 in the classic LPC layout (:data:`motionmap.layout.LPC_LAYOUT`). A character uses the layers
of one body type. The body type of a file is the first path part (or the ``_male``/``_female`` end of its stem) that
names one. Slots, bottom to top (:data:`SLOT_ORDER`): body, eyes, legs, feet, torso, shoulders, hair, head; torso
holds shirts, tunics, chain mail and leather chests, shoulders the leather shoulder pieces (drawn after the chest).

A character is a :class:`UlpcRecipe`: its body type and the tree-relative path of the sheet in each slot.

Held-out looks (:data:`HELD_OUT`): some hair styles, some outfits and one skin tone never occur in training sets;
benchmark targets (``motionmap eval --set ulpc``) wear at least one of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.names import natural_key
from motionmap.lpc import check_held_out_mode, compose_layers, draw_distinct, load_layer_sheet

PathLike = Union[str, "os.PathLike[str]"]

BODY_TYPES: Tuple[str, ...] = ("male", "female")

# Bottom to top, as the Universal LPC generator draws them.
SLOT_ORDER: Tuple[str, ...] = ("body", "eyes", "legs", "feet", "torso", "shoulders", "hair", "head")
REQUIRED_SLOTS: Tuple[str, ...] = ("body", "hair")

# Chance that a sampled character wears each optional slot (given that its body type has options there).
SLOT_PROBABILITY: Dict[str, float] = {"eyes": 0.7, "legs": 0.85, "feet": 0.6, "torso": 0.85, "shoulders": 0.25,
                                      "head": 0.2}

# Never in training data; every benchmark target wears at least one. Matched against path parts and file stems.
HELD_OUT: Dict[str, Tuple[str, ...]] = {
    "hair": ("bedhead", "longhawk", "pixie", "shoulderl"),  # hair styles (folder names)
    "torso": ("chain", "tunics"),                          # outfits: chain mail, tunics
    "body": ("dark2",),                                    # a skin tone
}


def is_ulpc_tree(root: PathLike) -> bool:
    """True if ``root`` looks like a Universal LPC tree (``body/male`` or ``body/female`` subfolders)."""
    root = Path(root)
    return any((root / "body" / t).is_dir() for t in BODY_TYPES)


def _body_type(rel: PurePosixPath) -> Optional[str]:
    for part in rel.parts[:-1]:
        if part in BODY_TYPES:
            return part
    stem = rel.stem.lower()
    for t in BODY_TYPES:
        if stem.endswith("_" + t) or stem.endswith("-" + t):
            return t
    return None


def _slot(rel: PurePosixPath) -> Optional[str]:
    top = rel.parts[0]
    if top == "body":
        return "eyes" if "eyes" in rel.parts else "body"
    if top == "torso":
        return "shoulders" if "shoulders" in rel.stem else "torso"
    return {"legs": "legs", "feet": "feet", "hair": "hair", "head": "head"}.get(top)


@dataclass(frozen=True)
class UlpcRecipe:
    """One Universal LPC character: a body type and, per slot, a tree-relative sheet path (``None``: not worn)."""

    body_type: str
    body: str
    hair: str
    eyes: Optional[str] = None
    legs: Optional[str] = None
    feet: Optional[str] = None
    torso: Optional[str] = None
    shoulders: Optional[str] = None
    head: Optional[str] = None

    def layers(self) -> List[Tuple[str, str]]:
        """``(slot, path)`` pairs bottom to top, skipping slots not worn."""
        return [(s, getattr(self, s)) for s in SLOT_ORDER if getattr(self, s) is not None]

    def wears_held_out(self) -> bool:
        for slot, names in HELD_OUT.items():
            path = getattr(self, slot)
            if path is not None:
                rel = PurePosixPath(path)
                if any(n in rel.parts or n == rel.stem for n in names):
                    return True
        return False

    def hair_style(self) -> str:
        parts = PurePosixPath(self.hair).parts
        return parts[-2] if len(parts) >= 2 else PurePosixPath(self.hair).stem

    def to_json(self) -> dict:
        d = {"kind": "ulpc", "body_type": self.body_type}
        d.update({s: getattr(self, s) for s in SLOT_ORDER})
        return d

    @staticmethod
    def from_json(d: Mapping) -> "UlpcRecipe":
        if d.get("body_type") not in BODY_TYPES or not d.get("body") or not d.get("hair"):
            raise MotionmapError(f"Universal LPC recipe {dict(d)!r}: needs body_type (male/female), body and hair")
        return UlpcRecipe(body_type=str(d["body_type"]), **{s: d.get(s) for s in SLOT_ORDER})


class UlpcLayers:
    """A Universal LPC layer tree: ``options[body_type][slot]`` lists tree-relative sheet paths (natural order).

    Raises :class:`MotionmapError` when the folder is missing or a body type lacks bodies or hair. Decoded sheets
    are cached (about 4.5 MB each).
    """

    def __init__(self, root: PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise MotionmapError(f"{root}: no such folder; give the Universal LPC tree (body/male, hair/female, ...)")
        self.options: Dict[str, Dict[str, List[str]]] = {t: {s: [] for s in SLOT_ORDER} for t in BODY_TYPES}
        for path in sorted(self.root.rglob("*.png"), key=lambda p: natural_key(str(p))):
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                continue
            rel = PurePosixPath(path.relative_to(self.root).as_posix())
            slot, body_type = _slot(rel), _body_type(rel)
            if slot is None or body_type is None:
                continue
            self.options[body_type][slot].append(str(rel))
        self.body_types = tuple(t for t in BODY_TYPES if all(self.options[t][s] for s in REQUIRED_SLOTS))
        if not self.body_types:
            raise MotionmapError(
                f"{root}: found no body type with both body sheets and hair sheets; expected body/male/*.png and "
                "hair/male/STYLE/*.png (or the same for female)"
            )
        self._cache: Dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        counts = "; ".join(
            f"{t}: " + ", ".join(f"{s}={len(v)}" for s, v in self.options[t].items()) for t in self.body_types
        )
        return f"UlpcLayers({str(self.root)!r}: {counts})"

    def sheet(self, rel: str) -> np.ndarray:
        """The decoded sheet ``uint8 [1344,832,4]`` at tree-relative path ``rel`` (cached; do not modify)."""
        if rel not in self._cache:
            path = self.root / rel
            if not path.is_file():
                raise MotionmapError(f"{path}: no such layer sheet in {self.root}")
            self._cache[rel] = load_layer_sheet(path)
        return self._cache[rel]


def compose_ulpc_character(layers: UlpcLayers, recipe: UlpcRecipe) -> np.ndarray:
    """Render ``recipe`` as an LPC sheet ``uint8 [1344,832,4]`` (its layers composited in :data:`SLOT_ORDER`)."""
    return compose_layers([layers.sheet(rel) for _, rel in recipe.layers()])


def _draw(layers: UlpcLayers, rng: np.random.Generator, body_type: str) -> UlpcRecipe:
    opts = layers.options[body_type]
    picks: Dict[str, Optional[str]] = {}
    for slot in SLOT_ORDER:
        choices = opts[slot]
        if not choices:
            picks[slot] = None
            continue
        worn = slot in REQUIRED_SLOTS or rng.random() < SLOT_PROBABILITY.get(slot, 0.5)
        picks[slot] = choices[int(rng.integers(len(choices)))] if worn else None
    return UlpcRecipe(body_type=body_type, **picks)  # type: ignore[arg-type]


def sample_ulpc_recipes(
    layers: UlpcLayers, n: int, seed: int, held_out: str = "exclude", body_types: Optional[Tuple[str, ...]] = None
) -> List[UlpcRecipe]:
    """Draw ``n`` distinct characters, alternating body types, deterministically for ``seed``.

    ``held_out``: ``"exclude"`` (training: no :data:`HELD_OUT` look), ``"require"`` (benchmark targets: at least one),
    ``"allow"``. ``body_types`` restricts the types (default: every type the tree has).
    """
    check_held_out_mode(held_out)
    types = tuple(body_types or layers.body_types)
    missing = [t for t in types if t not in layers.body_types]
    if missing:
        raise MotionmapError(f"{layers.root}: has no {', '.join(missing)} body type; it has {layers.body_types}")
    rng = np.random.default_rng(seed)
    return draw_distinct(lambda k: _draw(layers, rng, types[k % len(types)]), n, held_out, layers.root,
                         tries=2000 * (n + 1))
