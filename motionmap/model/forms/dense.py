"""``motion="dense"``: the soft matches of a 16x16 correlation volume used directly as a coarse flow field.

Correlation features: the learned ``f`` projected and normalised, with a fixed pixel-patch descriptor beside it. The
flow form (:mod:`motionmap.model.forms.flow`) uses this form as its coarse level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig
from motionmap.model.motion import Matches, Motion
from motionmap.model.nets import CELL

PAD = 3  # cells of black padding around the source in the correlation (motions up to ~12 px match unbiased)


class DenseTau(nn.Module):
    """tau as the correlation's soft matches, bilinearly upsampled to the frame (see
    :mod:`motionmap.model.forms.base` for the call)."""

    name = "dense"
    has_flow = False

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Conv2d(cfg.channels, cfg.channels, 1)

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        with torch.autocast(device_type=feat_src.device.type, enabled=False):
            # The correlation softmax needs float32 (bf16 coordinates blur). A source broadcast over the batch (a
            # retarget's a0) stays broadcast, so it is described once (a plain .float() of it would copy it per frame).
            as_float = lambda x: motion.once_if_broadcast(lambda one: one.float(), x)  # noqa: E731
            return self._forward(as_float(feat_src), feat_tgt.float(), as_float(img_src), img_tgt.float())

    def matches(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Matches:
        """Soft matches of every target cell into the source (``Matches.src_coords`` ``float [B,h*w,2]``), from
        float32 features ``[B,C,h,w]`` and frames ``[B,3,H,W]``."""
        cfg = self.cfg
        # Learned part: unit features scaled so their squared distance is in [0, 1], like the patch part's.
        describe = lambda feat: motion.unit_channels(self.proj(feat), eps=1e-3) * 0.5  # noqa: E731
        desc_src = motion.once_if_broadcast(describe, feat_src)  # a retarget's a0: described once
        desc_tgt = describe(feat_tgt)
        fixed = None
        if cfg.patch_descriptor:
            # Fixed descriptor keeps the correlation peaked even when learned features flatten (docs/RESEARCH.md).
            # No gradient flows into it, so it is computed without autograd (half the step's cost otherwise).
            with torch.no_grad():
                fixed = (motion.once_if_broadcast(lambda im: motion.patch_descriptor(im, CELL), img_src),
                         motion.patch_descriptor(img_tgt, CELL))
        return motion.soft_matches(desc_src, desc_tgt, cfg.temperature, cfg.match_sigma, PAD, fixed=fixed)

    def _forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        b, _, h, w = feat_src.shape
        H, W = img_src.shape[-2:]
        # The matches themselves as a coarse flow field (no part model): sharper on small motions.
        grid = self.matches(feat_src, feat_tgt, img_src, img_tgt).src_coords.view(b, h, w, 2)
        full = F.interpolate(grid.permute(0, 3, 1, 2), size=(H, W), mode="bilinear", align_corners=False)
        return Motion(grid, full.permute(0, 2, 3, 1))
