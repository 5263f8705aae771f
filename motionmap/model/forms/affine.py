"""``motion="affine"``: the paper's form, one 2x3 affine regressed from ``(f(x), f(x'))`` and initialised to identity."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig
from motionmap.model.motion import Motion
from motionmap.model.nets import conv


class AffineTau(nn.Module):
    """The paper's tau: ``(f(x), f(x'))`` -> one 2x3 affine, regressed and initialised to identity (see
    :mod:`motionmap.model.forms.base` for the call)."""

    name = "affine"
    has_flow = False

    def __init__(self, cfg: NetConfig):
        super().__init__()
        c = cfg.channels
        self.body = nn.Sequential(conv(2 * c, c, 2), nn.ReLU(inplace=True), conv(c, c, 2), nn.ReLU(inplace=True))
        self.head = nn.Linear(c, 6)
        nn.init.zeros_(self.head.weight)  # start from "no motion" (first-order-model, the paper)
        with torch.no_grad():
            self.head.bias.copy_(motion.identity_affine(1).flatten())

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        b, _, h, w = feat_src.shape
        z = self.body(torch.cat([feat_src, feat_tgt], dim=1)).mean(dim=(2, 3))  # (B, C)
        theta = self.head(z).view(b, 2, 3).float()
        H, W = img_src.shape[-2:]
        return Motion(latent_grid=motion.affine_grid(theta, h, w), pixel_grid=motion.affine_grid(theta, H, W))
