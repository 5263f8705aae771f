"""motionmap.model.losses: known answers."""

import pytest
import torch

from motionmap.model import losses


def test_background_zero_for_identical_backgrounds():
    h = torch.randn(4, 8, 16, 16)
    assert losses.background_loss(h, h.clone()).item() == 0.0
    assert losses.background_loss(h, h + 1).item() == pytest.approx(1.0)


def test_pixel_loss_known_value():
    a = torch.zeros(2, 3, 4, 4)
    assert losses.pixel_loss(a, a + 0.25).item() == pytest.approx(0.25)


def test_latent_cosine_is_scale_free_and_zero_on_match():
    f = torch.randn(2, 8, 4, 4)
    assert losses.latent_loss(f, f).item() == pytest.approx(0.0, abs=1e-5)
    assert losses.latent_loss(f, 3 * f).item() == pytest.approx(0.0, abs=1e-5)
    assert losses.latent_loss(f, -f).item() == pytest.approx(2.0, abs=1e-5)
    # L1 (the paper's form) is not: shrinking both maps lowers it, the collapse docs/RESEARCH.md describes.
    assert losses.latent_loss(0.1 * f, 0.1 * -f, "l1") < losses.latent_loss(f, -f, "l1")


def test_latent_unknown_form_raises():
    with pytest.raises(ValueError, match="form"):
        losses.latent_loss(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), "l2")


def test_flat_weight_is_the_pooled_contrast():
    """flat_weight's separable windows equal PyTorch's 5x5 pooling (border windows cut, not zero-padded)."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 16, 9, generator=g)
    image[:, :, :8] = 0.25  # a flat band: weight 1 where the contrasts in the whole window are 0 (rows 0-3)
    contrast = (image - F.avg_pool2d(image, 5, stride=1, padding=2, count_include_pad=False)).abs().mean(1, keepdim=True)
    want = torch.exp(-10.0 * F.max_pool2d(contrast, 5, stride=1, padding=2))
    got = losses.flat_weight(image)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    assert got.shape == (2, 1, 16, 9) and torch.all(got[:, :, :4] == 1) and got[:, :, 8:].max() < 0.9
