"""Keyframed actions and the skeleton: the layout, frame counts, and that the motion is real (measured on joints)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.layout import FACINGS
from motionmap.synth import SYNTH_ACTIONS, SYNTH_LAYOUT, CharacterSpec, Pose, action_poses
from motionmap.synth.skeleton import GROUND_Y, SIDES, forward_kinematics, limb_direction, pose_frame

SPEC = CharacterSpec()


class TestLayout:
    def test_every_action_in_four_facings(self):
        assert SYNTH_LAYOUT.frame_width == SYNTH_LAYOUT.frame_height == 64
        names = [name for name, _ in SYNTH_ACTIONS]
        assert {"walk", "run", "jump", "cast", "attack"} <= set(names)
        for name, frames in SYNTH_ACTIONS:
            assert 6 <= frames <= 12
            assert SYNTH_LAYOUT.facings_of(name) == FACINGS
        assert SYNTH_LAYOUT.columns == max(n for _, n in SYNTH_ACTIONS)
        assert len(SYNTH_LAYOUT.rows) == 4 * len(SYNTH_ACTIONS)

    def test_layout_json_round_trip(self):
        from motionmap.layout import SheetLayout

        assert SheetLayout.from_json(SYNTH_LAYOUT.to_json()) == SYNTH_LAYOUT

    @pytest.mark.parametrize("name,frames", SYNTH_ACTIONS)
    def test_frame_counts(self, name, frames):
        assert len(action_poses(name)) == frames
        assert len(action_poses(name, 12)) == 12

    def test_unknown_action(self):
        with pytest.raises(MotionmapError, match="unknown synthetic action 'dance'.*walk"):
            action_poses("dance")


class TestSkeleton:
    def test_limb_direction_known_answers(self):
        np.testing.assert_allclose(limb_direction(0, 0, 1), [0, 1, 0], atol=1e-12)  # hanging down
        np.testing.assert_allclose(limb_direction(90, 0, 1), [0, 0, 1], atol=1e-12)  # forward
        np.testing.assert_allclose(limb_direction(180, 0, 1), [0, -1, 0], atol=1e-12)  # straight up
        np.testing.assert_allclose(limb_direction(0, 90, -1), [-1, 0, 0], atol=1e-12)  # left arm out sideways

    def test_rest_pose_stands_on_the_ground_centred(self):
        for facing in FACINGS:
            P = pose_frame(SPEC, Pose(), facing)
            sole = max(P.xy[f"ankle_{s}"][1] for s in SIDES) + SPEC.leg_w / 2
            assert sole == pytest.approx(GROUND_Y)
            assert P.xy["pelvis"][0] == pytest.approx(32.0)

    def test_limb_lengths_are_kept(self):
        J = forward_kinematics(SPEC, action_poses("run")[3])
        for s in SIDES:
            assert np.linalg.norm(J[f"knee_{s}"] - J[f"hip_{s}"]) == pytest.approx(SPEC.upper_leg)
            assert np.linalg.norm(J[f"hand_{s}"] - J[f"elbow_{s}"]) == pytest.approx(SPEC.lower_arm)

    def test_profile_views_mirror_each_other(self):
        pose = action_poses("attack")[3]
        L, R = pose_frame(SPEC, pose, "left"), pose_frame(SPEC, pose, "right")
        for name in L.xy:
            assert L.xy[name][0] - 32 == pytest.approx(32 - R.xy[name][0])
            assert L.xy[name][1] == pytest.approx(R.xy[name][1])


class TestMotion:
    def test_walk_swings_legs_both_ways(self):
        toes = [pose_frame(SPEC, p, "right").xy["ankle_r"][0] for p in action_poses("walk")]
        assert max(toes) - min(toes) > 6

    def test_walk_and_run_are_seamless_cycles(self):
        def vec(p: Pose) -> np.ndarray:
            return np.array([getattr(p, f.name) for f in fields(Pose)])

        for name in ("walk", "run"):
            poses = action_poses(name)
            steps = [np.abs(vec(poses[(i + 1) % len(poses)]) - vec(poses[i])).max() for i in range(len(poses))]
            # Looping from the last frame back to the first is a step like any other (no jump at the seam).
            assert 0 < steps[-1] <= 1.5 * max(steps[:-1])

    def test_jump_leaves_the_ground(self):
        soles = [max(pose_frame(SPEC, p, "down").xy[f"ankle_{s}"][1] for s in SIDES) for p in action_poses("jump")]
        assert min(soles) < soles[0] - 6

    def test_cast_raises_the_hands_above_the_shoulders(self):
        heights = [pose_frame(SPEC, p, "down").xy["hand_r"][1] for p in action_poses("cast")]
        shoulder = pose_frame(SPEC, Pose(), "down").xy["shoulder_r"][1]
        assert heights[0] > shoulder
        assert min(heights) < shoulder - 5

    def test_attack_swings_the_weapon_from_back_to_front(self):
        tips = [pose_frame(SPEC, p, "right").xy["weapon_tip"] for p in action_poses("attack")]
        xs = [t[0] for t in tips]
        assert max(xs) - min(xs) > 10  # from behind/over the head to well in front
        assert max(xs) > 32 + SPEC.head_w / 2  # it reaches out in front of the body
