"""Pure, differentiable functions for the motion part of MotionMapper: grids, warps, correlation, flows
(flow <-> grid, resizing, warping, the fixed local matching step) and the :class:`Motion` every form returns.

Coordinates are normalised as in ``torch.nn.functional.grid_sample(align_corners=False)``: x and y in [-1, 1],
(-1, -1) the top-left corner of the top-left pixel. Every transform here is *backward*: ``src_from_tgt`` maps a
location of the frame being predicted (target, x') to where it is sampled in the source frame (x), which is what
``grid_sample`` needs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def identity_affine(batch: int, device=None, dtype=torch.float32) -> Tensor:
    """The identity 2x3 affine, ``[B,2,3]``."""
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=device, dtype=dtype)
    return eye.expand(batch, 2, 3).clone()


@lru_cache(maxsize=64)
def base_grid(height: int, width: int, device=None, dtype=torch.float32) -> Tensor:
    """Normalised pixel-centre coordinates ``[H,W,2]`` (x, y) in (-1, 1). Cached (a retarget asks for the same few
    grids hundreds of times): the tensor is shared, so never write to it."""
    with torch.inference_mode(False):  # cached: an ordinary tensor, usable in autograd later
        ys = (torch.arange(height, device=device, dtype=dtype) * 2 + 1) / height - 1
        xs = (torch.arange(width, device=device, dtype=dtype) * 2 + 1) / width - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx, gy], dim=-1)  # (H, W, 2)


def is_broadcast(x: Tensor) -> bool:
    """True when ``x`` ``[B,...]`` (B > 1) is one item expanded over its batch (stride 0, e.g. a retarget's ``a0``):
    work on it can be done once, on ``x[:1]``, and expanded again (the same numbers)."""
    return x.dim() > 0 and x.shape[0] > 1 and x.stride(0) == 0


def once_if_broadcast(fn, x: Tensor) -> Tensor:
    """``fn(x)`` for a per-item ``fn`` (each output item depends on its own input item only), computed on one item
    and expanded when ``x`` is one item broadcast over its batch (:func:`is_broadcast`)."""
    if not is_broadcast(x):
        return fn(x)
    out = fn(x[:1])
    return out.expand(x.shape[0], *out.shape[1:])


def unit_channels(x: Tensor, eps: float) -> Tensor:
    """``F.normalize(x, dim=1, eps=eps)`` for ``x`` ``[B,C,h,w]`` (the same values up to float rounding): each pixel's
    channel vector divided by ``max(norm, eps)``. Written out because torch's norm over the channels of a contiguous
    (not channels-last) map takes a slow path on CPU: about 400 us for ``[8,32,16,16]`` against 20 us so. The clamp
    comes before the square root, so a zero vector has a zero gradient, not 0 * inf."""
    return x / x.square().sum(1, keepdim=True).clamp_min(eps * eps).sqrt()


SOFTMAX_RANGE = 60.0
"""Logits more than this below their row's largest are raised to it by :func:`softmax_floored` (e^-60 ~ 1e-26)."""


def softmax_floored(logits: Tensor, dim: int) -> Tensor:
    """``logits.softmax(dim)`` after raising, in place, every logit to at least its row's largest minus
    :data:`SOFTMAX_RANGE`: the same probabilities up to float32 rounding (the raised ones stay below 1e-26, where they
    were already), but none in float32's subnormal range (below 1e-38), where CPU arithmetic on them, and on what they
    multiply in the matching and its backward pass, runs many times slower. ``logits``: a fresh tensor the caller no
    longer needs; the raise is not recorded by autograd (its effect on any gradient is below 1e-26)."""
    return floor_logits_(logits, dim).softmax(dim)


def floor_logits_(logits: Tensor, dim: int) -> Tensor:
    """The raise of :func:`softmax_floored`, in place, outside autograd -> ``logits``."""
    with torch.no_grad():
        logits.clamp_(min=logits.amax(dim, keepdim=True).sub_(SOFTMAX_RANGE))
    return logits


def warp(src: Tensor, src_from_tgt_grid: Tensor) -> Tensor:
    """Sample ``src`` ``[B,C,Hs,Ws]`` at ``src_from_tgt_grid`` ``[B,H,W,2]`` -> float32 ``[B,C,H,W]``.

    Outside the frame the border pixels are repeated (a background continues; black stays black).

    An identity grid (``base_grid``) returns ``src`` unchanged (bilinear at pixel centres).
    """
    if src.dim() != 4 or src_from_tgt_grid.dim() != 4 or src_from_tgt_grid.shape[-1] != 2:
        raise ValueError(f"warp: expected src (B,C,H,W) and grid (B,H,W,2), got {tuple(src.shape)} and "
                         f"{tuple(src_from_tgt_grid.shape)}")
    # float32 on purpose: bf16 coordinates are off by ~0.1 px at 64x64, enough to blur a sprite.
    return F.grid_sample(src.float(), src_from_tgt_grid.float(), mode="bilinear", padding_mode="border",
                         align_corners=False)


def affine_grid(src_from_tgt: Tensor, height: int, width: int) -> Tensor:
    """Sampling grid ``[B,H,W,2]`` of a ``[B,2,3]`` affine acting on normalised coordinates."""
    return F.affine_grid(src_from_tgt, [src_from_tgt.shape[0], 1, height, width], align_corners=False)


def patch_descriptor(image: Tensor, cell: int = 4, patch: int = 12, pool: int = 2) -> Tensor:
    """A fixed (not learned) descriptor: each ``cell``-strided location described by its ``patch`` x ``patch`` pixels.

    image ``float [B,C,H,W] in [0,1]`` -> ``float [B, C*(patch/pool)^2, H/cell, W/cell]``. The image is first
    average-pooled by ``pool`` (4x fewer dimensions for pool=2; the correlation is the training step's main cost).
    Scaled by 1/sqrt(D) so the squared distance of two descriptors is the mean squared difference of the (pooled)
    patches, in [0, 1]. Black patches are exactly 0.
    """
    b, c, h, w = image.shape
    if pool > 1:
        image = F.avg_pool2d(image, pool)
        cell, patch = cell // pool, patch // pool
    pad = (patch - cell) // 2
    cols = F.unfold(image, kernel_size=patch, stride=cell, padding=pad)  # (B, C*p*p, h*w)
    return (cols / cols.shape[1] ** 0.5).view(b, -1, h // (cell * pool), w // (cell * pool))


class Matches(NamedTuple):
    """Soft correspondences from the target frame's cells into the source frame.

    src_coords: ``float [B,N,2]`` normalised (x, y) in the source frame for each of the N = h*w target cells
    (may lie up to ``pad`` cells outside [-1, 1]: sampling there repeats the border).
    """

    src_coords: Tensor


def match_costs(desc_src: Tensor, desc_tgt: Tensor, pad: int = 3) -> Tensor:
    """Squared descriptor distances from every target cell to every (padded) source cell.

    desc_src, desc_tgt: ``float [B,D,h,w]`` -> ``float [B, N, M] >= 0`` with N = h*w, M = (h+2*pad)*(w+2*pad); the
    source's border cells are replicated ``pad`` cells outward (see :func:`correlation_matches`), matching
    :func:`warp`, which reads border pixels beyond the frame.
    """
    src = F.pad(desc_src, (pad, pad, pad, pad), mode="replicate").flatten(2)  # (B, D, M)
    tgt = desc_tgt.flatten(2)  # (B, D, N)
    cost = tgt.pow(2).sum(1).unsqueeze(2) + src.pow(2).sum(1).unsqueeze(1) - 2 * torch.einsum("bdn,bdm->bnm", tgt, src)
    return cost.clamp(min=0)


def correlation_matches(cost: Tensor, h: int, w: int, temperature: float, sigma_cells: float, pad: int = 3) -> Matches:
    """Soft-argmax matches of every target cell into the source, from a cost volume ``[B,N,M]`` (:func:`match_costs`).

    logits = -cost / temperature minus a Gaussian prior of ``sigma_cells`` cells on the displacement (ties in flat
    regions resolve to "no motion"). The source is padded by ``pad`` replicated cells so the prior is not truncated at
    the border: truncation biases the soft-argmax toward the frame's centre, where the character is.
    """
    grid_tgt = base_grid(h, w, cost.device, cost.dtype).view(-1, 2)  # (N, 2)
    grid_src = base_grid(h + 2 * pad, w + 2 * pad, cost.device, cost.dtype)  # (h+2p, w+2p, 2)
    grid_src = (grid_src * grid_src.new_tensor([(w + 2 * pad) / w, (h + 2 * pad) / h])).view(-1, 2)  # (M, 2)
    # Squared displacement in cells; one cell = 2/w (x) or 2/h (y) in normalised units.
    scale = grid_tgt.new_tensor([w / 2.0, h / 2.0])
    dist2 = torch.cdist(grid_tgt * scale, grid_src * scale).pow(2)  # (N, M)
    prob = (-cost / temperature - dist2 / (2 * sigma_cells**2)).softmax(dim=-1)  # (B, N, M)
    return Matches(prob @ grid_src)


def soft_matches(desc_src: Tensor, desc_tgt: Tensor, temperature: float, sigma_cells: float, pad: int = 3,
                 fixed: Optional[Tuple[Tensor, Tensor]] = None) -> Matches:
    """:func:`correlation_matches` of :func:`match_costs` in fused passes (the same matches up to float rounding).

    desc_src, desc_tgt ``float [B,D,h,w]``; ``fixed``: a second pair of descriptors ``[B,D',h,w]`` whose costs add to
    these (the fixed patch descriptor; no gradient is taken through it) -> :class:`Matches`. The softmax over source
    cells does not change when a term that depends only on the target cell is dropped, so ``|t|^2`` leaves the cost
    and the logits are ``(2 t.s - |s|^2) / temperature`` plus the locality prior: one ``baddbmm`` per pair onto the
    prior, with ``-|s|^2`` carried by the last pair's product as one more channel (``t`` gets a channel of ones,
    ``s`` one of ``-|s|^2 / 2``), so no pass over the ``[B,N,M]`` logits adds it or, in training, takes its gradient.
    The soft-argmax that follows is :func:`soft_argmax`. (The clamp at 0 of :func:`match_costs` only removed
    rounding below zero.)
    """
    b, d, h, w = desc_tgt.shape
    grid_src, prior = _match_prior(h, w, pad, float(sigma_cells), desc_tgt.device, desc_tgt.dtype)  # (M,2), (N,M)
    pairs = ([fixed] if fixed is not None else []) + [(desc_src, desc_tgt)]
    # A source that is one frame for the whole batch (a retarget's a0) is padded, and its |s|^2 taken, once.
    srcs = [F.pad(src[:1] if is_broadcast(src) else src, (pad, pad, pad, pad), mode="replicate").flatten(2)
            for src, _ in pairs]  # (B|1, D, M) each
    tgts = [tgt.flatten(2) for _, tgt in pairs]  # (B, D, N) each
    norms = srcs[0].pow(2).sum(1, keepdim=True)
    for src in srcs[1:]:
        norms = norms + src.pow(2).sum(1, keepdim=True)  # (B|1, 1, M)
    srcs[-1] = torch.cat([srcs[-1], norms.mul(-0.5)], 1)  # (B|1, D+1, M)
    tgts[-1] = torch.cat([tgts[-1], tgts[-1].new_ones(b, 1, h * w)], 1)  # (B, D+1, N)
    logits = None
    for src, tgt in zip(srcs, tgts):
        args = (tgt.transpose(1, 2), src.expand(b, -1, -1))  # (B, N, D), (B, D, M)
        if logits is None:
            logits = torch.baddbmm(prior, *args, alpha=2.0 / temperature)  # (B, N, M)
        else:
            logits = logits.baddbmm_(*args, alpha=2.0 / temperature)
    return Matches(soft_argmax(logits, grid_src))


def soft_argmax(logits: Tensor, points: Tensor) -> Tensor:
    """The expected point of each row's softmax: ``softmax_floored(logits, -1) @ points``; ``logits`` ``float
    [B,N,M]`` (a fresh tensor: raised in place, see :func:`softmax_floored`), ``points`` ``float [M,2]`` (constant)
    -> ``float [B,N,2]``. Under autograd, :class:`_SoftArgmax`'s backward."""
    floor_logits_(logits, -1)
    if torch.is_grad_enabled() and logits.requires_grad:
        return _SoftArgmax.apply(logits, points)
    return _expectation(logits.softmax(-1), points)


def _expectation(prob: Tensor, points: Tensor) -> Tensor:
    """``prob @ points`` for ``prob`` ``[B,N,M]``, ``points`` ``[M,2]``; written so the product runs with the 2 as
    its short side (``prob @ points`` itself takes several times longer on CPU: 2.3 against 0.7 ms at
    ``[32,256,484]``)."""
    return torch.einsum("bnm,km->bnk", prob, points.t().contiguous())


class _SoftArgmax(torch.autograd.Function):
    """``softmax(logits, -1) @ points`` with a backward in two passes over ``[B,N,M]`` instead of five: the gradient
    of the logits is ``prob * ((points - coords) . g)`` for the incoming ``g`` ``[B,N,2]`` (the softmax's Jacobian
    applied to ``g @ points.T``, whose row mean under ``prob`` is ``coords . g``), one batched product of
    ``[g, -coords.g]`` ``[B,N,3]`` with ``[points.T; 1]`` ``[3,M]`` and one multiply by ``prob``. No gradient for
    ``points``."""

    @staticmethod
    def forward(ctx, logits: Tensor, points: Tensor) -> Tensor:
        prob = logits.softmax(-1)
        coords = _expectation(prob, points)
        ctx.save_for_backward(prob, coords, points)
        return coords

    @staticmethod
    def backward(ctx, g: Tensor):
        prob, coords, points = ctx.saved_tensors
        b, _, m = prob.shape
        lhs = torch.cat([g, (coords * g).sum(-1, keepdim=True).neg_()], -1)  # (B, N, 3)
        rhs = torch.cat([points.t(), points.new_ones(1, m)]).expand(b, 3, m)  # (B, 3, M)
        return torch.bmm(lhs, rhs).mul_(prob), None


@lru_cache(maxsize=16)
def _match_prior(h: int, w: int, pad: int, sigma_cells: float, device, dtype) -> Tuple[Tensor, Tensor]:
    """The padded source's cell centres ``[M,2]`` and the Gaussian prior's logits ``-dist^2 / (2 sigma^2)`` ``[N,M]``
    of :func:`correlation_matches`."""
    with torch.inference_mode(False):  # cached: ordinary tensors, usable in autograd later
        grid_tgt = base_grid(h, w, device, dtype).view(-1, 2)  # (N, 2)
        grid_src = base_grid(h + 2 * pad, w + 2 * pad, device, dtype)
        grid_src = (grid_src * grid_src.new_tensor([(w + 2 * pad) / w, (h + 2 * pad) / h])).view(-1, 2)  # (M, 2)
        scale = grid_tgt.new_tensor([w / 2.0, h / 2.0])
        dist2 = torch.cdist(grid_tgt * scale, grid_src * scale).pow(2)  # (N, M)
        return grid_src, dist2 * (-1.0 / (2 * sigma_cells**2))


class Motion(NamedTuple):
    """A transform ``T`` from a motion form (:mod:`motionmap.model.forms`), in the two forms the rest of the model needs.

    latent_grid: ``float [B,h,w,2]`` sampling grid (src_from_tgt) at feature resolution, for ``T . f(x)``.
    pixel_grid: ``float [B,H,W,2]`` the same transform at image resolution, for the copy path.
    pyramid: for a form with ``has_flow``, each level's backward flow in pixels, coarse to fine (``[B,2,H/4,W/4]``,
    ``[B,2,H/2,W/2]``, ``[B,2,H,W]``); empty otherwise.
    """

    latent_grid: Tensor
    pixel_grid: Tensor
    pyramid: tuple = ()


# -- flows -------------------------------------------------------------------------------------------------------------
# Flows are *displacements in pixels* ``float [B,2,h,w]`` (x, y) of the backward map target -> source; grids are
# ``grid_sample`` grids ``[B,h,w,2]``.


def flow_to_grid(flow: Tensor) -> Tensor:
    """Pixel displacements ``float [B,2,h,w]`` (target -> source) -> sampling grid ``float [B,h,w,2]``."""
    b, _, h, w = flow.shape
    scale = flow.new_tensor([2.0 / w, 2.0 / h]).view(1, 2, 1, 1)
    base = base_grid(h, w, flow.device, flow.dtype)  # (h, w, 2)
    return base + (flow * scale).permute(0, 2, 3, 1)


def grid_to_flow(grid: Tensor) -> Tensor:
    """Inverse of :func:`flow_to_grid`: grid ``float [B,h,w,2]`` -> pixel displacements ``float [B,2,h,w]``."""
    b, h, w, _ = grid.shape
    base = base_grid(h, w, grid.device, grid.dtype)
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
    return warp(src, flow_to_grid(flow.float()))


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
        # Each shift's channel sum written into its slice of the output (a third faster than stacking the sums)
        out = torch.empty((a.shape[0], n * n, h, w), dtype=torch.result_type(a, b), device=a.device)
        for dy in range(n):
            for dx in range(n):
                torch.sum(a * bp[:, :, dy : dy + h, dx : dx + w], 1, out=out[:, dy * n + dx])
        ctx.save_for_backward(a, bp)
        ctx.radius = radius
        return out.mul_(1.0 / a.shape[1])

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, bp = ctx.saved_tensors
        r, (h, w) = ctx.radius, a.shape[-2:]
        n = 2 * r + 1
        # Contiguous: in training the correlation is concatenated into a channels-last input, so its gradient comes
        # back as a strided slice, and each shift's multiply-add then read it 27 or 43 elements apart (27 ms a flow
        # training step at batch 32 instead of 10; the same values either way).
        grad = torch.mul(grad, 1.0 / a.shape[1], out=torch.empty(grad.shape, dtype=grad.dtype, device=grad.device))
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


_SHIFTS_AT_ONCE = 32 * 32
"""Maps of at most this many pixels get :func:`match_costs_local`'s every-shift-at-once path, whatever the batch
(measured faster up to 32x32 on a 2-core CPU: 32 frames of 32x32 in 1.7 ms against 2.0 shift by shift)."""

_PIXELS_AT_ONCE = 8 * 64 * 64
"""Larger maps get it too while the batch holds at most this many pixels: its buffers (about 0.5 MB a 64x64 frame)
then stay in cache. Radius 2, 2 threads: 1 frame of 64x64 in 0.27 ms against 0.53 shift by shift, 4 in 0.86 against
1.32, 8 in 2.0 against 2.4; 11 frames in 6.5 ms against 2.7, past the cliff."""


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
    if h * w <= _SHIFTS_AT_ONCE or b * h * w <= _PIXELS_AT_ONCE:
        # A small map or batch: every shift at once, channel by channel (a window view of the padded source; 0.3 vs
        # 0.5 ms for 8 frames of 16x16 on 2 threads, where the shift-by-shift loop's 50 small ops cost more than their
        # work).
        windows = src_p.unfold(2, h + 2, 1).unfold(3, w + 2, 1)  # (B, C, n, n, h+2, w+2), a view
        sq = torch.empty(b, n, n, h + 2, w + 2, dtype=tgt_p.dtype, device=tgt_p.device)
        torch.sub(windows[:, 0], tgt_p[:, 0, None, None], out=sq).square_()
        diff = torch.empty_like(sq)
        for ch in range(1, c):
            torch.sub(windows[:, ch], tgt_p[:, ch, None, None], out=diff)
            sq.add_(diff.square_())
        sq = sq.view(b, n * n, h + 2, w + 2)
    else:
        # Shift by shift into one reused buffer: each difference is summed over channels while it is still in cache
        # (the same numbers as differencing every shift first, about twice as fast on a training batch).
        sq = torch.empty(b, n * n, h + 2, w + 2, dtype=tgt_p.dtype, device=tgt_p.device)  # (B, S, h+2, w+2)
        diff = torch.empty_like(tgt_p)
        for i in range(n):
            for j in range(n):
                torch.sub(src_p[:, :, i : i + h + 2, j : j + w + 2], tgt_p, out=diff)
                torch.sum(diff.square_(), 1, out=sq[:, i * n + j])  # squared differences summed over channels
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
    prob = softmax_floored(logits, 1)  # (B, S, hw)
    return torch.matmul(shifts.t(), prob).view(b, 2, h, w)  # expected shift


@lru_cache(maxsize=8)
def _shifts(radius: int, device: torch.device) -> Tensor:
    """Every shift within ``radius``, row-major (dy outer, dx inner), as ``float [S,2]`` (dx, dy)."""
    with torch.inference_mode(False):  # cached: ordinary tensors, usable in autograd later
        d = torch.arange(-radius, radius + 1, dtype=torch.float32)
        return torch.stack([d.repeat(2 * radius + 1), d.repeat_interleave(2 * radius + 1)], 1).to(device)


def flow_motion(flow: Tensor, latent_size: Tuple[int, int], pyramid: tuple = ()) -> Motion:
    """A full-resolution backward flow ``float [B,2,H,W]`` (pixels) as a :class:`Motion`: its ``pixel_grid``, and its
    average at ``latent_size`` (h, w) as ``latent_grid``."""
    H, W = flow.shape[-2:]
    h, w = latent_size
    down = flow.new_tensor([w / W, h / H]).view(1, 2, 1, 1)
    latent_grid = flow_to_grid(F.adaptive_avg_pool2d(flow, (h, w)) * down)
    return Motion(latent_grid, flow_to_grid(flow), pyramid)
