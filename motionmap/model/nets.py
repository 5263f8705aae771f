"""The plain networks of MotionMapper: encoders f and h, transformation networks tau, decoder g.

Each takes its :class:`~motionmap.model.config.NetConfig`; the math lives in :mod:`motionmap.model.motion`.
Images are ``float [B,3,H,W] in [0,1]`` with H and W multiples of 4; feature maps are ``float [B,C,H/4,W/4]``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig

CELL = 4  # pixels per feature cell: the encoders downsample twice by 2
PAD = 3  # cells of black padding around the source in the correlation (motions up to ~12 px match unbiased)


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def channels_last(x: Tensor) -> Tensor:
    """``x`` ``[B,C,H,W]`` in channels-last memory order (the same values): the full-resolution convs with few channels
    run about twice as fast so on CPU (oneDNN), forward and backward, and it is the fast order on GPUs."""
    return x.contiguous(memory_format=torch.channels_last)


class Encoder(nn.Module):
    """Image ``float [B,3,H,W] in [0,1]`` -> feature map ``float [B,C,H/4,W/4]`` (unbounded).

    Three 3x3 convs (two stride-2): lean on purpose, training must reach >= 100 pairs/s on 2 CPU cores.
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.net = nn.Sequential(
            conv(3, cfg.hidden, 2), nn.ReLU(inplace=True),
            conv(cfg.hidden, cfg.channels, 2), nn.ReLU(inplace=True),
            conv(cfg.channels, cfg.channels),
        )

    def forward(self, image: Tensor) -> Tensor:
        return self.net(channels_last(image)).contiguous()  # what follows reduces over channels: the usual order


class Motion(NamedTuple):
    """A transform ``T`` from tau, in the two forms the rest of the model needs.

    latent_grid: ``float [B,h,w,2]`` sampling grid (src_from_tgt) at feature resolution, for ``T . f(x)``.
    pixel_grid: ``float [B,H,W,2]`` the same transform at image resolution, for the copy path.
    pyramid: for motion="flow", each level's backward flow in pixels, coarse to fine (``[B,2,H/4,W/4]``,
    ``[B,2,H/2,W/2]``, ``[B,2,H,W]``); empty otherwise.
    """

    latent_grid: Tensor
    pixel_grid: Tensor
    pyramid: tuple = ()


class AffineTau(nn.Module):
    """The paper's tau: ``(f(x), f(x'))`` -> one 2x3 affine, regressed and initialised to identity."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        c = cfg.channels
        self.body = nn.Sequential(conv(2 * c, c, 2), nn.ReLU(inplace=True), conv(c, c, 2), nn.ReLU(inplace=True))
        self.head = nn.Linear(c, 6)
        nn.init.zeros_(self.head.weight)  # start from "no motion" (first-order-model, the paper)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        b, _, h, w = feat_src.shape
        z = self.body(torch.cat([feat_src, feat_tgt], dim=1)).mean(dim=(2, 3))  # (B, C)
        theta = self.head(z).view(b, 2, 3).float()
        H, W = img_src.shape[-2:]
        return Motion(latent_grid=motion.affine_grid(theta, h, w), pixel_grid=motion.affine_grid(theta, H, W))


class PartsTau(nn.Module):
    """tau as K part affines fitted in closed form from a correlation volume (a local-affine motion model).

    Correlation features: learned ``f`` projected and normalised, concatenated with a fixed pixel-patch descriptor.
    Soft part masks come from ``f(x')`` plus coordinates (so parts can start as spatial regions).
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.proj = nn.Conv2d(c, c, 1)
        if cfg.motion == "parts":
            self.mask_head = nn.Sequential(conv(c + 2, c), nn.ReLU(inplace=True), nn.Conv2d(c, cfg.parts, 1))

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        with torch.autocast(device_type=feat_src.device.type, enabled=False):
            # The correlation softmax and the 3x3 solves need float32 (no bf16 linalg; bf16 coordinates blur).
            return self._forward(feat_src.float(), feat_tgt.float(), img_src.float(), img_tgt.float())

    def _forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        cfg = self.cfg
        b, _, h, w = feat_src.shape
        H, W = img_src.shape[-2:]
        # Learned part: unit features scaled so their squared distance is in [0, 1], like the patch part's.
        describe = lambda feat: F.normalize(self.proj(feat), dim=1, eps=1e-3) * 0.5  # noqa: E731
        desc_src = motion.once_if_broadcast(describe, feat_src)  # a retarget's a0: described once
        desc_tgt = describe(feat_tgt)
        fixed = None
        if cfg.patch_descriptor:
            # Fixed descriptor keeps the correlation peaked even when learned features flatten (docs/RESEARCH.md).
            # No gradient flows into it, so it is computed without autograd (half the step's cost otherwise).
            with torch.no_grad():
                fixed = (motion.once_if_broadcast(lambda im: motion.patch_descriptor(im, CELL), img_src),
                         motion.patch_descriptor(img_tgt, CELL))
        matches = motion.soft_matches(desc_src, desc_tgt, cfg.temperature, cfg.match_sigma, PAD, fixed=fixed,
                                      confidence=cfg.motion == "parts")
        if cfg.motion != "parts":  # "dense", and the coarse level of "flow"
            # The matches themselves as a coarse flow field (no part model): sharper on small motions.
            grid = matches.src_coords.view(b, h, w, 2)
            full = F.interpolate(grid.permute(0, 3, 1, 2), size=(H, W), mode="bilinear", align_corners=False)
            return Motion(grid, full.permute(0, 2, 3, 1))

        coords = motion.base_grid(h, w, feat_tgt.device, feat_tgt.dtype).permute(2, 0, 1)  # (2, h, w)
        mask_in = torch.cat([feat_tgt, coords.expand(b, 2, h, w)], dim=1)
        masks = self.mask_head(mask_in).float().softmax(dim=1)  # (B, K, h, w)
        weights = masks.flatten(2) * matches.confidence.unsqueeze(1)  # (B, K, N)
        grid_pts = motion.base_grid(h, w, feat_src.device, torch.float32).view(-1, 2)  # (N, 2)
        affines = motion.fit_part_affines(grid_pts, matches.src_coords, weights, cfg.ridge)  # (B, K, 2, 3)
        masks_full = F.interpolate(masks, size=(H, W), mode="bilinear", align_corners=False)
        return Motion(latent_grid=motion.blend_part_grid(affines, masks),
                      pixel_grid=motion.blend_part_grid(affines, masks_full))


class Decoded(NamedTuple):
    """Decoder output. image: ``float [B,3,H,W] in [0,1]``; alpha: ``[B,1,H,W] in [0,1]`` weight of the copy path
    (None without one)."""

    image: Tensor
    alpha: Optional[Tensor]


class Decoder(nn.Module):
    """g: feature map ``float [B,C,h,w]`` (+ warped source pixels ``[B,3,H,W]`` for the copy path) -> image.

    With the copy path the output is ``alpha * warped_pixels + (1 - alpha) * rendered``: the decoder renders what the
    warp cannot (occlusions, new limbs) and otherwise passes sharp pixels through.
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        c, hid = cfg.channels, cfg.hidden
        self.copy_path = cfg.copy_path
        self.low = nn.Sequential(conv(c, c), nn.ReLU(inplace=True))
        self.mid = nn.Sequential(conv(c, hid), nn.ReLU(inplace=True))
        extra = 3 if cfg.copy_path else 0
        self.high = nn.Sequential(conv(hid + extra, hid), nn.ReLU(inplace=True), conv(hid, 3 + (1 if cfg.copy_path else 0)))
        if cfg.copy_path:
            with torch.no_grad():
                self.high[-1].bias[3] = 2.0  # start by copying (alpha ~ 0.88): gradient reaches the motion at once

    def forward(self, z: Tensor, warped_pixels: Optional[Tensor] = None) -> Decoded:
        # Channels-last throughout: the nearest-neighbour upsamplings run several times faster so on CPU.
        y = self.low(channels_last(z))
        y = self.mid(F.interpolate(y, scale_factor=2, mode="nearest"))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        if self.copy_path:
            if warped_pixels is None:
                raise ValueError("Decoder: copy_path needs warped_pixels [B,3,H,W]")
            out = self.high(channels_last(torch.cat([y, warped_pixels.to(y.dtype)], dim=1))).contiguous()
            rgb = torch.sigmoid(out[:, :3])
            alpha = torch.sigmoid(out[:, 3:4])
            return Decoded(alpha * warped_pixels.to(rgb.dtype) + (1 - alpha) * rgb, alpha)
        return Decoded(torch.sigmoid(self.high(channels_last(y)).contiguous()), None)


def make_tau(cfg: NetConfig) -> nn.Module:
    """"affine" -> AffineTau; "parts" and "dense" -> PartsTau (dense skips the part fit); "flow" -> FlowTau."""
    if cfg.motion == "flow":
        from motionmap.model.flownet import FlowTau

        return FlowTau(cfg)
    return AffineTau(cfg) if cfg.motion == "affine" else PartsTau(cfg)
