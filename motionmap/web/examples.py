"""Built-in examples for the demo page: synthetic characters (our own art, :mod:`motionmap.synth`), no download.

A source example is one character performing one action from one facing; a target example is another character
drawn in the first pose of that same action and facing (the pose the model expects the target in).

>>> anim = example_animation("synth-1", "walk", "left")
>>> anim.frames.shape, anim.durations_ms[0]
((8, 64, 64, 4), 100)
>>> example_target("synth-2", "walk", "left").shape
(64, 64, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Tuple

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.animation import DEFAULT_DURATION_MS, Animation
from motionmap.layout import FACINGS
from motionmap.synth import SYNTH_ACTIONS, action_names, render_animation, sample_character


@dataclass(frozen=True)
class ExampleCharacter:
    """A named synthetic character: ``motionmap.synth.sample_character(seed)``."""

    id: str
    name: str
    seed: int


# Seeds picked by eye for variety (hats, hair, clothes, weapons); the same seed always draws the same character.
EXAMPLE_CHARACTERS: Tuple[ExampleCharacter, ...] = (
    ExampleCharacter("synth-1", "Wizard with a sword", 1),
    ExampleCharacter("synth-0", "Long hair, skirt", 0),
    ExampleCharacter("synth-2", "Spiky hair", 2),
    ExampleCharacter("synth-3", "Cap and stick", 3),
    ExampleCharacter("synth-4", "White-haired wizard", 4),
    ExampleCharacter("synth-7", "Ponytail", 7),
)


def _character(character_id: str) -> ExampleCharacter:
    for c in EXAMPLE_CHARACTERS:
        if c.id == character_id:
            return c
    choices = ", ".join(c.id for c in EXAMPLE_CHARACTERS)
    raise MotionmapError(f"example character {character_id!r}: unknown; choose one of {choices}")


def _check_action_facing(action: str, facing: str) -> None:
    if action not in action_names():
        raise MotionmapError(f"example action {action!r}: unknown; choose one of {', '.join(action_names())}")
    if facing not in FACINGS:
        raise MotionmapError(f"example facing {facing!r}: unknown; choose one of {', '.join(FACINGS)}")


@lru_cache(maxsize=64)
def _render(seed: int, action: str, facing: str) -> np.ndarray:
    frames = render_animation(sample_character(seed), action, facing)
    frames.setflags(write=False)  # shared by every request through the cache
    return frames


def example_animation(character_id: str, action: str, facing: str) -> Animation:
    """``character_id`` performing ``action`` seen from ``facing``: frames ``uint8 [T,64,64,4]`` (transparent
    background), 100 ms per frame. Unknown names raise :class:`MotionmapError` listing the choices."""
    _check_action_facing(action, facing)
    c = _character(character_id)
    return Animation.uniform(np.array(_render(c.seed, action, facing)), DEFAULT_DURATION_MS)


def example_target(character_id: str, action: str = "walk", facing: str = "down") -> np.ndarray:
    """``character_id`` in the first pose of ``action`` from ``facing``: ``uint8 [64,64,4]``."""
    _check_action_facing(action, facing)
    c = _character(character_id)
    return np.array(_render(c.seed, action, facing)[0])


def example_catalog() -> Dict[str, List[dict]]:
    """What the page's example pickers list: characters, actions (with frame counts) and facings."""
    return {
        "characters": [{"id": c.id, "name": c.name} for c in EXAMPLE_CHARACTERS],
        "actions": [{"name": name, "frames": n} for name, n in SYNTH_ACTIONS],
        "facings": list(FACINGS),
    }
