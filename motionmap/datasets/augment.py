"""Batched, device-agnostic pair augmentation: colour jitter, background compositing, horizontal flips.

These are pure tensor functions, called from :meth:`FramePairDataModule.on_after_batch_transfer`, so they run on the
GPU when training there and on whole batches on the CPU. The random parameters are drawn beforehand (in the data
workers, from a per-batch seed) and passed in, so a batch is reproducible whatever device transforms it.
"""

from __future__ import annotations

import math

import torch

# ITU-R BT.601 luma weights: the grey a saturation change pulls towards.
_LUMA = (0.299, 0.587, 0.114)


def color_matrices(jitter: torch.Tensor) -> torch.Tensor:
    """Per-sample 3x3 RGB matrices from jitter parameters.

    jitter: float [B, 3] = (hue shift in turns, saturation factor, brightness factor); ``(0, 1, 1)`` is the identity.
    Returns float [B, 3, 3] ``M`` so that ``rgb_out = M @ rgb``: a hue rotation about the grey axis, then a
    saturation lerp towards luma, then a brightness scale. (A rotation about (1,1,1) is the classic cheap hue shift;
    it is not exactly HSV hue, which does not matter for augmentation.)
    """
    if jitter.ndim != 2 or jitter.shape[1] != 3:
        raise ValueError(f"jitter: expected [B, 3], got {tuple(jitter.shape)}")
    jitter = jitter.float()
    b = jitter.shape[0]
    theta = jitter[:, 0] * (2 * math.pi)
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    eye = torch.eye(3, device=jitter.device).expand(b, 3, 3)
    ones = torch.full((3, 3), 1.0 / 3.0, device=jitter.device)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=jitter.device) / math.sqrt(3)
    hue = cos * eye + sin * cross + (1 - cos) * ones  # (B, 3, 3) Rodrigues rotation about (1,1,1)/sqrt(3)
    luma = torch.tensor(_LUMA, device=jitter.device)[None, :].expand(3, 3)  # each output row takes the grey value
    s = jitter[:, 1][:, None, None]
    sat = s * eye + (1 - s) * luma  # (B, 3, 3)
    return jitter[:, 2][:, None, None] * (sat @ hue)


def apply_color(rgb: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """rgb: float [T, B, 3, H, W] in [0, 1]; matrices: float [B, 3, 3]. Returns float [T, B, 3, H, W] in [0, 1]."""
    return torch.einsum("bij,tbjhw->tbihw", matrices, rgb).clamp_(0.0, 1.0)


def composite_pairs(
    frames: torch.Tensor,
    backgrounds: torch.Tensor,
    background_index: torch.Tensor,
    flip: torch.Tensor,
    jitter: torch.Tensor,
) -> torch.Tensor:
    """Jitter the character, composite it over its background, flip: the whole per-batch augmentation.

    frames: uint8 [B, T, H, W, 4] RGBA (T frames of one animation per sample, usually T=2).
    backgrounds: uint8 [N, H, W, 3]; background_index: int64 [B], ``-1`` for plain black.
    flip: bool [B] (mirror all T frames and the background left-right); jitter: float [B, 3] (see
    :func:`color_matrices`), applied to the character only.
    Returns float [T, B, 3, H, W] in [0, 1] (frame axis first: ``out[t]`` is a contiguous batch); every frame of a
    sample shares its background, flip and jitter.
    """
    if frames.ndim != 5 or frames.shape[-1] != 4 or frames.dtype != torch.uint8:
        raise ValueError(f"frames: expected uint8 [B, T, H, W, 4], got {frames.dtype} {tuple(frames.shape)}")
    b, _, h, w, _ = frames.shape
    # Flip the uint8 inputs (4x less memory than the float output); compositing is per pixel, so it commutes.
    any_flip = bool(flip.any())
    if any_flip:
        frames = torch.where(flip[:, None, None, None, None], frames.flip(3), frames)
    # Frame axis first, so each frame's batch x[t] comes out contiguous [B, 3, H, W] without another copy.
    x = frames.permute(1, 0, 4, 2, 3).float().div_(255.0)  # (T, B, 4, H, W)
    rgb, alpha = x[:, :, :3], x[:, :, 3:]
    if not bool((jitter == jitter.new_tensor([0.0, 1.0, 1.0])).all()):
        rgb = apply_color(rgb, color_matrices(jitter))
    bg = torch.zeros(b, 3, h, w, device=frames.device)
    has_bg = background_index >= 0
    if bool(has_bg.any()):
        if backgrounds.shape[1:] != (h, w, 3):
            raise ValueError(f"backgrounds: expected [N, {h}, {w}, 3], got {tuple(backgrounds.shape)}")
        picked = backgrounds[background_index.clamp(min=0)]  # (B, H, W, 3) uint8
        if any_flip:
            picked = torch.where(flip[:, None, None, None], picked.flip(2), picked)
        picked = picked.permute(0, 3, 1, 2).float().div_(255.0)  # (B, 3, H, W)
        bg = torch.where(has_bg[:, None, None, None], picked, bg)
    out = torch.empty(rgb.shape, device=rgb.device)  # (T, B, 3, H, W), contiguous
    return torch.lerp(bg[None], rgb, alpha, out=out)  # rgb * alpha + bg * (1 - alpha)
