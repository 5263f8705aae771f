"""Test-time flow refinement: polish the network's flow on the one pair it is applied to.

At retarget time the source pair ``a0 -> a_t`` is known, so the flow that explains it can be improved directly: a few
Adam steps on the flow field itself, minimising the terms the flow network trains with (photometric L1 of ``a0`` warped
onto ``a_t`` at full and half resolution, smoothness, no motion on flat regions), starting from the network's
estimate. The network supplies the large, ambiguous part of the motion (which limb went where); the refinement fixes
the last pixels, which is where a 64x64 sprite's error lives. On held-out LPC characters (validation seed 1, not the
test set) 30 steps took the first shipped model from SSE 49.6 to 34.7 per image; see the README's Results.

Shapes: frames ``float [B,3,H,W] in [0,1]``; flows are backward pixel displacements ``float [B,2,H,W]`` (target ->
source), as in :mod:`motionmap.model.flownet`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from motionmap.errors import MotionmapError
from motionmap.model import losses, motion


@dataclass(frozen=True)
class RefineConfig:
    """``steps`` Adam steps of size ``lr`` pixels on the flow; ``smooth``/``static``: weights of the smoothness and
    flat-region terms; ``edge_alpha``: edge sensitivity of the smoothness (training uses 10; 0, plain total variation,
    keeps a sprite's limbs moving as one piece across its many internal pixel-art edges). ``steps=0`` turns
    refinement off. Defaults chosen on validation seed 1 of the LPC benchmark, never on the test set."""

    steps: int = 30
    lr: float = 0.1
    smooth: float = 0.1
    static: float = 0.002
    edge_alpha: float = 0.0

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise MotionmapError(f"--refine-steps {self.steps!r}: need an integer >= 0 (0 turns refinement off)")
        if self.lr <= 0 or self.smooth < 0 or self.static < 0 or self.edge_alpha < 0:
            raise MotionmapError(f"refine lr/smooth/static/edge_alpha: got {self.lr}/{self.smooth}/{self.static}/"
                                 f"{self.edge_alpha}; lr must be > 0 and the others >= 0")


NO_REFINE = RefineConfig(steps=0)


def refine_config(steps: Optional[int]) -> Optional[RefineConfig]:
    """The ``--refine-steps`` option as a config: None keeps the defaults (:class:`RefineConfig`)."""
    return None if steps is None else RefineConfig(steps=steps)

def photometric_loss(source: Tensor, target: Tensor, flow: Tensor) -> Tensor:
    """The refinement's photometric term: training's multi-scale photometric L1
    (:func:`motionmap.model.losses.warp_loss`) for one full-resolution flow and that flow area-averaged to H/2 (the
    coarse level sees blurred frames: a wider basin for the last pixels). source, target ``float [B,3,H,W]``, flow
    ``float [B,2,H,W]`` (pixels; H, W divisible by 4) -> scalar."""
    pyramid = [F.avg_pool2d(flow, factor) / factor for factor in _Objective.LEVELS[:-1]] + [flow]
    return losses.warp_loss(source, target, pyramid)


class _Objective:
    """The refinement objective of one batch of pairs, with everything that does not depend on the flow computed once,
    and its exact gradient written out: the same math as :func:`photometric_loss` plus the smoothness and static
    terms under ``backward()``, without an autograd graph and at a fraction of the per-step cost.

    The flow is held as ``float [B,H,W,2]`` (pixels, x then y: the layout of a sampling grid, so no step transposes
    it). Per frame the objective is ``photometric + smooth * smoothness + static * static_loss`` with the means taken
    over that frame's own elements (the batched loss times the batch size), so frames do not interact.
    """

    # Pooling factor of each photometric level, coarse to fine; weights 0.5, 1 (what :func:`photometric_loss` sums;
    # :meth:`gradient` is written out for exactly these two). Training's pyramid also has H/4; the refinement starts
    # from the network's flow and only fixes the last pixels, and without that level it scored the same or better on
    # the validation seeds (docs/RESEARCH.md, "Computing only where the character is") in 5 % less time.
    LEVELS = (2, 1)

    # Every per-pixel constant is stored at the flow's full shape [B|1,h,w,2]: elementwise ops whose operands
    # broadcast along the last, 2-long, dimension run several times slower on CPU.
    def __init__(self, source: Tensor, target: Tensor, cfg: RefineConfig):
        b, c, h, w = target.shape
        if h % 4 or w % 4:
            raise ValueError(f"refine: frame size {w}x{h} must be multiples of 4")
        self.cfg = cfg
        to_grid = source.new_tensor([2.0 / w, 2.0 / h])  # full-resolution pixels -> normalised grid units
        self.base = motion.base_grid(h, w, source.device, torch.float32)[None]  # (1, h, w, 2)
        self.to_grid = to_grid.expand(1, h, w, 2).contiguous()
        # d loss / d flow of the full level = sign(residual) / (C h w) through the sampler, * to_grid. The half level
        # (weight 0.5) samples the 2x2-pooled frames at the 2x2 mean of the full grid (the mean of the pixel centres
        # is the coarse pixel centre, so that is its grid), and its flow is the 2x2 mean of the full flow / 2: its
        # chain factor per element is 0.5 / (C (h/2) (w/2)) / 4 * to_grid, half the full level's. The sampler's
        # gradient is linear in the sampled image and the residual's sign does not change when both frames are
        # scaled, so the pooled frames are stored halved (a power of two: exact) and one multiply by ``chain`` serves
        # both levels.
        self.chain = self.to_grid / (c * h * w)
        self.full = (source, target)
        # A source that is one frame for the whole batch (a retarget's a0, expanded) is pooled once.
        half = motion.once_if_broadcast(lambda im: F.avg_pool2d(im, 2).mul_(0.5), source)
        self.half = (half, F.avg_pool2d(target, 2).mul_(0.5))
        self.wx = self.wy = None
        if cfg.smooth and cfg.edge_alpha:
            wx, wy = losses.edge_weights(target, cfg.edge_alpha)  # (B, 1, H, W-1), (B, 1, H-1, W)
            self.wx = wx.permute(0, 2, 3, 1).expand(b, h, w - 1, 2).contiguous()
            self.wy = wy.permute(0, 2, 3, 1).expand(b, h - 1, w, 2).contiguous()
        self.smooth_x = cfg.smooth / (2 * h * (w - 1))
        self.smooth_y = cfg.smooth / (2 * (h - 1) * w)
        self.flat = None
        if cfg.static:
            flat = losses.flat_weight(target) * (cfg.static / (h * w))
            self.flat = flat.permute(0, 2, 3, 1).expand(b, h, w, 2).contiguous()

    @staticmethod
    def _half(x: Tensor) -> Tensor:
        """2x2 means of ``[B,h,w,2]`` -> ``[B,h/2,w/2,2]``."""
        b, h, w, _ = x.shape
        a = x.view(b, h // 2, 2, w // 2, 2, 2)
        rows = a[:, :, 0] + a[:, :, 1]  # (B, h/2, w/2, 2, 2)
        return (rows[:, :, :, 0] + rows[:, :, :, 1]).mul_(0.25)

    @staticmethod
    def _add_repeated(fine: Tensor, coarse: Tensor) -> Tensor:
        """``fine`` ``[B,h,w,2]`` plus ``coarse`` ``[B,h/2,w/2,2]`` repeated 2 x 2 (the mean's backward), in place.
        Each (x, y) pair is viewed as one complex number: the coarse row is repeated along x by a copy, then added to
        both fine rows by a broadcast whose inner dimension is a whole contiguous row (a broadcast of the float pairs
        themselves runs several times slower on CPU); complex addition adds the parts exactly."""
        b, h, w, _ = fine.shape
        rows = torch.view_as_complex(coarse).unsqueeze(-1).expand(b, h // 2, w // 2, 2).reshape(b, h // 2, 1, w)
        torch.view_as_complex(fine).view(b, h // 2, 2, w).add_(rows)
        return fine

    @staticmethod
    def _sampler_gradient(src: Tensor, tgt: Tensor, grid: Tensor) -> Tensor:
        """d/d grid of sum |grid_sample(src, grid) - tgt| -> ``[B,h,w,2]`` (normalised grid units)."""
        warped = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return torch.ops.aten.grid_sampler_2d_backward(warped.sub_(tgt).sign_(), src, grid, 0, 1, False,
                                                       [False, True])[1]

    def gradient(self, flow: Tensor) -> Tensor:
        """d objective / d flow, ``float [B,H,W,2]``, for the flow ``float [B,H,W,2]`` (pixels)."""
        grid = torch.addcmul(self.base, flow, self.to_grid)
        coarse = self._sampler_gradient(*self.half, self._half(grid))
        grad = self._add_repeated(self._sampler_gradient(*self.full, grid), coarse).mul_(self.chain)
        if self.cfg.smooth:
            sx = (flow[:, :, 1:] - flow[:, :, :-1]).sign_()
            sy = (flow[:, 1:] - flow[:, :-1]).sign_()
            if self.wx is not None:
                sx.mul_(self.wx)
                sy.mul_(self.wy)
            grad[:, :, 1:].add_(sx, alpha=self.smooth_x)
            grad[:, :, :-1].sub_(sx, alpha=self.smooth_x)
            grad[:, 1:].add_(sy, alpha=self.smooth_y)
            grad[:, :-1].sub_(sy, alpha=self.smooth_y)
        if self.flat is not None:
            grad.addcmul_(flow.sign(), self.flat)
        return grad


def refine_flow(source: Tensor, target: Tensor, flow: Tensor, cfg: RefineConfig = RefineConfig()) -> Tensor:
    """Polish the backward flow ``target -> source`` -> refined flow ``float [B,2,H,W]`` (no gradient attached).

    source, target ``float [B,3,H,W] in [0,1]``; flow ``float [B,2,H,W]`` (pixels), the starting estimate. Each frame's
    flow is optimised on its own pair only (Adam updates are per element and the objective is a sum over frames), so
    the result does not depend on how frames are batched (up to float rounding). Adam (PyTorch's defaults: betas 0.9,
    0.999, eps 1e-8) on the objective's exact gradient (:class:`_Objective`); no autograd, so it runs under any grad
    mode, ``no_grad`` and ``inference_mode`` included.
    """
    if cfg.steps == 0:
        return flow
    with torch.no_grad():
        objective = _Objective(source.detach().float(), target.detach().float(), cfg)
        # A copy in any case: the caller's flow (an inference tensor, possibly) is never written to.
        field = flow.detach().float().permute(0, 2, 3, 1).clone(memory_format=torch.contiguous_format)  # (B,H,W,2)
        adam = _AdamStep(field, cfg.lr)
        for _ in range(cfg.steps):
            adam(objective.gradient(field))
    return field.permute(0, 3, 1, 2)


CONTENT_MARGIN = 4
"""Pixels of background kept around the content by :func:`refine_content` (then widened to whole 4-pixel cells). On
the validation seeds (``motionmap eval --set lpc|ulpc --seed 1|2``, three-level refinement) margin 4 scored within
0.03 SSE of refining the whole frame (26.20 vs 26.19, 60.62 vs 60.59; 28.45 vs 28.45, 60.43 vs 60.42)."""


def content_box(source: Tensor, target: Tensor, margin: int = CONTENT_MARGIN) -> Optional[Tuple[int, int, int, int]]:
    """The rows and columns ``(y0, y1, x0, x1)`` that hold every pixel of ``source`` and ``target`` (``float
    [B,3,H,W]``) unlike the background, the colour of the first source frame's top-left pixel, plus ``margin`` pixels,
    widened to multiples of 4 (the sizes :func:`refine_flow` takes); None when that box is the whole frame (a scene
    background, a character filling the frame) or there is no content at all."""
    h, w = target.shape[-2:]
    background = source[:1, :, :1, :1]
    differs = (target != background).any(1).any(0)  # (H, W)
    differs |= (source[:1] if motion.is_broadcast(source) else source).ne(background).any(1).any(0)
    rows, cols = differs.any(1).nonzero().flatten(), differs.any(0).nonzero().flatten()
    if len(rows) == 0:
        return None
    y0, x0 = max(0, (int(rows[0]) - margin) // 4 * 4), max(0, (int(cols[0]) - margin) // 4 * 4)
    y1, x1 = min(h, -(-(int(rows[-1]) + 1 + margin) // 4) * 4), min(w, -(-(int(cols[-1]) + 1 + margin) // 4) * 4)
    return None if (y1 - y0, x1 - x0) == (h, w) else (y0, y1, x0, x1)


def refine_content(source: Tensor, target: Tensor, flow: Tensor, cfg: RefineConfig = RefineConfig()) -> Tensor:
    """:func:`refine_flow` on the part of the frames that holds a character (:func:`content_box`); the flow
    elsewhere stays the starting estimate. Same shapes as :func:`refine_flow`.

    Why: a sprite on a flat background leaves much of its frame empty (an LPC character fills about 60 % of its
    64x64 cell), and there the photometric term is 0 whatever the flow. Inside the box the objective is the whole
    frame's, up to the smoothness across the box's edge and the flat-region weight within 4 px of it (the source read
    past the box's edge is background either way: at least 4 px of it line the box), at the box's share of the cost.
    """
    box = None if cfg.steps == 0 else content_box(source, target)
    if box is None:
        return refine_flow(source, target, flow, cfg)
    y0, y1, x0, x1 = box
    inside = (..., slice(y0, y1), slice(x0, x1))
    refined = flow.detach().float().clone()
    refined[inside] = refine_flow(source[inside], target[inside], flow[inside], cfg)
    return refined


def distill_loss(source: Tensor, target: Tensor, flow: Tensor, steps: int = RefineConfig.steps) -> Tensor:
    """Training's amortised-refinement term: mean L1 (pixels) between ``flow`` and the refinement's polish of it,
    ``refine_flow(source, target, flow, RefineConfig(steps=steps))``, the polished flow a fixed target (no gradient
    flows through the refinement). source, target ``float [B,3,H,W] in [0,1]``, flow ``float [B,2,H,W]`` (pixels)
    -> scalar. A network trained with it learns what the refinement would make of its own flow."""
    polished = refine_flow(source, target, flow.detach(), RefineConfig(steps=steps))
    return (flow.float() - polished).abs().mean()


class _AdamStep:
    """Adam on one tensor, in place, with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8): the fused CPU/CUDA kernel
    of ``torch.optim.Adam(fused=True)`` where this torch has it (one pass instead of seven), else the same update
    written out (equal up to float rounding)."""

    BETA1, BETA2, EPS = 0.9, 0.999, 1e-8

    def __init__(self, param: Tensor, lr: float):
        self.param, self.lr = param, lr
        self.m, self.v = torch.zeros_like(param), torch.zeros_like(param)
        self.step = 0
        self.step_t = torch.zeros((), dtype=torch.float32, device=param.device)
        self.fused = param.dtype == torch.float32 and hasattr(torch, "_fused_adam_")

    def __call__(self, g: Tensor) -> None:
        self.step += 1
        if self.fused:
            self.step_t += 1
            try:
                torch._fused_adam_([self.param], [g], [self.m], [self.v], [], [self.step_t], lr=self.lr,
                                   beta1=self.BETA1, beta2=self.BETA2, weight_decay=0.0, eps=self.EPS, amsgrad=False,
                                   maximize=False)
                return
            except (RuntimeError, NotImplementedError):  # no fused kernel for this device in this torch
                if self.step > 1:
                    raise
                self.fused = False
        b1, b2 = self.BETA1, self.BETA2
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = self.v.sqrt().div_(math.sqrt(1 - b2**self.step)).add_(self.EPS)
        self.param.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.step))


def refine_flow_autograd(source: Tensor, target: Tensor, flow: Tensor, cfg: RefineConfig = RefineConfig()) -> Tensor:
    """The reference form of :func:`refine_flow`: ``torch.optim.Adam`` on the losses through autograd (several times
    slower; kept to check the hand-written gradient against)."""
    if cfg.steps == 0:
        return flow
    n = flow.shape[0]
    with torch.inference_mode(False), torch.enable_grad():
        source, target = source.detach().float().clone(), target.detach().float().clone()
        field = flow.detach().float().clone().requires_grad_(True)
        opt = torch.optim.Adam([field], lr=cfg.lr)
        for _ in range(cfg.steps):
            opt.zero_grad(set_to_none=True)
            loss = photometric_loss(source, target, field)
            if cfg.smooth:
                loss = loss + cfg.smooth * losses.smoothness_loss(field, target, cfg.edge_alpha)
            if cfg.static:
                loss = loss + cfg.static * losses.static_loss(field, target)
            (loss * n).backward()
            opt.step()
    return field.detach()
