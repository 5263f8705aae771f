"""The content crop (motionmap.crop): where the model runs, and that running it only there keeps the answer."""

import numpy as np
import pytest

from motionmap.crop import CROP_MARGIN, CropPlan, content_bounds, plan_crop
from motionmap.errors import MotionmapError
from motionmap.retarget import Retargeter


def walk(seed: int, facing: str = "left", frames: int = 4) -> np.ndarray:
    """A synthetic character's walk, ``uint8 [T,64,64,4]`` on a transparent background."""
    from motionmap.synth import render_animation, sample_character

    return render_animation(sample_character(seed), "walk", facing)[:frames]


def test_the_box_holds_every_frames_content_with_its_margin_on_whole_cells():
    frames = np.zeros((3, 64, 64, 4), np.uint8)
    frames[0, 20:30, 24:34] = 255
    frames[1, 22:33, 28:40] = (10, 200, 30, 255)
    frames[2, 18:25, 30:36] = (10, 200, 30, 128)  # half transparent: content too
    target = np.zeros((64, 64, 3), np.uint8)
    target[21:31, 25:33] = 90
    assert content_bounds(frames) == (18, 33, 24, 40)
    box = plan_crop(frames, [target]).box
    y0, y1, x0, x1 = box
    assert all(v % 4 == 0 for v in box)
    assert y0 <= 18 - CROP_MARGIN and y1 >= 33 + CROP_MARGIN and x0 <= 24 - CROP_MARGIN and x1 >= 40 + CROP_MARGIN
    assert (y1 - y0) * (x1 - x0) < 0.4 * 64 * 64


def test_a_scene_a_blank_frame_or_a_full_character_keeps_the_whole_frame():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    assert plan_crop(scene, [scene[0]]).is_identity
    blank = np.zeros((3, 64, 64, 4), np.uint8)
    assert plan_crop(blank, [blank[0]]).is_identity
    edge_to_edge = blank.copy()
    edge_to_edge[:, 2:62, 3:60] = 200  # within the margin of every edge
    assert plan_crop(edge_to_edge, [edge_to_edge[0]]).is_identity
    images = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
    assert CropPlan().to_model(images) is images and CropPlan().from_model(images, images[0]) is images


def test_each_target_is_measured_on_its_own_background_and_a_small_box_grows():
    frames = np.zeros((2, 64, 64, 3), np.uint8)
    frames[:, 30:34, 30:34] = 255
    target = np.full((64, 64, 3), (40, 120, 200), np.uint8)  # a flat sky, not black
    target[30:34, 30:34] = 0
    y0, y1, x0, x1 = plan_crop(frames, [target], margin=0).box
    assert (y1 - y0, x1 - x0) == (16, 16) and y0 <= 30 and y1 >= 34  # the minimum side, around the content


def test_targets_inside_the_sources_box_get_that_box_and_others_the_union():
    """One animation onto many targets crops alike (so its cached motion serves them all) unless a target reaches
    out of the source's box."""
    source = walk(1)
    near = [walk(k)[0] for k in (2, 3)]
    boxes = {plan_crop(source, [t]).box for t in near}
    assert boxes == {plan_crop(source, []).box}
    wide = near[0].copy()
    wide[30:34, 1:3] = (255, 0, 0, 255)  # a spear tip at the left edge
    y0, y1, x0, x1 = plan_crop(source, [wide]).box
    assert x0 == 0 and (y0, y1) == plan_crop(source, []).box[:2]


def test_an_rgb_reference_with_rgba_frames():
    frames = walk(1)
    assert plan_crop(frames[1:], [frames[0]], reference=frames[0, ..., :3]).box == plan_crop(frames, [frames[0]]).box


def test_paste_puts_the_model_output_in_the_box_and_the_target_around_it():
    target = np.zeros((32, 32, 4), np.uint8)
    target[..., :3] = 200
    target[..., 3] = 128  # half transparent: the model sees it over black
    plan = CropPlan((8, 24, 4, 20))
    inside = np.full((2, 16, 16, 3), 7, np.uint8)
    out = plan.from_model(inside, target)
    assert out.shape == (2, 32, 32, 3) and (out[:, 8:24, 4:20] == 7).all()
    outside = np.ones((32, 32), bool)
    outside[8:24, 4:20] = False
    assert (out[:, outside] == 100).all()  # round(200/255 * 128/255 * 255)
    np.testing.assert_array_equal(plan.to_model(np.arange(32 * 32).reshape(1, 32, 32, 1))[0, 0, :, 0],
                                  np.arange(8 * 32 + 4, 8 * 32 + 20))


@pytest.fixture(scope="module")
def shipped():
    r = Retargeter.load(threads=1)
    return r, Retargeter(r.model, threads=1, crop=False)


def test_cropping_keeps_the_answer_on_synthetic_sprites(shipped):
    """The shipped model on the crop and on the whole frame: the same frames up to a few pixels, and the output is
    exactly the target outside the box (RGB) or transparent where the target is (RGBA)."""
    cropped, whole = shipped
    source, target = walk(1, "down", 6), walk(2, "down")[0]
    box = plan_crop(source, [target]).box
    assert box is not None
    for tgt in (target, target[..., :3]):
        a, b = cropped.retarget(source, tgt), whole.retarget(source, tgt)
        assert a.shape == b.shape
        assert (a != b).any(-1).mean() < 0.01
        y0, y1, x0, x1 = box
        outside = np.ones(a.shape[1:3], bool)
        outside[y0:y1, x0:x1] = False
        if tgt.shape[-1] == 4:
            assert a.shape[-1] == 4 and (a[:, outside, 3] == tgt[outside, 3]).all()
        else:
            assert (a[:, outside] == tgt[outside]).all()


def test_cropping_keeps_the_answer_on_real_lpc_rows(lpc_root, shipped):
    from motionmap.layout import LPC_LAYOUT
    from motionmap.lpc import LpcLayers, compose_character, sample_recipes

    layers = LpcLayers(lpc_root)
    a, b = (compose_character(layers, r) for r in sample_recipes(layers, 2, seed=3, held_out="allow"))
    cropped, whole = shipped
    for name in ("slash", "walk"):
        i, n = LPC_LAYOUT.row_index(name, "right"), LPC_LAYOUT.rows[LPC_LAYOUT.row_index(name, "right")].frames
        row = a[i * 64 : (i + 1) * 64, : 64 * n].reshape(64, n, 64, 4).transpose(1, 0, 2, 3)
        target = b[i * 64 : (i + 1) * 64, :64]
        assert not plan_crop(row, [target]).is_identity
        out, full = cropped.retarget(row, target), whole.retarget(row, target)
        assert (out != full).any(-1).mean() < 0.01, name


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_crop_must_be_true_or_false(bad):
    r = Retargeter.load(threads=1)
    with pytest.raises(MotionmapError, match="crop="):
        Retargeter(r.model, crop=bad)
