"""The MotionMapper's networks and what retargeting runs: f, h, tau, g and the target adaptor, without Lightning.

:class:`MotionNetwork` holds the modules and the inference methods (``transfer_motion``, ``adapt_motion``,
``transfer_render``); :class:`motionmap.model.module.MotionMapper` adds the losses and Lightning's training hooks on
top, with the same weights under the same names. Retargeting builds a ``MotionNetwork`` from a checkpoint
(:func:`motionmap.checkpoint.load_model` with ``network_only=True``), so it never imports Lightning, whose import
costs about a second of every ``motionmap retarget`` command.

Shapes: images ``float [B,3,H,W] in [0,1]`` (any H and W from 8 px; padded to whole ``CELL``s inside, see
:func:`pad_to_cell`); features ``float [B,C,h,w]`` at H/4 x W/4.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from motionmap.layout import MIN_FRAME_SIDE
from motionmap.model import motion
from motionmap.model.adapt import FlowAdapt
from motionmap.model.config import NetConfig, coerce_config
from motionmap.model.forms import make_tau
from motionmap.model.motion import Motion, flow_motion, grid_to_flow
from motionmap.model.nets import CELL, Decoder, Encoder
from motionmap.model.refine import NO_REFINE, RefineConfig, refine_content


class Prediction(NamedTuple):
    """image: ``float [B,3,H,W] in [0,1]``; warped: ``T.f(x)`` ``float [B,C,h,w]``; background: ``h(x)``
    ``[B,C,h,w]``; alpha: copy-path weight ``[B,1,H,W] in [0,1]`` or None; motion: the transform used."""

    image: Tensor
    warped: Tensor
    background: Tensor
    alpha: Optional[Tensor]
    motion: Motion


def check_images(name: str, images: Tensor) -> None:
    if images.dim() != 4 or images.shape[1] != 3 or min(images.shape[2:]) < MIN_FRAME_SIDE:
        raise ValueError(f"{name}: expected float [B,3,H,W] with H, W >= {MIN_FRAME_SIDE}, got {tuple(images.shape)}")


def pad_to_cell(images: Tensor) -> Tensor:
    """Pad ``float [B,C,H,W]`` at the bottom and right, repeating the edge pixels, to ``[B,C,H',W']`` with H', W' the
    next multiples of ``CELL``; a no-op (the same tensor) when H and W already are.

    Why repeat the edge rather than pad with black: over a scene background black bars would be a moving edge for the
    flow to latch onto; a repeated edge is as still as the background it continues.
    """
    h, w = images.shape[-2:]
    ph, pw = -h % CELL, -w % CELL
    if ph == 0 and pw == 0:
        return images
    return torch.nn.functional.pad(images, (0, pw, 0, ph), mode="replicate")


class MotionNetwork(torch.nn.Module):
    """f (character encoder), h (background encoder), tau (the motion form), g (decoder) and the optional target
    adaptor, built from a :class:`NetConfig` (or a checkpoint's plain ``net`` dict), with the transfer methods."""

    def __init__(self, net: NetConfig = NetConfig()):
        super().__init__()
        self.net_cfg = coerce_config(NetConfig, net)
        self.f = Encoder(self.net_cfg)  # character
        self.h = Encoder(self.net_cfg)  # background
        self.tau = make_tau(self.net_cfg)
        self.g = Decoder(self.net_cfg)
        self.adapt = FlowAdapt(self.net_cfg.adapt_hidden) if self.net_cfg.adapt_hidden else None

    def transform(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        """``T = tau(f(src), f(tgt))``: the transform taking frame src to frame tgt (grids are src_from_tgt)."""
        return self.tau(feat_src, feat_tgt, img_src, img_tgt)

    def render(self, image: Tensor, feat: Tensor, background: Tensor, t: Motion) -> Prediction:
        """``g(T . f(image) + h(image))`` for ``image`` ``float [B,3,H,W] in [0,1]`` with its features
        ``feat = f(image)``, ``background = h(image)`` (``[B,C,h,w]``)."""
        warped = motion.warp(feat, t.latent_grid).to(feat.dtype)
        pixels = motion.warp(image, t.pixel_grid) if self.net_cfg.copy_path else None
        decoded = self.g(warped + background, pixels)
        return Prediction(decoded.image, warped, background, decoded.alpha, t)

    def forward(self, x: Tensor, x_next: Tensor) -> Prediction:
        """Predict ``x'`` from ``x`` and the transform ``tau(f(x), f(x'))``; both ``float [B,3,H,W] in [0,1]``."""
        check_images("x", x)
        h, w = x.shape[-2:]
        x, x_next = pad_to_cell(x), pad_to_cell(x_next)
        feats = self.f(torch.cat([x, x_next]))
        fx, fxn = feats.chunk(2)
        t = self.transform(fx, fxn, x, x_next)
        pred = self.render(x, fx, self.h(x), t)
        alpha = pred.alpha[..., :h, :w] if pred.alpha is not None else None
        return pred._replace(image=pred.image[..., :h, :w], alpha=alpha)

    @torch.no_grad()
    def transfer(self, a0: Tensor, a_t: Tensor, b0: Tensor, refine: RefineConfig = NO_REFINE) -> Tensor:
        """Replay A's motion a0 -> a_t on B: ``g(tau(f(a0), f(a_t)) . f(b0) + h(b0))``.

        a0, b0: ``float [1|B,3,H,W] in [0,1]`` (broadcast over B), a_t: ``float [B,3,H,W]`` -> ``float [B,3,H,W]``.
        ``refine``: for ``motion="flow"``, polish the flow on the pair ``a0 -> a_t`` before rendering
        (:mod:`motionmap.model.refine`); other motion forms ignore it.
        """
        check_images("b0", b0)
        return self.transfer_render(b0, self.adapt_motion(self.transfer_motion(a0, a_t, refine), a0, a_t, b0))

    @torch.no_grad()
    def transfer_motion(self, a0: Tensor, a_t: Tensor, refine: RefineConfig = NO_REFINE) -> Motion:
        """The first half of :meth:`transfer`: A's motion ``tau(f(a0), f(a_t))`` (refined for flow models), for
        a0 ``float [1|B,3,H,W]``, a_t ``float [B,3,H,W] in [0,1]``. Render it onto several targets with
        :meth:`transfer_render` without computing it again (the RGBA path renders over black and over white)."""
        for name, t in (("a0", a0), ("a_t", a_t)):
            check_images(name, t)
        a0, a_t = pad_to_cell(a0), pad_to_cell(a_t)
        n = a_t.shape[0]
        a0 = a0.expand(n, -1, -1, -1)
        fa = self.f(torch.cat([a0[:1], a_t]))
        fa0, fat = fa[:1].expand(n, -1, -1, -1), fa[1:]
        t = self.transform(fa0, fat, a0, a_t)
        if refine.steps and self.tau.has_flow:
            flow = refine_content(a0, a_t, grid_to_flow(t.pixel_grid.float()), refine)
            t = flow_motion(flow, t.latent_grid.shape[1:3], t.pyramid[:-1] + (flow,))
        return t

    @torch.no_grad()
    def adapt_motion(self, t: Motion, a0: Tensor, a_t: Tensor, b0: Tensor) -> Motion:
        """A's motion ``t`` (from :meth:`transfer_motion`) moved onto b0's body by the target adaptor
        (:mod:`motionmap.model.adapt`); ``t`` itself for a model without one. a0, b0 ``float [1|B,3,H,W]``, a_t
        ``float [B,3,H,W] in [0,1]``, all of one size. Call it once per target body, not per background: the
        RGBA path renders the one adapted motion over black and over white."""
        if self.adapt is None:
            return t
        a0, a_t, b0 = pad_to_cell(a0), pad_to_cell(a_t), pad_to_cell(b0)
        flow = self.adapt(b0, a0, a_t, grid_to_flow(t.pixel_grid.float()))
        return flow_motion(flow, t.latent_grid.shape[1:3], t.pyramid[:-1] + (flow,))

    @torch.no_grad()
    def transfer_render(self, b0: Tensor, t: Motion) -> Tensor:
        """The second half of :meth:`transfer`: ``g(T . f(b0) + h(b0))`` for b0 ``float [1|B,3,H,W] in [0,1]`` and a
        motion from :meth:`transfer_motion` of frames of b0's size -> ``float [B,3,H,W] in [0,1]``."""
        h, w = b0.shape[-2:]
        n = t.pixel_grid.shape[0]
        b0 = pad_to_cell(b0).expand(n, -1, -1, -1)
        fb0 = self.f(b0[:1]).expand(n, -1, -1, -1)
        hb0 = self.h(b0[:1]).expand(n, -1, -1, -1)
        return self.render(b0, fb0, hb0, t).image[..., :h, :w].float().clamp(0, 1)


def build_network(hparams: dict) -> MotionNetwork:
    """A MotionNetwork from a checkpoint's ``hyper_parameters`` (only ``net`` is read)."""
    return MotionNetwork(net=hparams.get("net"))
