"""``motion="flow"``: a learned full-resolution backward flow, coarse to fine (PWC-style); the shipped model's form.

The coarse estimate is the 16x16 soft correlation of the dense form (:class:`~motionmap.model.forms.dense.DenseTau`:
learned features plus the fixed patch descriptor). It is refined at H/2 x W/2 and H x W by small conv blocks that see
the target frame's features, the source frame's features warped by the current flow, a 3x3 local correlation of the
two and the current flow, and predict a residual (zero-initialised: training starts from the coarse motion). Before
each learned refinement a fixed local matching step (:func:`motionmap.model.motion.match_step`) corrects the flow.

Only the flow carries information from the target frame ``x'`` onward: the decoder sees the source warped by it.

Shapes: images ``float [B,3,H,W] in [0,1]`` (H, W multiples of 4); flows are *displacements in pixels*
``float [B,2,h,w]`` (x, y) of the backward map target -> source (the flow maths are in :mod:`motionmap.model.motion`).
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig
from motionmap.model.forms.dense import DenseTau
from motionmap.model.motion import (Motion, flow_motion, grid_to_flow, local_correlation, match_step, resize_flow,
                                    warp_flow)
from motionmap.model.nets import channels_last


class ResidualLevel(nn.Module):
    """One refinement level: (target feats, warped source feats, local correlation, flow) -> residual flow (pixels)."""

    def __init__(self, feat: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2 * feat + 9 + 2, hidden, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(hidden, 2, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)  # start from the coarser level's motion
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, feat_tgt: Tensor, feat_src: Tensor, flow: Tensor) -> Tensor:
        """feat_tgt, feat_src ``[B,F,h,w]``, flow ``[B,2,h,w]`` (pixels at this level) -> refined flow ``[B,2,h,w]``."""
        warped = warp_flow(feat_src, flow).to(feat_tgt.dtype)
        corr = local_correlation(feat_tgt, warped)
        x = torch.cat([feat_tgt, warped, corr, flow.to(feat_tgt.dtype) / 4.0], dim=1)
        return flow + self.net(channels_last(x)).float().contiguous()


class FlowFeatures(nn.Module):
    """Image ``float [B,3,H,W]`` -> ``[feats at H x W, feats at H/2 x W/2]`` (``flow_hidden // 2`` and ``flow_hidden``
    channels)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        c1, c2 = max(1, cfg.flow_hidden // 2), cfg.flow_hidden
        self.full = nn.Sequential(nn.Conv2d(3, c1, 3, padding=1), nn.LeakyReLU(0.1, inplace=True))
        self.down = nn.Sequential(nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, image: Tensor) -> List[Tensor]:
        full = self.full(channels_last(image))
        # local_correlation reduces over channels: several times faster in the usual order
        return [full.contiguous(), self.down(full).contiguous()]


class FlowTau(nn.Module):
    """tau as a dense backward flow at full resolution: coarse correlation (16x16) + two residual refinements.

    Returns a :class:`~motionmap.model.motion.Motion` whose ``pixel_grid`` is the final H x W flow, ``latent_grid`` the
    same flow averaged to the feature resolution, and ``pyramid`` every level's flow (for multi-scale losses).
    """

    name = "flow"
    has_flow = True

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.coarse = DenseTau(cfg)
        self.feats = FlowFeatures(cfg)
        c1, c2 = max(1, cfg.flow_hidden // 2), cfg.flow_hidden
        self.refine_half = ResidualLevel(c2, cfg.flow_hidden)
        self.refine_full = ResidualLevel(c1, cfg.flow_hidden)

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        b, _, h, w = feat_src.shape
        H, W = img_src.shape[-2:]
        coarse = self.coarse(feat_src, feat_tgt, img_src, img_tgt)
        flow_c = grid_to_flow(coarse.latent_grid.float())  # (B, 2, h, w) pixels at h x w
        # A source that is one frame for the whole batch (a retarget's a0, expanded) goes through each fixed or
        # learned per-frame step once.
        one = motion.is_broadcast(img_src)
        pyr = self.feats(torch.cat([img_src[:1] if one else img_src, img_tgt]))
        ns = 1 if one else b
        src, tgt = [p[:ns].expand(b, -1, -1, -1) for p in pyr], [p[ns:] for p in pyr]
        cfg = self.cfg
        if cfg.flow_match_radius > 0:
            src_q = motion.once_if_broadcast(lambda im: F.avg_pool2d(im, 4), img_src)
            tgt_q = F.avg_pool2d(img_tgt, 4)
            flow_c = flow_c + match_step(src_q, tgt_q, flow_c, cfg.flow_match_radius, cfg.flow_match_temperature,
                                         cfg.flow_match_sigma / 4)
        flow_h = resize_flow(flow_c, H // 2, W // 2)
        src_h, tgt_h = motion.once_if_broadcast(lambda im: F.avg_pool2d(im, 2), img_src), F.avg_pool2d(img_tgt, 2)
        for _ in range(cfg.flow_match_steps if cfg.flow_match_radius > 0 else 0):
            flow_h = flow_h + match_step(src_h, tgt_h, flow_h, cfg.flow_match_radius, cfg.flow_match_temperature,
                                         cfg.flow_match_sigma / 2)
        flow_h = self.refine_half(tgt[1], src[1], flow_h)
        flow_f = resize_flow(flow_h, H, W)
        for _ in range(cfg.flow_match_steps if cfg.flow_match_radius > 0 else 0):
            flow_f = flow_f + match_step(img_src, img_tgt, flow_f, cfg.flow_match_radius, cfg.flow_match_temperature,
                                         cfg.flow_match_sigma)
        flow_f = self.refine_full(tgt[0], src[0], flow_f)
        return flow_motion(flow_f, (h, w), (flow_c, flow_h, flow_f))
