"""Pixel scale: nearest resampling, pixel-block detection, and retargeting at the model's training scale."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.scale import ScalePlan, pixel_block, plan_scale, resize_nearest


def _art(h=16, w=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)


def test_resize_nearest_repeats_and_picks_pixels():
    art = _art()
    up = resize_nearest(art, 32, 24)
    assert up.shape == (32, 24, 4)
    assert np.array_equal(up, np.repeat(np.repeat(art, 2, axis=0), 2, axis=1))
    assert np.array_equal(resize_nearest(up, 16, 12), art)
    frames = np.stack([art, art[::-1]])
    assert resize_nearest(frames, 8, 8).shape == (2, 8, 8, 4)


def test_pixel_block_finds_the_export_scale():
    art = _art(16, 16)
    assert pixel_block([art]) == 1
    for k in (2, 3, 4):
        big = np.repeat(np.repeat(art, k, axis=0), k, axis=1)
        assert pixel_block([big]) == k
    big2 = np.repeat(np.repeat(art, 2, axis=0), 2, axis=1)
    broken = big2.copy()
    broken[1, 0, 0] ^= 1  # one pixel off the 2x2 grid
    assert pixel_block([big2, broken]) == 1
    blank = np.zeros((16, 24, 4), np.uint8)  # constant on any block: only reduced to the 8 px floor
    assert pixel_block([blank]) == 2
    assert pixel_block([np.zeros((12, 12, 4), np.uint8)]) == 1


def test_plans_for_common_sizes():
    def plan(h, w, k=1):
        src = np.repeat(np.repeat(np.stack([_art(h // k, w // k, s) for s in range(3)]), k, 1), k, 2)
        return plan_scale(src, src[0])

    assert plan(64, 64) == ScalePlan(1)
    assert plan(128, 128, k=2) == ScalePlan(2)  # a 2x export runs at its art size
    assert plan(32, 32) == ScalePlan(1) and plan(16, 16) == ScalePlan(1)  # small sprites run as they are
    assert plan(64, 64, k=4) == ScalePlan(4)  # 16 px art exported at 4x
    assert plan(40, 56) == ScalePlan(1)


def test_plan_round_trip():
    plan = ScalePlan(block=2)
    art = np.repeat(np.repeat(_art(8, 6), 2, axis=0), 2, axis=1)  # 16x12, 2x2 blocks
    model = plan.to_model(art)
    assert model.shape == (8, 6, 4)
    assert np.array_equal(plan.from_model(model), art)


def test_a_2x_export_retargets_exactly_like_its_1x_art():
    """The shipped model on a 2x-upscaled synthetic walk gives the 2x-upscaled result of the 1x walk."""
    from motionmap import Retargeter
    from motionmap.model.refine import RefineConfig
    from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character
    from motionmap.io import slice_sheet

    rows_a = slice_sheet(render_sheet(sample_character(11)), SYNTH_LAYOUT)
    rows_b = slice_sheet(render_sheet(sample_character(12)), SYNTH_LAYOUT)
    source, target = rows_a[0][:4], rows_b[0][0]
    r = Retargeter.load(refine=RefineConfig(steps=0))
    small = r.retarget(source, target)
    up = lambda a: np.repeat(np.repeat(a, 2, axis=-3), 2, axis=-2)  # noqa: E731
    big = r.retarget(up(source), up(target))
    assert big.shape[1:3] == (128, 128)
    assert np.array_equal(big, up(small))
    native = Retargeter.load(refine=RefineConfig(steps=0), scale="native").retarget(up(source), up(target))
    assert not np.array_equal(native, big)  # the native run is a different computation


def test_unknown_scale_mode_is_refused():
    from motionmap import Retargeter
    from motionmap.errors import MotionmapError

    with pytest.raises(MotionmapError, match="scale='huge'"):
        Retargeter.load(scale="huge")
