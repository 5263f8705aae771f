"""A learned full-resolution backward flow, coarse to fine (PWC-style): ``motion="flow"``.

The coarse estimate is the 16x16 soft correlation of :class:`~motionmap.model.nets.PartsTau` (dense form: learned
features plus the fixed patch descriptor). It is refined at H/2 x W/2 and H x W by small conv blocks that see the
target frame's features, the source frame's features warped by the current flow, a 3x3 local correlation of the two
and the current flow, and predict a residual (zero-initialised: training starts from the coarse motion).

Only the flow carries information from the target frame ``x'`` onward: the decoder sees the source warped by it.

Shapes: images ``float [B,3,H,W] in [0,1]`` (H, W multiples of 4); flows are *displacements in pixels*
``float [B,2,h,w]`` (x, y) of the backward map target -> source; grids are ``grid_sample`` grids ``[B,h,w,2]``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motionmap.model import motion
from motionmap.model.config import NetConfig
from motionmap.model.nets import channels_last


def flow_to_grid(flow: Tensor) -> Tensor:
    """Pixel displacements ``float [B,2,h,w]`` (target -> source) -> sampling grid ``float [B,h,w,2]``."""
    b, _, h, w = flow.shape
    scale = flow.new_tensor([2.0 / w, 2.0 / h]).view(1, 2, 1, 1)
    base = motion.base_grid(h, w, flow.device, flow.dtype)  # (h, w, 2)
    return base + (flow * scale).permute(0, 2, 3, 1)


def grid_to_flow(grid: Tensor) -> Tensor:
    """Inverse of :func:`flow_to_grid`: grid ``float [B,h,w,2]`` -> pixel displacements ``float [B,2,h,w]``."""
    b, h, w, _ = grid.shape
    base = motion.base_grid(h, w, grid.device, grid.dtype)
    scale = grid.new_tensor([w / 2.0, h / 2.0])
    return ((grid - base) * scale).permute(0, 3, 1, 2)


def resize_flow(flow: Tensor, height: int, width: int) -> Tensor:
    """Bilinearly resample a pixel-displacement field ``[B,2,h,w]`` to ``[B,2,height,width]``, rescaling its values."""
    h, w = flow.shape[-2:]
    if (h, w) == (height, width):
        return flow
    out = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
    return out * out.new_tensor([width / w, height / h]).view(1, 2, 1, 1)


def warp_flow(src: Tensor, flow: Tensor) -> Tensor:
    """``src`` ``[B,C,h,w]`` sampled at the backward displacement ``flow`` ``[B,2,h,w]`` (pixels) -> float32 ``[B,C,h,w]``.

    A zero flow returns ``src`` unchanged.
    """
    return motion.warp(src, flow_to_grid(flow.float()))


def local_correlation(a: Tensor, b: Tensor, radius: int = 1) -> Tensor:
    """Mean over C of ``a * shift(b)`` for every shift within ``radius`` -> ``[B,(2r+1)^2,h,w]`` (a, b ``[B,C,h,w]``;
    ``b`` is zero beyond the frame). Its backward pass is written out (:class:`_LocalCorrelation`): one multiply-add
    per shift and input instead of autograd's per-shift slices, padding and means (most of a training step's
    elementwise work otherwise)."""
    return _LocalCorrelation.apply(a, b, radius)


class _LocalCorrelation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, radius: int) -> Tensor:
        h, w = a.shape[-2:]
        n = 2 * radius + 1
        bp = F.pad(b, (radius,) * 4)
        out = torch.stack([(a * bp[:, :, dy : dy + h, dx : dx + w]).sum(1) for dy in range(n) for dx in range(n)], 1)
        ctx.save_for_backward(a, bp)
        ctx.radius = radius
        return out.mul_(1.0 / a.shape[1])

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, bp = ctx.saved_tensors
        r, (h, w) = ctx.radius, a.shape[-2:]
        n = 2 * r + 1
        grad = grad * (1.0 / a.shape[1])  # (B, S, h, w)
        ga = torch.zeros_like(a) if ctx.needs_input_grad[0] else None
        gbp = torch.zeros_like(bp) if ctx.needs_input_grad[1] else None
        for dy in range(n):
            for dx in range(n):
                g = grad[:, dy * n + dx].unsqueeze(1)  # (B, 1, h, w): the same for every channel
                if ga is not None:
                    ga.addcmul_(g, bp[:, :, dy : dy + h, dx : dx + w])
                if gbp is not None:
                    gbp[:, :, dy : dy + h, dx : dx + w].addcmul_(g, a)
        gb = None if gbp is None else gbp[:, :, r : r + h, r : r + w]
        return ga, gb, None


def pixel_descriptor(image: Tensor) -> Tensor:
    """Fixed descriptor of every pixel: its 3x3 neighbourhood, ``float [B,3,h,w]`` -> ``[B,27,h,w]``, scaled so a
    squared distance is the mean squared difference of the two neighbourhoods (in [0, 1])."""
    b, c, h, w = image.shape
    cols = F.unfold(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernel_size=3)  # (B, 27, h*w)
    return (cols / cols.shape[1] ** 0.5).view(b, -1, h, w)


@lru_cache(maxsize=32)
def _clamped_shift_index(h: int, w: int, radius: int, device: torch.device) -> Tensor:
    """For every shift ``s`` (row-major over ``[-r, r]^2``) and pixel ``p`` of an ``h x w`` map, the index of the shift
    ``clamp(p + s) - p`` (the in-frame shift a replicated border reads) -> ``int64 [1,S,h,w]``."""
    n = 2 * radius + 1
    with torch.inference_mode(False):  # cached: ordinary tensors, usable in autograd later
        d = torch.arange(-radius, radius + 1)
        ys, xs = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        dy, dx = d.repeat_interleave(n).view(-1, 1, 1), d.repeat(n).view(-1, 1, 1)  # (S, 1, 1)
        sy = (ys + dy).clamp(0, h - 1) - ys  # (S, h, 1)
        sx = (xs + dx).clamp(0, w - 1) - xs  # (S, 1, w)
        return ((sy + radius) * n + (sx + radius)).unsqueeze(0).to(device)  # (1, S, h, w)


def match_costs_local(src: Tensor, tgt: Tensor, radius: int) -> Tensor:
    """3x3-neighbourhood mean squared differences between ``tgt`` at each pixel and ``src`` at each shift within
    ``radius`` -> ``float [B,S,h,w]``, S = (2r+1)^2, shifts row-major (dy outer, dx inner), for ``float [B,3,h,w]``.

    Equals ``|pixel_descriptor(src)(clamp(p + s)) - pixel_descriptor(tgt)(p)|^2`` (descriptors replicated at the
    border, as the reference formulation pads them) up to float rounding, computed as a 3x3 box sum of per-shift
    squared pixel differences: 3 channels per shift instead of 27.
    """
    b, c, h, w = tgt.shape
    r, n = radius, 2 * radius + 1
    src_p = F.pad(src, (r + 1,) * 4, mode="replicate")  # (B, C, h+2r+2, w+2r+2)
    tgt_p = F.pad(tgt, (1, 1, 1, 1), mode="replicate")  # (B, C, h+2, w+2)
    diff = torch.empty(b, n * n, c, h + 2, w + 2, dtype=tgt_p.dtype, device=tgt_p.device)  # per shift
    for i in range(n):
        for j in range(n):
            torch.sub(src_p[:, :, i : i + h + 2, j : j + w + 2], tgt_p, out=diff[:, i * n + j])
    sq = diff.square_().sum(2)  # (B, S, h+2, w+2): squared differences summed over channels
    rows = sq[..., :-2] + sq[..., 1:-1]  # 3x3 box sum, separable
    rows += sq[..., 2:]
    cost = rows[..., :-2, :] + rows[..., 1:-1, :]
    cost += rows[..., 2:, :]
    cost *= 1.0 / (9 * c)  # (B, S, h, w): mean over the 9 pixels and C channels
    # Shifts that leave the frame read the replicated border: the cost of the in-frame shift they clamp to. Only
    # pixels within r of the border have such shifts.
    index = _clamped_shift_index(h, w, r, tgt.device)
    if h <= 2 * r or w <= 2 * r:
        return cost.gather(1, index.expand(b, -1, -1, -1))
    for ys, xs in ((slice(0, r), slice(None)), (slice(h - r, h), slice(None)),
                   (slice(r, h - r), slice(0, r)), (slice(r, h - r), slice(w - r, w))):
        part = index[:, :, ys, xs]
        cost[:, :, ys, xs] = cost[:, :, ys, xs].gather(1, part.expand(b, -1, -1, -1))
    return cost


@torch.no_grad()
def match_step(img_src: Tensor, img_tgt: Tensor, flow: Tensor, radius: int, temperature: float,
               sigma: float) -> Tensor:
    """One fixed (not learned) local matching step: the soft-argmin correction of ``flow`` over shifts within ``radius``.

    img_src, img_tgt ``float [B,3,h,w] in [0,1]`` (already at the flow's resolution), flow ``[B,2,h,w]`` (pixels) ->
    correction ``[B,2,h,w]`` (pixels, no gradient). Costs are 3x3-neighbourhood mean squared differences against the
    source warped by ``flow`` and shifted (:func:`match_costs_local`); the prior ``|flow + shift|^2 / (2 sigma^2)``
    makes ties (flat or black regions) resolve toward no motion, so uniform areas stay put. The prior's ``|flow|^2``
    is the same for every shift, so it is left out of the softmax (which it does not change).
    """
    with torch.autocast(device_type=flow.device.type, enabled=False):  # bf16 logits would blur the soft-argmin
        return _match_step(img_src.float(), img_tgt.float(), flow.float(), radius, temperature, sigma)


def _match_step(img_src: Tensor, img_tgt: Tensor, flow: Tensor, radius: int, temperature: float,
                sigma: float) -> Tensor:
    b, _, h, w = flow.shape
    n = 2 * radius + 1
    shifts = _shifts(radius, flow.device)  # (S, 2): (dx, dy)
    cost = match_costs_local(warp_flow(img_src, flow), img_tgt.float(), radius)  # (B, S, h, w)
    # logits = -cost / temperature - (2 flow.s + |s|^2) / (2 sigma^2): one batched matmul adds the prior
    prior = torch.cat([shifts, shifts.pow(2).sum(1, keepdim=True) / 2], 1) * (-1.0 / sigma**2)  # (S, 3)
    coords = torch.cat([flow.float().reshape(b, 2, h * w), flow.new_ones(b, 1, h * w)], 1)  # (B, 3, hw)
    logits = torch.baddbmm(cost.view(b, n * n, h * w), prior.expand(b, -1, -1), coords, beta=-1.0 / temperature)
    prob = motion.softmax_floored(logits, 1)  # (B, S, hw)
    return torch.matmul(shifts.t(), prob).view(b, 2, h, w)  # expected shift


@lru_cache(maxsize=8)
def _shifts(radius: int, device: torch.device) -> Tensor:
    """Every shift within ``radius``, row-major (dy outer, dx inner), as ``float [S,2]`` (dx, dy)."""
    with torch.inference_mode(False):  # cached: ordinary tensors, usable in autograd later
        d = torch.arange(-radius, radius + 1, dtype=torch.float32)
        return torch.stack([d.repeat(2 * radius + 1), d.repeat_interleave(2 * radius + 1)], 1).to(device)


class Refine(nn.Module):
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

    Returns a :class:`~motionmap.model.nets.Motion` whose ``pixel_grid`` is the final H x W flow, ``latent_grid`` the
    same flow averaged to the feature resolution, and ``pyramid`` every level's flow (for multi-scale losses).
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        from motionmap.model.nets import PartsTau  # nets imports this module

        self.cfg = cfg
        self.coarse = PartsTau(cfg)
        self.feats = FlowFeatures(cfg)
        c1, c2 = max(1, cfg.flow_hidden // 2), cfg.flow_hidden
        self.refine_half = Refine(c2, cfg.flow_hidden)
        self.refine_full = Refine(c1, cfg.flow_hidden)

    def forward(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor):
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


def flow_motion(flow: Tensor, latent_size, pyramid: tuple = ()):
    """A full-resolution backward flow ``float [B,2,H,W]`` (pixels) as a :class:`~motionmap.model.nets.Motion`: its
    ``pixel_grid``, and its average at ``latent_size`` (h, w) as ``latent_grid``."""
    from motionmap.model.nets import Motion

    H, W = flow.shape[-2:]
    h, w = latent_size
    down = flow.new_tensor([w / W, h / H]).view(1, 2, 1, 1)
    latent_grid = flow_to_grid(F.adaptive_avg_pool2d(flow, (h, w)) * down)
    return Motion(latent_grid, flow_to_grid(flow), pyramid)
