"""The three MotionMapper losses as pure functions (DESIGN.md): pixel, latent matching, background consistency."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def pixel_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean ``|x^' - x'|`` over ``float [B,3,H,W]`` images in [0,1] -> scalar."""
    return (pred.float() - target.float()).abs().mean()


def latent_loss(warped: Tensor, target: Tensor, form: str = "cosine") -> Tensor:
    """Equivariance ``match(T.f(x), f(x'))`` over ``float [B,C,h,w]`` feature maps -> scalar.

    form "l1": the paper's ``|T.f(x) - f(x')|`` (mean). form "cosine": ``1 - cos`` per cell along C, mean over cells,
    in [0, 2]; scale-free, so it cannot be lowered by shrinking features toward zero (RESEARCH.md).
    """
    if form == "l1":
        return (warped.float() - target.float()).abs().mean()
    if form == "cosine":
        return (1 - F.cosine_similarity(warped.float(), target.float(), dim=1, eps=1e-4)).mean()
    raise ValueError(f"latent_loss: form must be 'cosine' or 'l1', got {form!r}")


def background_loss(bg: Tensor, bg_next: Tensor) -> Tensor:
    """Mean ``|h(x) - h(x')|`` over ``float [B,C,h,w]`` feature maps -> scalar; 0 when the maps are identical."""
    return (bg.float() - bg_next.float()).abs().mean()
