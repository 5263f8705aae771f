"""The baselines behave as defined: identity repeats b0, analogy adds the source's change, flow moves b0's pixels."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.eval import baselines as B
from motionmap.eval.metrics import mse


def _sprite_frames(shifts, size=64, seed=0):
    """A textured 16x12 sprite on black, shifted right by each of ``shifts`` pixels: uint8 [T,size,size,3]."""
    rng = np.random.default_rng(seed)
    sprite = rng.integers(60, 256, (16, 12, 3), dtype=np.uint8)
    frames = np.zeros((len(shifts), size, size, 3), np.uint8)
    for t, k in enumerate(shifts):
        frames[t, 24:40, 20 + k : 32 + k] = sprite
    return frames


class TestIdentity:
    def test_repeats_b0_zero_error_at_t0(self):
        rng = np.random.default_rng(0)
        src = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
        b0 = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        out = B.IdentityBaseline().retarget(src, b0)
        assert out.shape == (5, 8, 8, 3) and out.dtype == np.uint8
        assert (out == b0).all()
        assert mse(out[:1], b0[None])[0] == 0.0

    def test_drops_alpha(self):
        b0 = np.zeros((4, 4, 4), np.uint8)
        b0[..., 3] = 7
        out = B.IdentityBaseline().retarget(np.zeros((2, 4, 4, 4), np.uint8), b0)
        assert out.shape == (2, 4, 4, 3)


class TestPixelAnalogy:
    def test_known_array_with_clipping(self):
        a = np.array([[10, 100, 250], [20, 50, 255], [0, 200, 250]], np.uint8).reshape(3, 1, 1, 3)
        b0 = np.array([100, 200, 10], np.uint8).reshape(1, 1, 3)
        out = B.PixelAnalogyBaseline().retarget(a, b0)
        # t=1: b0 + (20-10, 50-100, 255-250) = (110, 150, 15); t=2: (90, 300->255, 10)
        np.testing.assert_array_equal(out[:, 0, 0], [[100, 200, 10], [110, 150, 15], [90, 255, 10]])
        assert out.dtype == np.uint8

    def test_t0_is_b0(self):
        rng = np.random.default_rng(1)
        src = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
        b0 = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        np.testing.assert_array_equal(B.PixelAnalogyBaseline().retarget(src, b0)[0], b0)

    def test_bad_input_is_one_line_error(self):
        with pytest.raises(MotionmapError, match="expected uint8"):
            B.PixelAnalogyBaseline().retarget(np.zeros((2, 8, 8, 3), np.float32), np.zeros((8, 8, 3), np.uint8))
        with pytest.raises(MotionmapError, match="sizes differ"):
            B.PixelAnalogyBaseline().retarget(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8))


needs_cv2 = pytest.mark.skipif(not B.flow_available(), reason="OpenCV (motionmap[flow]) not installed")


@needs_cv2
class TestFlow:
    @pytest.mark.parametrize("k", [2, 5])
    def test_backward_flow_points_to_source_pixels(self, k):
        # The sprite moves right by k: pixel p of frame t came from p - (k, 0) of frame 0, so the flow that maps
        # target-frame coordinates back to a0 is about (-k, 0) on the sprite.
        frames = _sprite_frames([0, k])
        flow = B.dense_flow_to_from(frames[1], frames[0])
        assert flow.shape == (64, 64, 2) and flow.dtype == np.float32
        on_sprite = frames[1].any(axis=-1)
        assert np.median(flow[on_sprite, 0]) == pytest.approx(-k, abs=0.5)
        assert np.median(np.abs(flow[on_sprite, 1])) < 0.5

    def test_backward_warp_with_known_flow(self):
        img = np.zeros((8, 8, 3), np.uint8)
        img[2, 3] = 200
        flow = np.zeros((8, 8, 2), np.float32)
        flow[..., 0] = -1.0  # out(p) = img(p - (1, 0)): the content moves right by one
        out = B.backward_warp(img, flow)
        assert out[2, 4, 0] == 200 and out[2, 3, 0] == 0

    def test_flow_warp_recovers_shifted_sprite(self):
        # Source A and target B share the motion (right by 0..4 px) but have different textures.
        shifts = [0, 1, 2, 3, 4]
        a, b = _sprite_frames(shifts, seed=0), _sprite_frames(shifts, seed=1)
        flow_pred = B.FlowWarpBaseline().retarget(a, b[0])
        ident_pred = B.IdentityBaseline().retarget(a, b[0])
        np.testing.assert_array_equal(flow_pred[0], b[0])
        err_flow = mse(flow_pred[1:], b[1:]).mean()
        err_ident = mse(ident_pred[1:], b[1:]).mean()
        assert err_flow < 0.2 * err_ident

    def test_config_validation(self):
        with pytest.raises(MotionmapError, match="preset"):
            B.FlowWarpConfig(preset="slow")
        with pytest.raises(MotionmapError, match="upsample"):
            B.FlowWarpConfig(upsample=0)


def test_flow_is_skipped_with_a_note_without_opencv(monkeypatch):
    import sys

    from motionmap.eval.suite import baseline_methods

    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now raises ImportError
    assert not B.flow_available()
    methods, notes = baseline_methods()
    assert [m.name for m in methods] == ["identity", "analogy"]
    assert len(notes) == 1 and "pip install 'motionmap[flow]'" in notes[0]
    with pytest.raises(MotionmapError, match=r"motionmap\[flow\]"):
        B.FlowWarpBaseline()
