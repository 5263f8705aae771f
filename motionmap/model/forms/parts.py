"""``motion="parts"``: K part affines fitted in closed form from the dense form's correlation, blended by soft masks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig
from motionmap.model.forms.dense import DenseTau
from motionmap.model.motion import Motion
from motionmap.model.nets import conv


class PartsTau(DenseTau):
    """tau as K part affines (a local-affine motion model); soft part masks come from ``f(x')`` plus coordinates (so
    parts can start as spatial regions)."""

    name = "parts"
    has_flow = False

    def __init__(self, cfg: NetConfig):
        super().__init__(cfg)
        c = cfg.channels
        self.mask_head = nn.Sequential(conv(c + 2, c), nn.ReLU(inplace=True), nn.Conv2d(c, cfg.parts, 1))

    def _forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        b, _, h, w = feat_src.shape
        H, W = img_src.shape[-2:]
        matches = self.matches(feat_src, feat_tgt, img_src, img_tgt, confidence=True)
        coords = motion.base_grid(h, w, feat_tgt.device, feat_tgt.dtype).permute(2, 0, 1)  # (2, h, w)
        mask_in = torch.cat([feat_tgt, coords.expand(b, 2, h, w)], dim=1)
        masks = self.mask_head(mask_in).float().softmax(dim=1)  # (B, K, h, w)
        weights = masks.flatten(2) * matches.confidence.unsqueeze(1)  # (B, K, N)
        grid_pts = motion.base_grid(h, w, feat_src.device, torch.float32).view(-1, 2)  # (N, 2)
        affines = motion.fit_part_affines(grid_pts, matches.src_coords, weights, self.cfg.ridge)  # (B, K, 2, 3)
        masks_full = F.interpolate(masks, size=(H, W), mode="bilinear", align_corners=False)
        return Motion(latent_grid=motion.blend_part_grid(affines, masks),
                      pixel_grid=motion.blend_part_grid(affines, masks_full))
