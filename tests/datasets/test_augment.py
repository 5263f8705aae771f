"""Batched augmentation: colour matrices, compositing over backgrounds, flips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmap.datasets.augment import apply_color, color_matrices, composite_pairs
from motionmap.io.images import composite_over

IDENTITY = torch.tensor([[0.0, 1.0, 1.0]])


class TestColorMatrices:
    def test_identity(self):
        torch.testing.assert_close(color_matrices(IDENTITY.repeat(3, 1)), torch.eye(3).expand(3, 3, 3))

    def test_hue_keeps_grey_and_full_turn_is_identity(self):
        m = color_matrices(torch.tensor([[0.23, 1.0, 1.0], [1.0, 1.0, 1.0]]))
        grey = torch.full((3,), 0.4)
        torch.testing.assert_close(m[0] @ grey, grey)
        torch.testing.assert_close(m[1], torch.eye(3), atol=1e-6, rtol=0)

    def test_third_turn_cycles_channels(self):
        m = color_matrices(torch.tensor([[1 / 3, 1.0, 1.0]]))[0]
        torch.testing.assert_close(m @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6, rtol=0)

    def test_zero_saturation_is_luma_and_brightness_scales(self):
        m = color_matrices(torch.tensor([[0.0, 0.0, 0.5]]))[0]
        rgb = torch.tensor([1.0, 0.0, 0.0])
        torch.testing.assert_close(m @ rgb, torch.full((3,), 0.299 * 0.5))

    def test_apply_clamps(self):
        rgb = torch.ones(2, 1, 3, 4, 4)
        out = apply_color(rgb, color_matrices(torch.tensor([[0.0, 1.0, 1.5]])))
        assert out.max() == 1.0

    def test_bad_shape(self):
        with pytest.raises(ValueError, match=r"\[B, 3\]"):
            color_matrices(torch.zeros(3))


def _frames(b=2, t=2, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 256, (b, t, 8, 8, 4), dtype=np.uint8)
    f[..., 3] = rng.choice([0, 128, 255], size=(b, t, 8, 8))
    return f


class TestCompositePairs:
    def test_matches_uint8_composite_over(self):
        f = _frames()
        bgs = np.random.default_rng(1).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
        idx = np.array([2, -1])
        out = composite_pairs(torch.from_numpy(f), torch.from_numpy(bgs), torch.from_numpy(idx),
                              torch.tensor([False, False]), IDENTITY.repeat(2, 1))
        assert out.shape == (2, 2, 3, 8, 8) and out.dtype == torch.float32
        assert out[0].is_contiguous()
        out = out.transpose(0, 1)  # (B, T, 3, H, W)
        want0 = composite_over(f[0], bgs[2][None]).transpose(0, 3, 1, 2) / 255.0
        want1 = composite_over(f[1], np.zeros((1, 8, 8, 3), np.uint8)).transpose(0, 3, 1, 2) / 255.0
        np.testing.assert_allclose(out[0].numpy(), want0, atol=1 / 255 + 1e-6)
        np.testing.assert_allclose(out[1].numpy(), want1, atol=1 / 255 + 1e-6)

    def test_flip_mirrors_frames_and_background(self):
        f = torch.from_numpy(_frames())
        bgs = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8))
        idx = torch.tensor([1, 1])
        plain = composite_pairs(f, bgs, idx, torch.tensor([False, False]), IDENTITY.repeat(2, 1))
        flipped = composite_pairs(f, bgs, idx, torch.tensor([True, False]), IDENTITY.repeat(2, 1))
        torch.testing.assert_close(flipped[:, 0], plain[:, 0].flip(-1))
        torch.testing.assert_close(flipped[:, 1], plain[:, 1])

    def test_jitter_touches_the_character_only(self):
        f = torch.from_numpy(_frames())
        bgs = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8))
        idx = torch.tensor([0, 2])
        jitter = torch.tensor([[0.2, 0.7, 1.2], [0.0, 1.0, 1.0]])
        base = composite_pairs(f, bgs, idx, torch.tensor([False, False]), IDENTITY.repeat(2, 1))
        out = composite_pairs(f, bgs, idx, torch.tensor([False, False]), jitter)
        transparent = (f[..., 3] == 0).transpose(0, 1)[:, :, None].expand(-1, -1, 3, -1, -1)  # (T, B, 3, H, W)
        torch.testing.assert_close(out[transparent], base[transparent])
        assert not torch.allclose(out[:, 0], base[:, 0])
        torch.testing.assert_close(out[:, 1], base[:, 1])

    def test_rejects_rgb_frames(self):
        with pytest.raises(ValueError, match=r"uint8 \[B, T, H, W, 4\]"):
            composite_pairs(torch.zeros(1, 2, 8, 8, 3, dtype=torch.uint8), torch.zeros(1, 8, 8, 3, dtype=torch.uint8),
                            torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.bool), IDENTITY)
