"""Each metric against values computed by hand on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.eval import metrics as M


def _pair():
    # Two 1-frame 2x2x3 images on [0,1]: the prediction is off by 0.5 in one pixel's red channel and by 0.1 in
    # another pixel's three channels.
    truth = np.zeros((1, 2, 2, 3))
    pred = truth.copy()
    pred[0, 0, 0, 0] = 0.5
    pred[0, 1, 1, :] = 0.1
    return pred, truth


class TestSquaredErrors:
    def test_sse_is_per_64x64x3_image_at_any_size(self):
        pred, truth = _pair()  # 2x2x3: the same per-pixel error spread over a 64x64x3 image
        assert M.sse(pred, truth) == pytest.approx([(0.25 + 3 * 0.01) * (64 * 64 * 3) / 12])
        big_pred, big_truth = (np.repeat(np.repeat(a, 32, axis=1), 32, axis=2) for a in (pred, truth))
        assert M.sse(big_pred, big_truth) == pytest.approx([0.25 * 1024 + 3 * 0.01 * 1024])

    def test_mse(self):
        pred, truth = _pair()
        assert M.mse(pred, truth) == pytest.approx([(0.25 + 0.03) / 12])

    def test_sse_is_mse_times_values_per_image(self):
        rng = np.random.default_rng(0)
        a = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
        np.testing.assert_allclose(M.sse(a, b), 64 * 64 * 3 * M.mse(a, b))

    def test_uint8_is_scaled_to_unit(self):
        a = np.full((1, 1, 1, 3), 255, dtype=np.uint8)
        b = np.zeros((1, 1, 1, 3), dtype=np.uint8)
        assert M.mse(a, b) == pytest.approx([1.0])
        assert M.sse(a, b) == pytest.approx([64 * 64 * 3])

    def test_per_frame(self):
        truth = np.zeros((2, 1, 1, 3))
        pred = np.stack([np.zeros((1, 1, 3)), np.full((1, 1, 3), 0.2)])
        assert M.mse(pred, truth) == pytest.approx([0.0, 0.04])

    def test_shape_mismatch_is_one_line_error(self):
        with pytest.raises(MotionmapError, match=r"\(1, 2, 2, 3\).*\(1, 2, 3, 3\)"):
            M.mse(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 3, 3)))


class TestMaskedMse:
    def test_inside_mask_only(self):
        pred, truth = _pair()
        mask = np.zeros((1, 2, 2), dtype=bool)
        mask[0, 0, 0] = True  # only the pixel off by 0.5 in one of 3 channels
        assert M.masked_mse(pred, truth, mask) == pytest.approx([0.25 / 3])
        mask[0, 0, 1] = True  # plus an exact pixel
        assert M.masked_mse(pred, truth, mask) == pytest.approx([0.25 / 6])

    def test_full_mask_equals_mse(self):
        pred, truth = _pair()
        assert M.masked_mse(pred, truth, np.ones((1, 2, 2), bool)) == pytest.approx(M.mse(pred, truth))

    def test_empty_mask_is_nan(self):
        pred, truth = _pair()
        assert np.isnan(M.masked_mse(pred, truth, np.zeros((1, 2, 2), bool))[0])

    def test_character_mask_is_union_with_frame0(self):
        alpha = np.zeros((3, 2, 2), np.uint8)
        alpha[0, 0, 0] = 255
        alpha[1, 1, 1] = 10
        m = M.character_mask(alpha)
        assert m[0].sum() == 1 and m[1, 0, 0] and m[1, 1, 1] and m[1].sum() == 2 and m[2].sum() == 1
        rgba = np.zeros((3, 2, 2, 4), np.uint8)
        rgba[..., 3] = alpha
        np.testing.assert_array_equal(M.character_mask(rgba), m)


class TestPsnr:
    def test_known_value(self):
        # Everything off by 0.1: MSE 0.01 -> PSNR 20 dB.
        assert M.psnr(np.full((1, 4, 4, 3), 0.1), np.zeros((1, 4, 4, 3))) == pytest.approx([20.0])

    def test_known_value_uint8(self):
        # Off by 255 everywhere: MSE 1 -> 0 dB; off by 0.5: MSE 0.25 -> 10*log10(4) = 6.0206 dB.
        assert M.psnr(np.full((1, 2, 2, 3), 255, np.uint8), np.zeros((1, 2, 2, 3), np.uint8)) == pytest.approx([0.0])
        assert M.psnr(np.full((1, 2, 2, 3), 0.5), np.zeros((1, 2, 2, 3))) == pytest.approx([6.0206], abs=1e-4)

    def test_exact_match_is_capped(self):
        x = np.zeros((1, 2, 2, 3))
        assert M.psnr(x, x) == pytest.approx([M.PSNR_CAP_DB])


class TestSsim:
    def test_identical_images_score_one(self):
        rng = np.random.default_rng(1)
        x = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
        assert M.ssim(x, x) == pytest.approx([1.0, 1.0], abs=1e-5)

    def test_different_images_score_lower_and_order(self):
        rng = np.random.default_rng(2)
        x = rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
        slight = np.clip(x.astype(int) + rng.integers(-10, 11, x.shape), 0, 255).astype(np.uint8)
        noise = rng.integers(0, 256, x.shape, dtype=np.uint8)
        s_slight, s_noise = M.ssim(slight, x)[0], M.ssim(noise, x)[0]
        assert 1.0 > s_slight > s_noise

    def test_chunks_do_not_change_result(self):
        rng = np.random.default_rng(3)
        a = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
        b = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
        np.testing.assert_allclose(M.ssim(a, b, chunk=2), M.ssim(a, b), atol=1e-6)


class TestScoreAndSummary:
    def test_score_frames_and_summarize(self):
        pred, truth = _pair()
        pred = np.concatenate([pred, truth])  # frame 2 is exact
        truth = np.concatenate([truth, truth])
        mask = np.ones((2, 2, 2), bool)
        s = M.score_frames(pred, truth, mask)
        assert len(s) == 2
        np.testing.assert_allclose(s.sse, [0.28 * 12288 / 12, 0.0])  # per 64x64x3 image
        summary = M.summarize(s)
        assert summary["sse"] == pytest.approx(0.14 * 12288 / 12)
        assert summary["mse"] == pytest.approx(0.28 / 24)
        assert summary["frames"] == 2
        assert summary["psnr"] == pytest.approx((10 * np.log10(12 / 0.28) + M.PSNR_CAP_DB) / 2)

    def test_summary_skips_nan_char_mse(self):
        s = M.FrameScores(*(np.array([1.0, 3.0]) for _ in M.METRIC_NAMES))
        s = M.FrameScores(s.sse, s.mse, np.array([np.nan, 2.0]), s.psnr, s.ssim)
        assert M.summarize(s)["char_mse"] == pytest.approx(2.0)
        assert M.summarize(s)["sse"] == pytest.approx(2.0)
