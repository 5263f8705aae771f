"""The MotionMapper losses as pure functions: pixel, latent matching, background consistency; and for
motion="flow" the flow terms: multi-scale photometric warp, edge-aware smoothness, static flat regions."""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from motionmap.model.motion import warp_flow


def pixel_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean ``|x^' - x'|`` over ``float [B,3,H,W]`` images in [0,1] -> scalar."""
    return (pred.float() - target.float()).abs().mean()


def latent_loss(warped: Tensor, target: Tensor, form: str = "cosine") -> Tensor:
    """Equivariance ``match(T.f(x), f(x'))`` over ``float [B,C,h,w]`` feature maps -> scalar.

    form "l1": the paper's ``|T.f(x) - f(x')|`` (mean). form "cosine": ``1 - cos`` per cell along C, mean over cells,
    in [0, 2]; scale-free, so it cannot be lowered by shrinking features toward zero (docs/RESEARCH.md).
    """
    if form == "l1":
        return (warped.float() - target.float()).abs().mean()
    if form == "cosine":
        return (1 - F.cosine_similarity(warped.float(), target.float(), dim=1, eps=1e-4)).mean()
    raise ValueError(f"latent_loss: form must be 'cosine' or 'l1', got {form!r}")


def background_loss(bg: Tensor, bg_next: Tensor) -> Tensor:
    """Mean ``|h(x) - h(x')|`` over ``float [B,C,h,w]`` feature maps -> scalar; 0 when the maps are identical."""
    return (bg.float() - bg_next.float()).abs().mean()


def warp_loss(source: Tensor, target: Tensor, flows: Sequence[Tensor]) -> Tensor:
    """Multi-scale photometric L1 of ``source`` warped by each backward flow against ``target`` -> scalar.

    source, target: ``float [B,3,H,W] in [0,1]``; flows: pixel displacements ``float [B,2,h,w]`` coarse to fine, each
    at a resolution dividing H x W. Each level is scored at its own resolution on area-averaged images (coarse levels
    see blurred frames: a wide basin for large motions). The finest weighs 1, each coarser level half the next. 0 for a
    perfect warp.
    """
    H, W = source.shape[-2:]
    total, weight = source.new_zeros(()).float(), 1.0
    for flow in reversed(list(flows)):
        h, w = flow.shape[-2:]
        src, tgt = source.float(), target.float()
        if (h, w) != (H, W):
            src, tgt = F.adaptive_avg_pool2d(src, (h, w)), F.adaptive_avg_pool2d(tgt, (h, w))
        total = total + weight * (warp_flow(src, flow.float()) - tgt).abs().mean()
        weight *= 0.5
    return total


def edge_weights(image: Tensor, alpha: float = 10.0) -> Tuple[Tensor, Tensor]:
    """``exp(-alpha * |dI|)`` along x ``[B,1,H,W-1]`` and y ``[B,1,H-1,W]`` for ``float [B,3,H,W]`` images in [0,1]."""
    image = image.float()
    gx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    gy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return torch.exp(-alpha * gx), torch.exp(-alpha * gy)


def smoothness_loss(flow: Tensor, image: Tensor, alpha: float = 10.0) -> Tensor:
    """Edge-aware first-order smoothness of ``flow`` ``float [B,2,H,W]`` (pixels) given the frame it is defined on
    (``float [B,3,H,W]``) -> scalar; 0 for a constant flow. ``alpha``: edge sensitivity (0: plain total variation)."""
    flow = flow.float()
    wx, wy = edge_weights(image, alpha)
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).abs()
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).abs()
    return (wx * dx).mean() + (wy * dy).mean()


def _window5(x: Tensor, op, fill: float) -> Tensor:
    """``op`` (add or maximum) over each 5x5 window of ``x`` ``[...,H,W]`` (stride 1, ``fill`` beyond the border), as
    two separable passes of shifted slices: several times faster on CPU than PyTorch's 5x5 pooling."""
    h, w = x.shape[-2:]
    p = F.pad(x, (2, 2, 0, 0), value=fill)
    rows = op(op(op(op(p[..., 0:w], p[..., 1 : w + 1]), p[..., 2 : w + 2]), p[..., 3 : w + 3]), p[..., 4 : w + 4])
    p = F.pad(rows, (0, 0, 2, 2), value=fill)
    return op(op(op(op(p[..., 0:h, :], p[..., 1 : h + 1, :]), p[..., 2 : h + 2, :]), p[..., 3 : h + 3, :]),
              p[..., 4 : h + 4, :])


def flat_weight(image: Tensor, alpha: float = 10.0) -> Tensor:
    """How flat each pixel's 5x5 neighbourhood is, ``float [B,1,H,W] in (0,1]`` for ``float [B,3,H,W]`` images:
    ``exp(-alpha * max over the 5x5 window of the contrast)``, the contrast being the channel mean of
    ``|image - its 5x5 mean|`` (windows cut at the border). 1 on uniform areas. No gradient is needed through it."""
    image = image.float()
    h, w = image.shape[-2:]
    mean = _window5(image, torch.add, 0.0) / _window5(image.new_ones(1, 1, h, w), torch.add, 0.0)
    contrast = (image - mean).abs().mean(1, keepdim=True)  # >= 0, so a 0 fill leaves the window maximum alone
    return torch.exp(-alpha * _window5(contrast, torch.maximum, 0.0))


def static_loss(flow: Tensor, image: Tensor, alpha: float = 10.0) -> Tensor:
    """Mean ``|flow|`` (pixels) on flat regions of ``image`` (no contrast in a 5x5 window, :func:`flat_weight`) ->
    scalar; 0 for no flow.

    flow ``float [B,2,H,W]``, image ``float [B,3,H,W] in [0,1]``: uniform areas (black, flat sky) should not move.
    """
    flat = flat_weight(image, alpha)
    return (flat * flow.float().abs().sum(1, keepdim=True)).mean()
