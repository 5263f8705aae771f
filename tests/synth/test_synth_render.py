"""Rendering: shapes and dtypes, hard alpha, the character fits the frame, motion exists, colours stay consistent,
facings differ, determinism, sheet layout, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io.sheets import slice_sheet
from motionmap.layout import FACINGS
from motionmap.synth import (
    SYNTH_ACTIONS,
    SYNTH_LAYOUT,
    CharacterSpec,
    character_palette,
    render_animation,
    render_sheet,
    sample_character,
)

SEEDS = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def sheets():
    return {s: render_sheet(sample_character(s)) for s in SEEDS}


def _animations(sheet):
    return zip(SYNTH_LAYOUT.rows, slice_sheet(sheet, SYNTH_LAYOUT))


def _bbox(frame):
    ys, xs = np.nonzero(frame[..., 3])
    return ys.min(), ys.max(), xs.min(), xs.max()


class TestRenderAnimation:
    @pytest.mark.parametrize("action,frames", SYNTH_ACTIONS)
    def test_shape_dtype_alpha(self, action, frames):
        for facing in FACINGS:
            anim = render_animation(sample_character(11), action, facing)
            assert anim.shape == (frames, 64, 64, 4) and anim.dtype == np.uint8
            assert set(np.unique(anim[..., 3])) <= {0, 255}
            assert not anim[anim[..., 3] == 0][:, :3].any()  # transparent pixels are black, no stray colour

    def test_unknown_action_and_facing(self):
        spec = sample_character(0)
        with pytest.raises(MotionmapError, match="unknown synthetic action 'fly'"):
            render_animation(spec, "fly", "down")
        with pytest.raises(MotionmapError, match="unknown facing 'north'.*up, left, down, right"):
            render_animation(spec, "walk", "north")

    def test_deterministic(self):
        a = render_animation(sample_character(3), "run", "left")
        b = render_animation(sample_character(3), "run", "left")
        assert a.tobytes() == b.tobytes()


class TestSheets:
    def test_layout_and_round_trip(self, sheets):
        sheet = sheets[0]
        assert sheet.shape == (SYNTH_LAYOUT.size[1], SYNTH_LAYOUT.size[0], 4) and sheet.dtype == np.uint8
        for row, frames in _animations(sheet):
            assert frames.shape[0] == row.frames
            np.testing.assert_array_equal(frames, render_animation(sample_character(0), row.name, row.facing))

    def test_same_seed_same_bytes_different_seeds_differ(self, sheets):
        assert render_sheet(sample_character(1)).tobytes() == sheets[1].tobytes()
        digests = {sheets[s].tobytes() for s in SEEDS}
        assert len(digests) == len(SEEDS)

    def test_character_fits_the_frame_and_is_not_tiny(self, sheets):
        for s in SEEDS:
            for row, frames in _animations(sheets[s]):
                for t, frame in enumerate(frames):
                    a = frame[..., 3]
                    where = f"seed {s} {row.name}/{row.facing} frame {t}"
                    assert not (a[0].any() or a[-1].any() or a[:, 0].any() or a[:, -1].any()), f"touches edge: {where}"
                    y0, y1, x0, x1 = _bbox(frame)
                    assert 30 <= y1 - y0 + 1 <= 60, where
                    assert 8 <= x1 - x0 + 1 <= 60, where

    def test_motion_exists(self, sheets):
        for s in SEEDS:
            for row, frames in _animations(sheets[s]):
                for t in range(1, len(frames)):
                    changed = (frames[t] != frames[t - 1]).any(-1).sum()
                    assert changed >= 10, f"seed {s} {row.name}/{row.facing}: frames {t - 1},{t} nearly equal"

    def test_colours_stay_the_characters_own(self, sheets):
        for s in SEEDS:
            palette = {tuple(c) for c in character_palette(sample_character(s))}
            for row, frames in _animations(sheets[s]):
                opaque = frames[frames[..., 3] == 255][:, :3]
                used = {tuple(c) for c in np.unique(opaque, axis=0)}
                assert used <= palette, f"seed {s} {row.name}/{row.facing}: colours outside the palette"

    def test_shirt_and_skin_in_every_frame(self):
        spec = sample_character(2)
        shirt, skin = np.array(spec.shirt, np.uint8), np.array(spec.skin, np.uint8)
        for action, _ in SYNTH_ACTIONS:
            for facing in ("down", "left"):
                for frame in render_animation(spec, action, facing):
                    rgb = frame[..., :3][frame[..., 3] == 255]
                    assert (rgb == shirt).all(-1).sum() >= 10
                    assert (rgb == skin).all(-1).sum() >= 4

    def test_facings_differ(self, sheets):
        for s in SEEDS:
            anims = dict(((r.name, r.facing), f) for r, f in _animations(sheets[s]))
            for action, _ in SYNTH_ACTIONS:
                firsts = [anims[(action, f)][0] for f in FACINGS]
                for i in range(4):
                    for j in range(i + 1, 4):
                        changed = (firsts[i] != firsts[j]).any(-1).sum()
                        assert changed >= 20, f"seed {s} {action}: {FACINGS[i]} looks like {FACINGS[j]}"

    def test_profiles_are_mirror_images_in_shape(self, sheets):
        anims = dict(((r.name, r.facing), f) for r, f in _animations(sheets[4]))
        left, right = anims[("walk", "left")][..., 3], anims[("walk", "right")][..., 3]
        overlap = (left == right[:, :, ::-1]).mean()
        assert overlap > 0.97

    def test_weapon_only_in_attack(self):
        spec = CharacterSpec(weapon="sword")
        steel = np.array((186, 196, 212), np.uint8)
        attack = render_animation(spec, "attack", "right")
        walk = render_animation(spec, "walk", "right")
        assert (attack[..., :3] == steel).all(-1).any()
        assert not (walk[..., :3] == steel).all(-1).any()

    def test_jump_rises(self):
        frames = render_animation(sample_character(0), "jump", "down")
        bottoms = [_bbox(f)[1] for f in frames]
        assert min(bottoms) <= bottoms[0] - 6

    def test_render_time(self):
        spec = sample_character(7)
        render_sheet(spec)  # warm up imports
        start = time.process_time()
        render_sheet(spec)
        assert time.process_time() - start < 1.0  # typically ~0.12 s of CPU per sheet
