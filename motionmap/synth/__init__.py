"""The synthetic sprite generator: our own pixel-art characters, the embedded default data (no download needed).

Articulated 64x64 characters (head, torso, arms and legs with elbows and knees) of varied proportions, colours,
clothes and hair perform walk, run, jump, cast and attack in four facings::

    from motionmap.synth import sample_character, render_animation, render_sheet
    spec = sample_character(7)                       # the same character for the same seed
    frames = render_animation(spec, "walk", "left")  # uint8 [8, 64, 64, 4], alpha 0 or 255
    sheet = render_sheet(spec)                       # uint8 [1280, 512, 4] laid out per SYNTH_LAYOUT
"""

from motionmap.synth.actions import SYNTH_ACTIONS, SYNTH_LAYOUT, WEAPON_ACTIONS, action_names, action_poses
from motionmap.synth.character import (
    BOTTOMS,
    HAIR_STYLES,
    HATS,
    SLEEVES,
    WEAPONS,
    CharacterSpec,
    sample_character,
)
from motionmap.synth.render import character_palette, render_animation, render_pose, render_sheet
from motionmap.synth.skeleton import Pose

__all__ = [
    "SYNTH_ACTIONS",
    "SYNTH_LAYOUT",
    "WEAPON_ACTIONS",
    "action_names",
    "action_poses",
    "CharacterSpec",
    "sample_character",
    "HAIR_STYLES",
    "HATS",
    "SLEEVES",
    "BOTTOMS",
    "WEAPONS",
    "Pose",
    "render_pose",
    "render_animation",
    "render_sheet",
    "character_palette",
]
