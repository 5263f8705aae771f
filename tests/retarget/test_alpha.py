"""motionmap.alpha: difference matting on known arrays, cleanup, and the two-pass wrapper."""

import numpy as np
import pytest

from motionmap.alpha import (
    BLACK,
    WHITE,
    has_transparent_background,
    is_binary_alpha,
    matte,
    over_solid,
    solve_alpha,
    two_pass_rgba,
)


def render_pair(rgba: np.ndarray):
    """The exact renderings of straight-alpha ``rgba`` over black and white, in float [0,1]."""
    c = rgba[..., :3].astype(np.float64) / 255
    a = rgba[..., 3:].astype(np.float64) / 255
    return a * c, a * c + (1 - a)


class TestSolveAlpha:
    def test_known_pixels(self):
        rgba = np.array([[[10, 200, 30, 255], [0, 0, 0, 0], [255, 128, 0, 128], [0, 0, 0, 255]]], np.uint8)
        black, white = render_pair(rgba)
        r = solve_alpha(black, white)
        np.testing.assert_allclose(r.alpha, rgba[..., 3] / 255, atol=1e-6)
        opaque = rgba[..., 3] > 0
        np.testing.assert_allclose(r.color[opaque], rgba[..., :3][opaque] / 255, atol=1e-5)
        assert (r.color[~opaque] == 0).all()

    def test_uint8_input_and_shapes(self):
        black = np.zeros((2, 4, 4, 3), np.uint8)
        white = np.full((2, 4, 4, 3), 255, np.uint8)
        white[:, 1, 1] = 0  # an opaque black pixel
        r = solve_alpha(black, white)
        assert r.alpha.shape == (2, 4, 4) and r.color.shape == (2, 4, 4, 3)
        assert r.alpha[:, 1, 1].tolist() == [1.0, 1.0] and r.alpha.sum() == 2

    def test_out_of_model_values_are_clipped(self):
        # A model is only approximately linear: white darker than black must not give alpha > 1.
        r = solve_alpha(np.full((1, 1, 3), 0.6), np.full((1, 1, 3), 0.4))
        assert r.alpha[0, 0] == 1.0 and 0 <= r.color.min() and r.color.max() <= 1

    def test_mismatched_shapes(self):
        with pytest.raises(ValueError, match="differ"):
            solve_alpha(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))


class TestMatte:
    def test_binary_threshold_recovers_pixel_art(self):
        rng = np.random.default_rng(0)
        rgba = rng.integers(0, 256, (3, 8, 8, 4)).astype(np.uint8)
        rgba[..., 3] = np.where(rng.random((3, 8, 8)) < 0.5, 0, 255)
        rgba[rgba[..., 3] == 0] = 0
        black, white = render_pair(rgba)
        noisy_b = np.clip(black + rng.normal(0, 0.05, black.shape), 0, 1)  # model error
        noisy_w = np.clip(white + rng.normal(0, 0.05, white.shape), 0, 1)
        out = matte(noisy_b, noisy_w, binary=True)
        assert out.dtype == np.uint8 and out.shape == (3, 8, 8, 4)
        np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
        assert set(np.unique(out[..., 3])) <= {0, 255}
        assert (out[out[..., 3] == 0] == 0).all()
        opaque = rgba[..., 3] == 255
        assert np.abs(out[..., :3][opaque].astype(int) - rgba[..., :3][opaque]).mean() < 12

    def test_soft_alpha_kept(self):
        rgba = np.array([[[100, 50, 200, 64], [100, 50, 200, 191]]], np.uint8)
        black, white = render_pair(rgba)
        out = matte(black, white, binary=False)
        assert np.abs(out[..., 3].astype(int) - rgba[..., 3]).max() <= 1
        assert np.abs(out[..., :3].astype(int) - rgba[..., :3]).max() <= 2

    def test_gate_vetoes(self):
        black = np.zeros((1, 2, 3), np.uint8)
        white = np.zeros((1, 2, 3), np.uint8)  # both pixels look opaque black
        out = matte(black, white, binary=True, gate=np.array([[True, False]]))
        assert out[0, :, 3].tolist() == [255, 0]

    def test_bad_threshold(self):
        with pytest.raises(ValueError, match="threshold"):
            matte(np.zeros((1, 1, 3)), np.zeros((1, 1, 3)), binary=True, threshold=1.0)


def test_flags():
    rgb = np.zeros((4, 4, 3), np.uint8)
    opaque = np.full((4, 4, 4), 255, np.uint8)
    holey = opaque.copy()
    holey[0, 0, 3] = 0
    assert not has_transparent_background(rgb) and not has_transparent_background(opaque) and has_transparent_background(holey)
    speck = np.full((40, 40, 4), 255, np.uint8)
    speck[0, 0, 3] = 0  # one stray transparent pixel is not a transparent background
    assert not has_transparent_background(speck)
    assert is_binary_alpha(holey[..., 3]) and not is_binary_alpha(np.array([0, 128, 255], np.uint8))


def test_over_solid_matches_composite():
    rgba = np.array([[[255, 0, 0, 255], [0, 255, 0, 0]]], np.uint8)
    assert over_solid(rgba, WHITE).tolist() == [[[255, 0, 0], [255, 255, 255]]]
    assert over_solid(rgba, BLACK).tolist() == [[[255, 0, 0], [0, 0, 0]]]


def test_two_pass_with_a_background_keeping_renderer():
    """A renderer that moves the target right by t px per frame (keeping its background, as the model does): the
    recovered alpha is exactly the moved target's alpha."""
    target = np.zeros((16, 16, 4), np.uint8)
    target[4:10, 2:6] = (30, 160, 90, 255)

    def render(opaque_target):
        assert opaque_target.shape == (16, 16, 3)
        frames = []
        for t in range(4):
            moved = np.empty_like(opaque_target)
            moved[:] = opaque_target[0, 0]  # the background colour fills in behind
            moved[:, t:] = opaque_target[:, : 16 - t]
            frames.append(moved)
        return np.stack(frames)

    out = two_pass_rgba(render, target)
    assert out.shape == (4, 16, 16, 4)
    for t in range(4):
        want = np.zeros((16, 16), np.uint8)
        want[4:10, 2 + t : 6 + t] = 255
        np.testing.assert_array_equal(out[t, ..., 3], want)
        assert (out[t, 4:10, 2 + t : 6 + t, :3] == (30, 160, 90)).all()


def test_two_pass_rejects_rgb():
    with pytest.raises(ValueError, match="uint8"):
        two_pass_rgba(lambda t: t[None], np.zeros((4, 4, 3), np.uint8))
