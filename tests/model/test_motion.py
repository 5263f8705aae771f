"""motionmap.model.motion: grids, warps, correlation and closed-form part affines."""

import math

import pytest
import torch

from motionmap.model import motion


class TestWarp:
    def test_identity_grid_returns_input(self):
        feat = torch.randn(2, 5, 16, 12)
        grid = motion.base_grid(16, 12).expand(2, 16, 12, 2)
        torch.testing.assert_close(motion.warp(feat, grid), feat, atol=1e-5, rtol=0)

    def test_identity_affine_leaves_latent_unchanged(self):
        feat = torch.randn(3, 8, 16, 16)
        grid = motion.affine_grid(motion.identity_affine(3), 16, 16)
        assert grid.shape == (3, 16, 16, 2)
        torch.testing.assert_close(motion.warp(feat, grid), feat, atol=1e-5, rtol=0)

    def test_translation_moves_content(self):
        img = torch.zeros(1, 1, 8, 8)
        img[0, 0, 3, 3] = 1.0
        theta = motion.identity_affine(1)
        theta[0, 0, 2] = 2 / 8  # sample one pixel to the right: content moves left by one pixel
        out = motion.warp(img, motion.affine_grid(theta, 8, 8))
        assert out[0, 0, 3, 2] == pytest.approx(1.0, abs=1e-5)

    def test_bad_shapes_raise(self):
        with pytest.raises(ValueError, match=r"expected src"):
            motion.warp(torch.zeros(3, 8, 8), torch.zeros(1, 8, 8, 2))

    def test_gradient_flows_to_grid(self):
        feat = torch.randn(1, 2, 8, 8)
        grid = motion.base_grid(8, 8)[None].clone().requires_grad_(True)
        motion.warp(feat, grid).sum().backward()
        assert grid.grad is not None and grid.grad.abs().sum() > 0


class TestPatchDescriptor:
    def test_shape_and_distance_is_patch_mse(self):
        img = torch.rand(2, 3, 64, 64)
        d = motion.patch_descriptor(img, cell=4, patch=8, pool=1)
        assert d.shape == (2, 3 * 64, 16, 16)
        assert motion.patch_descriptor(img).shape == (2, 3 * 36, 16, 16)
        # interior cell (5, 5): its patch is img[:, :, 18:26, 18:26]
        mse = (img[0, :, 18:26, 18:26] - img[1, :, 18:26, 18:26]).pow(2).mean()
        torch.testing.assert_close((d[0, :, 5, 5] - d[1, :, 5, 5]).pow(2).sum(), mse)

    def test_black_is_zero(self):
        d = motion.patch_descriptor(torch.zeros(1, 3, 16, 16))
        assert d.abs().max() == 0


class TestCorrelation:
    def test_self_match_is_in_place(self):
        torch.manual_seed(0)
        desc = torch.nn.functional.normalize(torch.randn(2, 64, 8, 8), dim=1)
        m = motion.correlation_matches(motion.match_costs(desc, desc, 2), 8, 8, temperature=0.02, sigma_cells=4.0, pad=2)
        assert m.src_coords.shape == (2, 64, 2)
        expect = motion.base_grid(8, 8).expand(2, 8, 8, 2)
        got = m.src_coords.view(2, 8, 8, 2)
        # Interior cells match themselves; border cells also match their replicated copies outside the frame, which
        # sample the same border values, so there only the warped result is checked.
        torch.testing.assert_close(got[:, 1:-1, 1:-1], expect[:, 1:-1, 1:-1], atol=0.02, rtol=0)
        torch.testing.assert_close(motion.warp(desc, got), desc, atol=0.05, rtol=0)


    def test_black_border_cells_stay_in_place(self):
        # All-black frames: every cost ties, the prior alone decides; padding keeps border cells unbiased.
        desc = torch.zeros(1, 8, 8, 8)
        m = motion.correlation_matches(motion.match_costs(desc, desc, 4), 8, 8, temperature=0.01, sigma_cells=2.0, pad=4)
        torch.testing.assert_close(m.src_coords[0], motion.base_grid(8, 8).view(64, 2), atol=0.02, rtol=0)

    def test_finds_a_shifted_blob(self):
        img = torch.zeros(1, 3, 32, 32)
        img[:, :, 8:16, 8:12] = torch.rand(3, 8, 4)
        moved = torch.roll(img, shifts=4, dims=3)  # content one cell (4 px) to the right
        cost = motion.match_costs(motion.patch_descriptor(img), motion.patch_descriptor(moved))
        m = motion.correlation_matches(cost, 8, 8, 0.01, 2.0)
        # target cell (row 2, col 3) holds the blob's right half; it came from col 2 of the source
        src = m.src_coords[0].view(8, 8, 2)[2, 3]
        assert src[0].item() == pytest.approx((2 * 2 + 1) / 8 - 1, abs=0.05)


    @pytest.mark.parametrize("fixed", [False, True])
    def test_fused_soft_matches_equal_costs_then_matches(self, fixed):
        g = torch.Generator().manual_seed(1)
        src, tgt = torch.randn(2, 16, 8, 8, generator=g) * 0.2, torch.randn(2, 16, 8, 8, generator=g) * 0.2
        psrc, ptgt = torch.rand(2, 12, 8, 8, generator=g) * 0.2, torch.rand(2, 12, 8, 8, generator=g) * 0.2
        weights = torch.randn(2, 64, 2, generator=g)  # a loss on the matches, for their gradients
        grads = []
        for fused in (False, True):
            s, t = src.clone().requires_grad_(), tgt.clone().requires_grad_()
            if fused:
                coords = motion.soft_matches(s, t, 0.01, 2.0, 3, fixed=(psrc, ptgt) if fixed else None).src_coords
            else:
                cost = motion.match_costs(s, t, 3) + (motion.match_costs(psrc, ptgt, 3) if fixed else 0)
                coords = expect = motion.correlation_matches(cost, 8, 8, 0.01, 2.0, 3).src_coords
            (coords * weights).sum().backward()
            grads.append((s.grad, t.grad))
        torch.testing.assert_close(coords, expect, atol=1e-4, rtol=0)
        for got, want in zip(grads[1], grads[0]):  # through the folded |s|^2 channel and the soft-argmax's backward
            torch.testing.assert_close(got, want, atol=2e-3 * want.abs().max().item(), rtol=0)


def test_soft_argmax_gradient_is_autograds_through_softmax():
    """The hand-written backward of the soft-argmax equals autograd's through softmax and the product."""
    g = torch.Generator().manual_seed(2)
    logits = (torch.randn(3, 5, 7, generator=g, dtype=torch.float64) * 3).requires_grad_()
    points = torch.rand(7, 2, generator=g, dtype=torch.float64) * 2 - 1
    weights = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    got = motion.soft_argmax(logits * 1.0, points)
    (got * weights).sum().backward()
    mine, logits.grad = logits.grad, None
    want = logits.softmax(-1) @ points
    (want * weights).sum().backward()
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(mine, logits.grad)
    with torch.no_grad():  # the path without autograd gives the same points
        torch.testing.assert_close(motion.soft_argmax(logits * 1.0, points), want)


def test_unit_channels_is_normalize_over_channels():
    """Each pixel's channel vector at unit length, vectors shorter than eps divided by eps (F.normalize's rule), in
    either memory order."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    x = torch.randn(2, 5, 4, 3)
    x[0, :, 0, 0] = 0.0  # a zero vector stays zero
    x[1, :, 1, 1] = 1e-5  # shorter than eps: scaled by 1/eps, not to unit length
    for inp in (x, x.contiguous(memory_format=torch.channels_last)):
        out = motion.unit_channels(inp, eps=1e-3)
        torch.testing.assert_close(out, F.normalize(x, dim=1, eps=1e-3))
    lengths = motion.unit_channels(x, eps=1e-3).norm(dim=1)
    assert torch.allclose(lengths[0, 1:, :], torch.ones(3, 3)) and lengths[0, 0, 0] == 0
    assert lengths[1, 1, 1] < 0.1
    # trains like F.normalize: finite gradients, zero vectors included
    leaf = x.clone().requires_grad_(True)
    motion.unit_channels(leaf, eps=1e-3).sum().backward()
    ref = x.clone().requires_grad_(True)
    F.normalize(ref, dim=1, eps=1e-3).sum().backward()
    assert torch.isfinite(leaf.grad).all()
    torch.testing.assert_close(leaf.grad, ref.grad)
