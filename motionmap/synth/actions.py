"""Keyframed actions: the poses of every frame of walk, run, jump, cast and attack, and the sheet layout they fill.

Cyclic actions (walk, run) are written as functions of the gait phase; one-shot actions (jump, cast, attack) as a
few keyframes, one per frame, written by hand like a sprite artist's key poses. The pelvis height is not keyframed:
:func:`motionmap.synth.skeleton.project` keeps the lowest sole on the ground, so bending a knee lowers the body by
itself (the bob of a walk, the crouch before a jump) and ``lift`` only adds flight.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

from motionmap.errors import MotionmapError
from motionmap.layout import SheetLayout, four_facing_rows
from motionmap.synth.skeleton import Pose

SYNTH_ACTIONS: Tuple[Tuple[str, int], ...] = (
    ("walk", 8),
    ("run", 8),
    ("jump", 8),
    ("cast", 7),
    ("attack", 6),
)

#: 64x64 frames, 8 columns, 20 rows: each action in SYNTH_ACTIONS seen from up, left, down, right (FACINGS order).
SYNTH_LAYOUT = SheetLayout(
    frame_width=64,
    frame_height=64,
    columns=max(n for _, n in SYNTH_ACTIONS),
    rows=four_facing_rows(SYNTH_ACTIONS),
)

#: Actions in which the character holds its weapon.
WEAPON_ACTIONS = frozenset({"attack"})


def _walk(n: int) -> Tuple[Pose, ...]:
    poses = []
    for i in range(n):
        ph = 2 * math.pi * i / n
        s, c = math.sin(ph), math.cos(ph)
        poses.append(Pose(
            leg_swing_r=28 * s, leg_swing_l=-28 * s,
            # A leg bends its knee while it swings forward (cos > 0 for the right leg), and is straight in stance.
            knee_r=6 + 42 * max(0.0, c), knee_l=6 + 42 * max(0.0, -c),
            arm_swing_r=-24 * s, arm_swing_l=24 * s,
            elbow_r=12 + 14 * max(0.0, -s), elbow_l=12 + 14 * max(0.0, s),
            lean=3.0,
        ))
    return tuple(poses)


def _run(n: int) -> Tuple[Pose, ...]:
    poses = []
    for i in range(n):
        ph = 2 * math.pi * i / n
        s, c = math.sin(ph), math.cos(ph)
        poses.append(Pose(
            leg_swing_r=12 + 40 * s, leg_swing_l=12 - 40 * s,
            knee_r=18 + 72 * max(0.0, c), knee_l=18 + 72 * max(0.0, -c),
            arm_swing_r=-5 - 48 * s, arm_swing_l=-5 + 48 * s,
            arm_raise_r=8.0, arm_raise_l=8.0,
            elbow_r=75.0, elbow_l=75.0,
            lean=12.0,
            lift=2.5 * max(0.0, math.sin(2 * ph)),
        ))
    return tuple(poses)


def _both_arms(swing: float, rais: float, elbow: float, **kw: float) -> Pose:
    return Pose(arm_swing_r=swing, arm_swing_l=swing, arm_raise_r=rais, arm_raise_l=rais,
                elbow_r=elbow, elbow_l=elbow, **kw)


def _both_legs(pose: Pose, swing: float, knee: float, spread: float = 0.0) -> Pose:
    return pose.replace(leg_swing_r=swing, leg_swing_l=swing, knee_r=knee, knee_l=knee,
                        leg_raise_r=spread, leg_raise_l=spread)


def _jump(n: int) -> Tuple[Pose, ...]:
    keys = (
        _both_legs(_both_arms(-8, 8, 12), 4, 6),                                   # stand
        _both_legs(_both_arms(-45, 10, 25, lean=16), 40, 78),                      # crouch, arms back
        _both_legs(_both_arms(118, 22, 10, lift=3), 0, 4),                         # take-off, arms swing up
        _both_legs(_both_arms(128, 30, 8, lift=7), 35, 65, spread=4),              # rising, knees tucked
        _both_legs(_both_arms(134, 38, 6, lift=9), 45, 80, spread=6),              # apex
        _both_legs(_both_arms(105, 24, 10, lift=5), 18, 30, spread=3),             # falling, legs reach down
        _both_legs(_both_arms(30, 14, 25, lean=12), 38, 74),                       # landing crouch
        _both_legs(_both_arms(0, 8, 14, lean=3), 12, 20),                          # recover
    )
    return _stretch(keys, n)


def _cast(n: int) -> Tuple[Pose, ...]:
    stance = dict(leg_swing_r=12.0, leg_swing_l=-10.0, knee_r=6.0, knee_l=2.0)
    keys = (
        Pose(),
        _both_arms(50, 12, 45, **stance),                       # hands come together in front
        _both_arms(100, 24, 30, lean=-2, **stance),             # arms rise
        _both_arms(125, 34, 12, lean=-5, lift=1, **stance),     # arms up, gathering power
        _both_arms(132, 44, 6, lean=-5, lift=1, **stance),      # fully raised
        _both_arms(85, 12, 0, lean=8, **stance),                # release: arms thrust forward
        _both_arms(35, 8, 25, lean=3, **stance),                # settle
    )
    return _stretch(keys, n)


def _attack(n: int) -> Tuple[Pose, ...]:
    keys = (
        Pose(arm_swing_r=30, arm_raise_r=10, elbow_r=55, weapon=70, weapon_out=30, arm_swing_l=-8),     # ready
        Pose(arm_swing_r=150, arm_raise_r=35, elbow_r=35, weapon=85, weapon_out=20,                     # wind-up
             arm_swing_l=25, elbow_l=40, lean=-6, leg_swing_r=-14, leg_swing_l=14, knee_l=8),
        Pose(arm_swing_r=170, arm_raise_r=30, elbow_r=40, weapon=100, weapon_out=0,                     # top
             arm_swing_l=30, elbow_l=50, lean=-4, leg_swing_r=-14, leg_swing_l=16, knee_l=10),
        Pose(arm_swing_r=95, arm_raise_r=-10, elbow_r=0, weapon=-10, weapon_out=-45,                    # strike
             arm_swing_l=-20, elbow_l=30, lean=12, leg_swing_r=-20, leg_swing_l=28, knee_l=25),
        Pose(arm_swing_r=15, arm_raise_r=22, elbow_r=5, weapon=25, weapon_out=-35,                     # follow through
             arm_swing_l=-35, elbow_l=20, lean=15, leg_swing_r=-20, leg_swing_l=28, knee_l=28),
        Pose(arm_swing_r=30, arm_raise_r=10, elbow_r=45, weapon=65, weapon_out=30,                      # recover
             arm_swing_l=-10, lean=4, leg_swing_r=-6, leg_swing_l=8),
    )
    return _stretch(keys, n)


def _stretch(keys: Tuple[Pose, ...], n: int) -> Tuple[Pose, ...]:
    """``n`` poses sampled evenly along the keyframes (the keys themselves when ``n == len(keys)``)."""
    if n == len(keys):
        return keys
    out = []
    for i in range(n):
        u = i * (len(keys) - 1) / max(n - 1, 1)
        k = min(int(u), len(keys) - 2)
        out.append(keys[k].lerp(keys[k + 1], u - k))
    return tuple(out)


_BUILDERS: Dict[str, Callable[[int], Tuple[Pose, ...]]] = {
    "walk": _walk, "run": _run, "jump": _jump, "cast": _cast, "attack": _attack,
}


def action_names() -> Tuple[str, ...]:
    return tuple(name for name, _ in SYNTH_ACTIONS)


def action_poses(action: str, frames: int = 0) -> Tuple[Pose, ...]:
    """The poses of ``action``, one per frame; ``frames`` defaults to the count in :data:`SYNTH_ACTIONS`."""
    if action not in _BUILDERS:
        raise MotionmapError(f"unknown synthetic action {action!r}; choose one of: {', '.join(action_names())}")
    n = frames or dict(SYNTH_ACTIONS)[action]
    if n < 1:
        raise MotionmapError(f"frame count {frames!r} for action {action!r} is not positive; give at least 1")
    return _BUILDERS[action](n)
