"""What a synthetic character looks like: proportions, colours and style choices, and seeded sampling of them.

A :class:`CharacterSpec` is pure data (ints, strings and RGB triples), so it round-trips through JSON and a dataset
manifest can store exactly which character a sheet shows. Lengths are in pixels of a 64x64 frame; the ranges that
:func:`sample_character` draws from keep a standing character 40-50 px tall, like an LPC sprite.
"""

from __future__ import annotations

import colorsys
from dataclasses import asdict, dataclass, fields
from typing import Dict, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError

RGB = Tuple[int, int, int]

HAIR_STYLES: Tuple[str, ...] = ("short", "long", "spiky", "bald", "ponytail")
HATS: Tuple[str, ...] = ("none", "cap", "wizard", "helmet")
SLEEVES: Tuple[str, ...] = ("short", "long")
BOTTOMS: Tuple[str, ...] = ("trousers", "shorts", "skirt")
WEAPONS: Tuple[str, ...] = ("sword", "stick", "axe", "none")

# Palettes to draw from. Natural skin and hair tones dominate; a few fantasy ones (green, blue, pink) add variety.
SKIN_TONES: Tuple[RGB, ...] = (
    (255, 220, 177), (241, 194, 140), (224, 172, 115), (198, 134, 80), (160, 102, 60), (112, 72, 46),
    (250, 205, 190), (150, 196, 120), (150, 170, 220),
)
SKIN_WEIGHTS = (0.15, 0.16, 0.15, 0.13, 0.12, 0.11, 0.1, 0.04, 0.04)
HAIR_COLOURS: Tuple[RGB, ...] = (
    (44, 34, 40), (86, 54, 34), (128, 80, 44), (232, 200, 112), (184, 72, 40), (214, 120, 52), (170, 170, 178),
    (236, 236, 240), (72, 112, 204), (228, 118, 170), (84, 160, 92), (130, 80, 170),
)
SHOE_COLOURS: Tuple[RGB, ...] = ((60, 40, 30), (40, 36, 44), (110, 70, 40), (90, 90, 100), (140, 40, 40))
EYE_COLOURS: Tuple[RGB, ...] = ((30, 30, 48), (40, 90, 170), (50, 120, 60), (96, 60, 30))


@dataclass(frozen=True)
class CharacterSpec:
    """One synthetic character. Lengths in pixels (64x64 frame), colours as ``(r, g, b)`` ints in [0, 255].

    Proportions: ``head_w``/``head_h`` (head ellipse), ``neck``, ``torso`` (pelvis to shoulder line),
    ``shoulder_w``/``hip_w`` (full widths seen from the front), ``upper_arm``/``lower_arm``/``arm_w``,
    ``upper_leg``/``lower_leg``/``leg_w``, ``foot`` (shoe length seen from the side).
    Styles: ``hair_style`` in :data:`HAIR_STYLES`, ``hat`` in :data:`HATS`, ``sleeves`` in :data:`SLEEVES`,
    ``bottom`` in :data:`BOTTOMS`, ``weapon`` in :data:`WEAPONS` (held in the attack), ``belt``.
    """

    head_w: int = 16
    head_h: int = 15
    neck: int = 1
    torso: int = 12
    shoulder_w: int = 16
    hip_w: int = 13
    upper_arm: int = 7
    lower_arm: int = 6
    arm_w: int = 4
    upper_leg: int = 8
    lower_leg: int = 7
    leg_w: int = 5
    foot: int = 5
    skin: RGB = (241, 194, 140)
    hair: RGB = (86, 54, 34)
    eyes: RGB = (30, 30, 48)
    shirt: RGB = (60, 110, 180)
    trousers: RGB = (70, 60, 50)
    shoes: RGB = (60, 40, 30)
    hat_colour: RGB = (160, 40, 40)
    outline: RGB = (24, 18, 28)
    hair_style: str = "short"
    hat: str = "none"
    sleeves: str = "short"
    bottom: str = "trousers"
    weapon: str = "sword"
    belt: bool = True

    def __post_init__(self) -> None:
        for name, choices in (("hair_style", HAIR_STYLES), ("hat", HATS), ("sleeves", SLEEVES),
                              ("bottom", BOTTOMS), ("weapon", WEAPONS)):
            value = getattr(self, name)
            if value not in choices:
                raise MotionmapError(f"character {name}={value!r} is unknown; use one of: {', '.join(choices)}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int",) and not (isinstance(value, (int, np.integer)) and 0 <= value <= 40):
                raise MotionmapError(f"character {f.name}={value!r} is not a length in pixels; use an int in 0..40")
            if f.type == "RGB" and not (len(value) == 3 and all(0 <= int(c) <= 255 for c in value)):
                raise MotionmapError(f"character {f.name}={value!r} is not a colour; use three ints in 0..255")

    @property
    def height(self) -> int:
        """Standing height in pixels, sole to crown (without a hat)."""
        return self.upper_leg + self.lower_leg + self.leg_w // 2 + self.torso + self.neck + self.head_h - 2

    def to_json(self) -> Dict[str, object]:
        """A JSON-ready dict (colours become lists)."""
        d = asdict(self)
        for f in fields(self):
            if f.type == "RGB":
                d[f.name] = [int(c) for c in d[f.name]]
        return d

    @staticmethod
    def from_json(d: Dict[str, object]) -> "CharacterSpec":
        """Inverse of :meth:`to_json`; unknown or missing keys raise :class:`MotionmapError`."""
        if not isinstance(d, dict):
            raise MotionmapError(f"character spec {d!r} is not a JSON object; give the dict from CharacterSpec.to_json")
        names = {f.name: f for f in fields(CharacterSpec)}
        unknown = sorted(set(d) - set(names))
        missing = sorted(set(names) - set(d))
        if unknown or missing:
            raise MotionmapError(
                f"character spec has unknown keys {unknown} and lacks {missing}; "
                "give the dict from CharacterSpec.to_json"
            )
        kwargs = {}
        for name, f in names.items():
            value = d[name]
            try:
                if f.type == "RGB":
                    kwargs[name] = tuple(int(c) for c in value)  # type: ignore[union-attr]
                elif f.type == "int":
                    kwargs[name] = int(value)  # type: ignore[arg-type]
                elif f.type == "bool":
                    kwargs[name] = bool(value)
                else:
                    kwargs[name] = str(value)
            except (TypeError, ValueError):
                raise MotionmapError(f"character spec {name}={value!r} has the wrong type; expected {f.type}") from None
        return CharacterSpec(**kwargs)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


def _pick(rng: np.random.Generator, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def sample_character(seed_or_rng: Union[int, np.random.Generator]) -> CharacterSpec:
    """A random character, the same for the same seed (an int, or a ``numpy.random.Generator`` to draw from).

    Body types range from short and stocky to tall and slim; standing height stays in 40-50 px.
    """
    if isinstance(seed_or_rng, np.random.Generator):
        rng = seed_or_rng
    elif isinstance(seed_or_rng, (int, np.integer)) and not isinstance(seed_or_rng, bool) and seed_or_rng >= 0:
        rng = np.random.default_rng(int(seed_or_rng))
    else:
        raise MotionmapError(f"character seed {seed_or_rng!r} is not usable; give an int >= 0 or a numpy Generator")

    def r(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    stocky = rng.random() < 0.3
    head_w, head_h = r(15, 18), r(14, 17)
    torso = r(10, 13)
    shoulder_w = r(17, 20) if stocky else r(14, 18)
    hip_w = max(11, shoulder_w - r(2, 4))
    arm_w = 5 if stocky else (4 if rng.random() < 0.8 else 3)
    leg_w = 6 if stocky else (5 if rng.random() < 0.75 else 4)
    upper_leg, lower_leg = r(6, 9), r(5, 8)
    neck = r(0, 1)
    # Keep the standing height in 40..50 px so hats and jumps stay inside the 64x64 frame.
    while upper_leg + lower_leg + leg_w // 2 + torso + neck + head_h - 2 > 50:
        if upper_leg >= lower_leg:
            upper_leg -= 1
        else:
            lower_leg -= 1
    while upper_leg + lower_leg + leg_w // 2 + torso + neck + head_h - 2 < 40:
        upper_leg += 1

    hue = rng.random()
    shirt = _hsv(hue, rng.uniform(0.35, 0.85), rng.uniform(0.45, 0.92))
    trousers = _hsv(hue + rng.uniform(0.25, 0.75), rng.uniform(0.2, 0.7), rng.uniform(0.25, 0.6))
    hat_colour = _hsv(rng.random(), rng.uniform(0.4, 0.9), rng.uniform(0.35, 0.85))
    outline = _hsv(rng.random(), rng.uniform(0.2, 0.5), rng.uniform(0.08, 0.14))
    hair_style = _pick(rng, HAIR_STYLES, p=[0.3, 0.22, 0.18, 0.1, 0.2])
    hat = _pick(rng, HATS, p=[0.55, 0.15, 0.15, 0.15])
    return CharacterSpec(
        head_w=head_w, head_h=head_h, neck=neck, torso=torso, shoulder_w=shoulder_w, hip_w=hip_w,
        upper_arm=r(6, 8), lower_arm=r(5, 7), arm_w=arm_w, upper_leg=upper_leg, lower_leg=lower_leg, leg_w=leg_w,
        foot=r(4, 6),
        skin=_pick(rng, SKIN_TONES, p=SKIN_WEIGHTS), hair=_pick(rng, HAIR_COLOURS), eyes=_pick(rng, EYE_COLOURS),
        shirt=shirt, trousers=trousers, shoes=_pick(rng, SHOE_COLOURS), hat_colour=hat_colour, outline=outline,
        hair_style=hair_style, hat=hat, sleeves=_pick(rng, SLEEVES), bottom=_pick(rng, BOTTOMS, p=[0.55, 0.2, 0.25]),
        weapon=_pick(rng, WEAPONS, p=[0.4, 0.25, 0.2, 0.15]), belt=bool(rng.random() < 0.6),
    )
