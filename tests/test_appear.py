"""Appearing pixels (motionmap.appear): the colour correspondence, the mask, the painting, and the Retargeter's use."""

import numpy as np
import pytest
import torch

from motionmap.appear import appearing_mask, colour_correspondence, paint_appearing
from motionmap.errors import MotionmapError
from motionmap.retarget import Retargeter

RED, GREEN, BLUE, GREY = (200, 0, 0), (0, 180, 0), (0, 0, 255), (90, 90, 90)


def test_correspondence_keeps_consistent_colours_only_and_maps_the_background_too():
    a0 = np.zeros((6, 6, 3), np.uint8)
    b0 = np.zeros((6, 6, 3), np.uint8)
    a0[0, :4] = RED
    b0[0, :3] = GREEN  # red -> green on 3 of its 4 pixels: kept
    b0[0, 3] = BLUE
    a0[1, :2] = GREY
    b0[1, 0], b0[1, 1] = RED, BLUE  # grey -> red or blue, half each: half is enough
    a0[2, :3] = BLUE
    b0[2, 0], b0[2, 1], b0[2, 2] = RED, GREEN, GREY  # blue -> three colours, a third each: dropped
    b0[5, 5] = RED  # one of B's pixels over A's black background: black still maps to black
    c = colour_correspondence(a0, b0)
    found, colours = c.lookup(np.array([[RED, BLUE, (0, 0, 0), (1, 2, 3)]], np.uint8))
    assert found.tolist() == [[True, False, True, False]]
    assert tuple(colours[0, 0]) == GREEN and tuple(colours[0, 2]) == (0, 0, 0)
    assert c.lookup(np.array([[GREY]], np.uint8))[0].tolist() == [[True]]
    assert colour_correspondence(a0, b0, min_share=0.6).lookup(np.array([[GREY]], np.uint8))[0].tolist() == [[False]]
    loose, colours = c.lookup(np.array([[BLUE]], np.uint8), consistent_only=False)  # below the share: still known
    assert loose.tolist() == [[True]] and tuple(colours[0, 0]) in {RED, GREEN, GREY}
    empty = colour_correspondence(np.zeros((0, 6, 3), np.uint8), np.zeros((0, 6, 3), np.uint8))
    assert not empty.lookup(a0)[0].any()


def test_mask_marks_what_the_motion_does_not_explain_and_painting_changes_only_those_pixels():
    a0 = np.zeros((1, 3, 8, 8))
    a0[..., 2:5, 2:5] = 0.8  # a square
    a_t = a0.copy()
    a_t[..., 6, 6] = 0.8  # a pixel comes into view
    identity = torch.nn.functional.affine_grid(torch.eye(2, 3)[None], (1, 3, 8, 8), align_corners=False)
    mask = appearing_mask(torch.tensor(a0), torch.tensor(a_t), identity).numpy()
    assert mask.shape == (1, 8, 8) and mask.sum() == 1 and mask[0, 6, 6]
    a0_u8 = (a0[0].transpose(1, 2, 0) * 255).round().astype(np.uint8)
    b0_u8 = np.where(a0_u8 > 0, np.uint8(40), np.uint8(0))  # B: the same square in its own grey
    out = np.full((1, 8, 8, 3), 7, np.uint8)
    at_u8 = (a_t.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
    painted = paint_appearing(out.copy(), at_u8, mask, colour_correspondence(a0_u8, b0_u8))
    assert tuple(painted[0, 6, 6]) == (40, 40, 40)
    painted[0, 6, 6] = 7
    assert (painted == 7).all()


def test_a_frame_that_mostly_comes_into_view_takes_any_correspondence():
    """An A colour without a consistent B colour is painted only in frames where most of the character is new."""
    a0 = np.zeros((1, 4, 4, 3), np.uint8)
    b0 = np.zeros((1, 4, 4, 3), np.uint8)
    a0[0, 0, :3] = BLUE
    b0[0, 0, 0], b0[0, 0, 1], b0[0, 0, 2] = RED, RED, GREEN  # blue -> red on 2 of 3: consistent
    a0[0, 1, :3] = GREY
    b0[0, 1, 0], b0[0, 1, 1], b0[0, 1, 2] = RED, GREEN, BLUE  # grey -> a third each: not consistent
    c = colour_correspondence(a0[0], b0[0])
    a_t = np.zeros((2, 4, 4, 3), np.uint8)
    a_t[:, 2, :] = GREY  # 4 grey pixels
    a_t[:, 3, :] = BLUE  # 4 blue pixels
    appearing = np.zeros((2, 4, 4), bool)
    appearing[0, 2, :1] = appearing[0, 3, :1] = True  # frame 0: 2 of 8 character pixels are new
    appearing[1, 2:] = True  # frame 1: all of them
    out = paint_appearing(np.full((2, 4, 4, 3), 7, np.uint8), a_t, appearing, c)
    assert tuple(out[0, 3, 0]) == RED and tuple(out[0, 2, 0]) == (7, 7, 7)  # grey stays the model's in frame 0
    assert tuple(out[1, 3, 0]) == RED and tuple(out[1, 2, 0]) in {RED, GREEN, BLUE}  # and is painted in frame 1
    assert (out[0, :2] == 7).all() and (out[1, :2] == 7).all()


@pytest.mark.parametrize("bad", ["on", "", None])
def test_unknown_appear_mode_is_a_one_line_error(bad):
    with pytest.raises(MotionmapError, match=r"appear .*expected one of source, off") as e:
        Retargeter.load(appear=bad)
    assert "\n" not in str(e.value)


def test_retargeter_paints_the_pixels_that_come_into_view_in_the_targets_colours():
    """A walk of one synthetic character onto another: with ``appear="source"`` (the default) the frames differ from
    ``"off"`` only where the source's own motion leaves pixels unexplained, and every pixel it changed is one of the
    target's colours, opaque, or the target's transparent background (where the source's limb has moved away)."""
    from motionmap.synth import render_animation, sample_character

    source = render_animation(sample_character(5), "attack", "right")  # uint8 [T,64,64,4]
    target = render_animation(sample_character(6), "attack", "right")[0]
    on = Retargeter.load(threads=1)
    off = Retargeter.load(threads=1, appear="off")
    a, b = on.retarget(source, target), off.retarget(source, target)
    changed = (a != b).any(-1)
    assert changed.any()
    palette = {tuple(c) for c in target[target[..., 3] > 0][:, :3]}
    opaque = a[changed][:, 3] == 255
    assert opaque.any() and all(tuple(c) in palette for c in a[changed][opaque][:, :3])
    assert (a[changed][~opaque][:, 3] == 0).all()
    rgb_on, rgb_off = on.retarget(source[..., :3], target[..., :3]), off.retarget(source[..., :3], target[..., :3])
    assert (rgb_on != rgb_off).any()


def test_appearing_limbs_come_closer_to_the_truth_on_real_lpc_characters(lpc_root):
    """Two LPC characters (one body type, other clothes): B's own slash is the truth. Redrawing what comes into view
    in B's colours brings every slash facing closer to it."""
    from motionmap.layout import LPC_LAYOUT
    from motionmap.lpc import LpcLayers, compose_character, sample_recipes

    lib = LpcLayers(lpc_root)
    ra, rb = sample_recipes(lib, 2, seed=3, held_out="allow")
    sheet_a, sheet_b = compose_character(lib, ra), compose_character(lib, rb)
    on, off = Retargeter.load(threads=1), Retargeter.load(threads=1, appear="off")
    for facing in ("up", "left", "down", "right"):
        r = LPC_LAYOUT.row_index("slash", facing)
        n = LPC_LAYOUT.rows[r].frames

        def row(sheet):
            cells = sheet[r * 64 : (r + 1) * 64, : 64 * n].reshape(64, n, 64, 4).transpose(1, 0, 2, 3)
            return (cells[..., :3].astype(np.float32) * (cells[..., 3:] / 255)).round().astype(np.uint8)

        a, truth = row(sheet_a), row(sheet_b)
        sse = [float(((m.retarget(a, truth[0]).astype(float) - truth) ** 2 / 255**2).sum()) for m in (on, off)]
        assert sse[0] < sse[1], (facing, sse)
