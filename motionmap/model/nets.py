"""The plain networks of MotionMapper: encoders f and h and decoder g (the transformation networks tau, one module per
motion form, are in :mod:`motionmap.model.forms`).

Each takes its :class:`~motionmap.model.config.NetConfig`; the math lives in :mod:`motionmap.model.motion`.
Images are ``float [B,3,H,W] in [0,1]`` with H and W multiples of 4; feature maps are ``float [B,C,H/4,W/4]``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model.config import NetConfig

CELL = 4  # pixels per feature cell: the encoders downsample twice by 2


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

