"""Palette lock end to end: Retargeter, `motionmap retarget --palette`, hard alpha, and the shipped model on real
LPC characters."""

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io import read_animation, read_image, write_png
from motionmap.layout import LPC_LAYOUT
from motionmap.palette import in_palette, target_palette
from motionmap.retarget import Retargeter
from retarget_helpers import assert_one_line_error, blob_frames, character, run_cli


def soft_edged_character():
    """character() with an anti-aliased rim (alpha 128): not pixel art, so the soft output keeps soft alpha."""
    img = character()
    img[9:21, 12] = (40, 90, 220, 128)
    return img


class TestRetargeter:
    def test_default_is_palette_true_with_hard_alpha(self, ckpt):
        r = Retargeter.load(ckpt)
        target = soft_edged_character()
        out = r.retarget(blob_frames(), target)
        assert out.shape == (5, 32, 32, 4)
        assert set(np.unique(out[..., 3])) == {0, 255}  # hard, although the target's alpha is soft
        assert in_palette(out[..., :3][out[..., 3] > 0], target_palette(target)).all()
        soft = r.retarget(blob_frames(), target, palette="off")
        assert not np.isin(soft[..., 3], (0, 255)).all()  # off: today's soft alpha

    def test_explicit_colours(self, ckpt):
        r = Retargeter.load(ckpt)
        colours = np.array([[255, 0, 255], [0, 255, 0]], np.uint8)
        out = r.retarget(blob_frames(), character(), palette=colours)
        assert in_palette(out[..., :3][out[..., 3] > 0], colours).all()

    def test_single_colour_target(self, ckpt):
        target = np.zeros((32, 32, 4), np.uint8)
        target[9:21, 4:12] = (200, 30, 30, 255)
        out = Retargeter.load(ckpt).retarget(blob_frames(), target)
        visible = out[..., 3] > 0
        assert visible.any() and (out[visible][:, :3] == (200, 30, 30)).all()

    def test_bad_option_fails_before_the_model_runs(self, ckpt):
        r = Retargeter.load(ckpt)
        r.model = None  # any model call would raise AttributeError
        with pytest.raises(MotionmapError, match="palette 'soft': unknown palette option"):
            r.retarget(blob_frames(), character(), palette="soft")


class TestCli:
    def test_palette_target_and_off(self, ckpt, sprite_files, tmp_path):
        target = write_png(tmp_path / "soft.png", soft_edged_character())
        runs = {}
        for palette in ("target", "off"):
            out = tmp_path / f"{palette}.png"
            r = run_cli(["retarget", "--source", sprite_files["apng"], "--target", target, "--out", out,
                         "--checkpoint", ckpt, "--palette", palette])
            assert r.code == 0, r.err
            runs[palette] = read_animation(out).frames
        assert set(np.unique(runs["target"][..., 3])) == {0, 255}
        assert in_palette(runs["target"][..., :3][runs["target"][..., 3] > 0], target_palette(soft_edged_character())).all()
        assert not np.isin(runs["off"][..., 3], (0, 255)).all()

    def test_nonsense_palette_is_a_one_line_error(self, ckpt, sprite_files, tmp_path):
        out = tmp_path / "x.gif"
        r = run_cli(["retarget", "--source", sprite_files["gif"], "--target", sprite_files["target"], "--out", out,
                     "--checkpoint", ckpt, "--palette", "pastel"])
        assert_one_line_error(r, "--palette 'pastel': unknown palette option; use 'target'")
        assert not out.exists()


def test_shipped_model_on_lpc_is_palette_true_and_follows_the_motion(lpc_pair):
    """The shipped model, a held-out LPC target given as its sheet: every opaque pixel is a colour of that sheet,
    alpha is 0 or 255, and the silhouette is the true one's (the target's own walk row is the truth)."""
    from motionmap.core import load_target_frame, retarget_animation

    source = read_animation(lpc_pair["source"], animation="walk", facing="left")
    target = load_target_frame(lpc_pair["target"], facing="left", animation="walk")
    r = Retargeter.load(None)
    out = retarget_animation(r, source, target.image, palette=target.sheet_palette).frames
    assert set(np.unique(out[..., 3])) <= {0, 255}
    assert in_palette(out[..., :3][out[..., 3] > 0], target_palette(read_image(lpc_pair["target"]))).all()
    row = LPC_LAYOUT.row_index("walk", "left")
    truth = lpc_pair["target_sheet"][row * 64 : row * 64 + 64, : 9 * 64].reshape(64, 9, 64, 4).transpose(1, 0, 2, 3)
    drawn, true_drawn = out[..., 3] > 0, truth[..., 3] > 0
    assert (drawn & true_drawn).sum() / (drawn | true_drawn).sum() > 0.85
    # Most of the character is drawn in exactly the true colour (a soft output gets few exact matches).
    exact = (out[..., :3] == truth[..., :3]).all(-1) & drawn & true_drawn
    assert exact.sum() / true_drawn.sum() > 0.6
