"""The target adaptor: the source's motion, moved onto the target's body.

The flow form computes motion on the source pair ``a0 -> a_t`` and warps the target ``b0`` with it. That is right
when both characters share a body (the same pixels move), and wrong where they do not: a female Universal LPC body
swings its arms and steps elsewhere than a male one in the same frame of the same walk, so warping ``b0`` with the
male's flow tears it (docs/RESEARCH.md, "cross-body transfer"). :class:`FlowAdapt` predicts a residual flow for the
target from ``b0``, the source pair, the source flow and ``b0`` warped by it. It is trained on pairs of two
characters playing the same animation (``data.cross_pairs``), where the partner's next frame is the truth, and its
last layer starts at zero, so an untrained adaptor changes nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model.motion import warp_flow
from motionmap.model.nets import channels_last

FLOW_SCALE = 8.0  # pixels: the flow enters the network divided by this, and the residual leaves multiplied by it


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class FlowAdapt(nn.Module):
    """A small U-Net (full, 1/2 and 1/4 resolution) from 14 channels to a residual backward flow.

    forward(b0, a0, a_t, flow_a): images ``float [B,3,H,W] in [0,1]`` (H, W multiples of 4; b0 and a0 may be
    ``[1,3,H,W]`` and broadcast), ``flow_a`` the source's backward flow ``float [B,2,H,W]`` in pixels ->
    the target's backward flow ``float [B,2,H,W]`` in pixels (``flow_a`` plus the learned residual).
    """

    def __init__(self, hidden: int):
        super().__init__()
        c = hidden
        self.inp = _conv(14, c)
        self.down1 = _conv(c, c, stride=2)
        self.down2 = _conv(c, 2 * c, stride=2)
        self.mid = nn.Conv2d(2 * c, 2 * c, 3, padding=2, dilation=2)
        self.up2 = _conv(3 * c, c)
        self.up1 = _conv(2 * c, c)
        self.out = _conv(c, 2)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, b0: Tensor, a0: Tensor, a_t: Tensor, flow_a: Tensor) -> Tensor:
        n = flow_a.shape[0]
        b0, a0 = b0.expand(n, -1, -1, -1), a0.expand(n, -1, -1, -1)
        moved = warp_flow(b0, flow_a).to(b0.dtype)  # what the unadapted model would show
        # channels-last throughout: its convs and nearest upsamplings run faster so (motionmap.model.nets)
        x = channels_last(torch.cat([b0, a0, a_t, moved, flow_a.to(b0.dtype) / FLOW_SCALE], dim=1))
        e0 = F.relu(self.inp(x))
        e1 = F.relu(self.down1(e0))
        e2 = F.relu(self.down2(e1))
        m = F.relu(self.mid(e2))
        u1 = F.relu(self.up2(torch.cat([F.interpolate(m, size=e1.shape[-2:], mode="nearest"), e1], dim=1)))
        u0 = F.relu(self.up1(torch.cat([F.interpolate(u1, size=e0.shape[-2:], mode="nearest"), e0], dim=1)))
        return flow_a + FLOW_SCALE * self.out(u0).float().contiguous()
