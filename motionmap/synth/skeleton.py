"""The articulated body: joint angles (a :class:`Pose`), forward kinematics in 3D, and projection to a facing.

The body is a small 3D stick figure so that one pose gives consistent pictures from all four facings: a leg that
swings forward is a diagonal line seen from the side and a shortened one seen from the front. Coordinates are in
pixels: ``x`` towards the character's right, ``y`` down, ``z`` forward (where the character looks), origin at the
pelvis. Projection is orthographic:

==========  ===========  ===============================================================
facing      screen x     depth (larger = nearer the viewer, drawn later)
==========  ===========  ===============================================================
``down``    ``-x``       ``z``   (front view: the character looks at the viewer)
``up``      ``x``        ``-z``  (back view)
``right``   ``z``        ``x``   (profile; the character's right side is the near side)
``left``    ``-z``       ``x``   (the mirror image of ``right``)
==========  ===========  ===============================================================

Both profiles show the right side near, as sprite sheets usually mirror one profile into the other; so the weapon
hand is always the visible one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Dict

import numpy as np

from motionmap.synth.character import CharacterSpec

SIDES = ("r", "l")


@dataclass(frozen=True)
class Pose:
    """Joint angles in degrees, plus whole-body offsets in pixels.

    ``arm_*``/``leg_*`` ``swing`` rotates a limb forward (+) or back (-) about the shoulder/hip (180 = arm straight
    up); ``raise`` lifts it sideways away from the body; ``elbow_*`` bends the forearm forward, ``knee_*`` bends the
    shin backward. ``lean`` tilts the torso forward about the pelvis. ``lift`` raises the whole body above the ground
    (jumps); ``weapon`` is the angle of a held weapon relative to the forearm, in the swing plane, and
    ``weapon_out`` tilts it sideways (negative: across the body), so a slash reads from the front too.
    """

    arm_swing_r: float = 0.0
    arm_swing_l: float = 0.0
    arm_raise_r: float = 6.0
    arm_raise_l: float = 6.0
    elbow_r: float = 10.0
    elbow_l: float = 10.0
    leg_swing_r: float = 0.0
    leg_swing_l: float = 0.0
    leg_raise_r: float = 0.0
    leg_raise_l: float = 0.0
    knee_r: float = 0.0
    knee_l: float = 0.0
    lean: float = 0.0
    lift: float = 0.0
    weapon: float = 90.0
    weapon_out: float = 0.0

    def lerp(self, other: "Pose", t: float) -> "Pose":
        """The pose a fraction ``t`` in [0, 1] of the way from ``self`` to ``other``."""
        return Pose(**{f.name: (1 - t) * getattr(self, f.name) + t * getattr(other, f.name) for f in fields(Pose)})

    def replace(self, **changes: float) -> "Pose":
        d = {f.name: getattr(self, f.name) for f in fields(Pose)}
        d.update(changes)
        return Pose(**d)


def limb_direction(swing_deg: float, raise_deg: float, side: float) -> np.ndarray:
    """Unit vector of a limb hanging straight down, swung forward by ``swing`` then raised sideways by ``raise``.

    ``side`` is +1 for the right limbs, -1 for the left. Returns float64 ``[3]`` (x, y, z).
    """
    a, b = math.radians(swing_deg), math.radians(raise_deg)
    return np.array([side * math.sin(b), math.cos(b) * math.cos(a), math.cos(b) * math.sin(a)])


@dataclass(frozen=True)
class Joints:
    """3D joint positions (float64 ``[3]`` each, pixels, pelvis at the origin before :func:`ground`).

    ``points`` maps names to positions: pelvis, chest (middle of the shoulder line), neck_top, head (centre),
    shoulder_r/l, elbow_r/l, hand_r/l, weapon_tip, hip_r/l, knee_r/l, ankle_r/l, toe_r/l.
    """

    points: Dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.points[name]


def forward_kinematics(spec: CharacterSpec, pose: Pose) -> Joints:
    """Joint positions of ``spec`` in ``pose``, relative to the pelvis (no ground contact yet)."""
    lean = math.radians(pose.lean)
    up = np.array([0.0, -math.cos(lean), math.sin(lean)])  # torso axis, pelvis -> chest
    p: Dict[str, np.ndarray] = {"pelvis": np.zeros(3)}
    p["chest"] = p["pelvis"] + spec.torso * up
    p["neck_top"] = p["chest"] + spec.neck * up
    # The chin overlaps the shoulders a little, as in LPC sprites (no long neck).
    p["head"] = p["neck_top"] + (spec.head_h / 2.0 - 2.0) * up
    shoulder_x = spec.shoulder_w / 2.0 - spec.arm_w / 2.0
    hip_x = max(spec.hip_w / 2.0 - spec.leg_w / 2.0, spec.leg_w / 2.0 - 0.5)
    for s, side in zip(SIDES, (1.0, -1.0)):
        swing, rais = getattr(pose, f"arm_swing_{s}"), getattr(pose, f"arm_raise_{s}")
        elbow = getattr(pose, f"elbow_{s}")
        # The shoulder joint sits just below the shoulder line, so the arm's top is flush with it.
        p[f"shoulder_{s}"] = p["chest"] + np.array([side * shoulder_x, 0.0, 0.0]) - (spec.arm_w / 2.0) * up
        p[f"elbow_{s}"] = p[f"shoulder_{s}"] + spec.upper_arm * limb_direction(swing + pose.lean, rais, side)
        fore = limb_direction(swing + pose.lean + elbow, rais, side)
        p[f"hand_{s}"] = p[f"elbow_{s}"] + spec.lower_arm * fore
        if s == "r":
            blade = limb_direction(swing + pose.lean + elbow + pose.weapon, rais + pose.weapon_out, side)
            p["weapon_tip"] = p["hand_r"] + 11.0 * blade
        lswing, lraise = getattr(pose, f"leg_swing_{s}"), getattr(pose, f"leg_raise_{s}")
        knee = getattr(pose, f"knee_{s}")
        p[f"hip_{s}"] = np.array([side * hip_x, 0.0, 0.0])
        p[f"knee_{s}"] = p[f"hip_{s}"] + spec.upper_leg * limb_direction(lswing, lraise, side)
        p[f"ankle_{s}"] = p[f"knee_{s}"] + spec.lower_leg * limb_direction(lswing - knee, lraise, side)
        # The foot points forward, tipped down with the shin when the knee is bent far back (a kick-up in a run).
        tilt = math.radians(max(0.0, knee - lswing - 45.0) * 0.6)
        p[f"toe_{s}"] = p[f"ankle_{s}"] + (spec.foot - 1.5) * np.array([0.0, math.sin(tilt), math.cos(tilt)])
    return Joints(p)


GROUND_Y = 60.0  # screen row of the soles; LPC sprites stand on row ~61 of 64
CENTRE_X = 32.0


@dataclass(frozen=True)
class Projected:
    """Screen positions (float ``[2]``: x, y in pixels of the 64x64 frame) and depths of every joint."""

    xy: Dict[str, np.ndarray]
    depth: Dict[str, float]
    facing: str

    @property
    def side_sign(self) -> int:
        """+1 when the character faces screen-right, -1 facing left, 0 for the front and back views."""
        return {"right": 1, "left": -1}.get(self.facing, 0)


def project(spec: CharacterSpec, joints: Joints, facing: str, lift: float = 0.0) -> Projected:
    """Place ``joints`` on screen for ``facing``: soles on :data:`GROUND_Y`, body centred, raised by ``lift`` px."""
    sole = max(joints[f"ankle_{s}"][1] for s in SIDES) + spec.leg_w / 2.0
    dy = GROUND_Y - sole - lift
    xy: Dict[str, np.ndarray] = {}
    depth: Dict[str, float] = {}
    for name, (x, y, z) in joints.points.items():
        if facing == "down":
            sx, d = -x, z
        elif facing == "up":
            sx, d = x, -z
        elif facing == "right":
            sx, d = z, x
        elif facing == "left":
            sx, d = -z, x
        else:  # validated by callers; kept as a guard for direct use
            raise ValueError(f"facing {facing!r}")
        xy[name] = np.array([CENTRE_X + sx, y + dy])
        depth[name] = float(d)
    return Projected(xy, depth, facing)


def pose_frame(spec: CharacterSpec, pose: Pose, facing: str) -> Projected:
    """Forward kinematics, ground contact and projection in one step."""
    return project(spec, forward_kinematics(spec, pose), facing, pose.lift)

