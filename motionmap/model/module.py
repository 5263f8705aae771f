"""The MotionMapper LightningModule (the method of Resnick et al. 2021; docs/RESEARCH.md says what it became): the
networks and transfer methods of :class:`~motionmap.model.network.MotionNetwork`, plus the losses and training hooks.

For two frames ``x``, ``x'`` of one animation (``float [B,3,H,W] in [0,1]``, any H and W from 8 px)::

    T    = tau(f(x), f(x'))                 # one affine (paper), a dense 16x16 or a full-resolution flow
    x^'  = g(T . f(x) + h(x))               # + copy path: blend with x warped by T
    loss = pixel |x^' - x'| + latent match(T . f(x), f(x')) + background |h(x) - h(x')|

Transfer (inference): ``T = tau(f(a0), f(a_t))``, ``b_t = g(T . f(b0) + h(b0))``.

The networks work on feature cells of ``CELL`` = 4 px (two stride-2 stages; the flow pyramid pools by 2 and 4), so
frames whose sides are not multiples of 4 are padded at the bottom and right by repeating their edge pixels
(:func:`pad_to_cell`) and the outputs cropped back: users never pad by hand.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer
import torch
from torch import Tensor

from motionmap.errors import MotionmapError
from motionmap.model.budget import check_training_batch
from motionmap.model import losses, motion
from motionmap.model.config import LossConfig, NetConfig, OptimConfig, coerce_config, plain
from motionmap.model.motion import Motion, flow_motion
from motionmap.model.network import MotionNetwork, Prediction, check_images, pad_to_cell  # noqa: F401 (re-exported)
from motionmap.model.refine import distill_loss


class Losses(NamedTuple):
    """Scalar losses of one step; ``total`` is the weighted sum that is optimised. ``motion`` (not optimised) is the
    mean |grid - identity| in normalised units: near 0 means the transform collapsed to "no motion". ``flow``: the
    weighted flow terms (warp + smooth + static) for motion="flow", else 0. ``cross``: the target adaptor's pixel
    loss on the partner's next frame (batches with partners and a model with an adaptor), else 0. ``pixel``,
    ``latent``, ``background`` and ``flow`` are None in a training step of ``optim.train: adapt`` (the frozen
    network's own losses train nothing there, so they are not computed; validation still reports them)."""

    total: Tensor
    pixel: Optional[Tensor]
    latent: Optional[Tensor]
    background: Optional[Tensor]
    motion: Tensor
    flow: Optional[Tensor]
    cross: Tensor


def _pair(batch: Any) -> tuple:
    """Accept a ``FramePair`` (x, x_next) or any 2-sequence of ``float [B,3,H,W]`` tensors."""
    if hasattr(batch, "x") and hasattr(batch, "x_next"):
        return batch.x, batch.x_next
    x, x_next = batch[0], batch[1]
    return x, x_next


def _partners(batch: Any) -> Optional[tuple]:
    """The partner's two frames ``(y, y_next)`` of a batch drawn with ``data.cross_pairs``, padded to whole cells;
    None for a batch without partners."""
    y, y_next = getattr(batch, "y", None), getattr(batch, "y_next", None)
    return None if y is None else (pad_to_cell(y), pad_to_cell(y_next))


def _moved(t: Motion) -> Tensor:
    """Mean |latent grid - identity| of a motion (normalised units): near 0 means it collapsed to "no motion"."""
    h, w = t.latent_grid.shape[1:3]
    return (t.latent_grid.detach().float() - motion.base_grid(h, w, t.latent_grid.device)).abs().mean()


class MotionMapper(MotionNetwork, pl.LightningModule):
    """f, h, tau, g (:class:`~motionmap.model.network.MotionNetwork`) and their losses, as a LightningModule.
    Construct from typed configs (the CLI does) or from a checkpoint's plain dicts (``hyper_parameters`` hold
    ``{"net": {...}, "loss": {...}, "optim": {...}}``)."""

    def __init__(
        self,
        net: NetConfig = NetConfig(),
        loss: LossConfig = LossConfig(),
        optim: OptimConfig = OptimConfig(),
        grid_samples: int = 8,
        init_from: Optional[str] = None,
    ):
        """
        Args:
            net: network shapes and the motion form: "flow" (the shipped model's form and NetConfig's default),
                "dense", or "affine" (the paper's form); see docs/ARCHITECTURE.md.
            loss: loss weights and the latent-matching form.
            optim: learning rate and warm-up.
            grid_samples: columns of the image grid logged each validation epoch (0 disables it).
            init_from: start ``fit`` from these weights: ``"default"`` (the shipped model) or a checkpoint path.
                Its net config must equal ``net``. A resumed run (``--ckpt_path``) restores its own weights instead.
        """
        MotionNetwork.__init__(self, net)
        self.loss_cfg = coerce_config(LossConfig, loss)
        self.optim_cfg = coerce_config(OptimConfig, optim)
        self.grid_samples = int(grid_samples)
        self.init_from = init_from
        # Plain dicts only: checkpoints must load with torch.load(weights_only=True).
        self.save_hyperparameters(
            {"net": plain(self.net_cfg), "loss": plain(self.loss_cfg), "optim": plain(self.optim_cfg),
             "grid_samples": self.grid_samples}
        )
        if self.optim_cfg.train == "adapt" and self.adapt is None:
            raise MotionmapError("optim.train adapt: the model has no target adaptor; set net.adapt_hidden > 0")
        self._val_batch: Optional[tuple] = None

    def setup(self, stage: str) -> None:
        # Lightning restores a --ckpt_path resume after setup(), so a resumed run keeps its own weights.
        if stage == "fit" and self.init_from:
            self.load_initial_weights(self.init_from)
        if stage == "fit" and self.optim_cfg.train == "adapt":
            for name, p in self.named_parameters():
                p.requires_grad_(name.startswith("adapt."))

    def load_initial_weights(self, source: str) -> None:
        """Copy the weights of ``source`` (``"default"`` or a checkpoint path) into this model."""
        from motionmap.checkpoint import load_model

        if source == "default":
            from motionmap.retarget import DEFAULT_CHECKPOINT

            source = str(DEFAULT_CHECKPOINT)
        loaded = load_model(source)
        # A model with a target adaptor starts from one without (the adaptor's last layer is zero: same outputs).
        theirs = plain(coerce_config(NetConfig, loaded.info.hyper_parameters.get("net", {})))
        ours = plain(self.net_cfg)
        if theirs["adapt_hidden"] == 0:
            ours["adapt_hidden"] = 0
        if theirs != ours:
            diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            raise MotionmapError(
                f"model.init_from {source}: its net config differs in {', '.join(diff)}; "
                "use the same --model.net settings as that checkpoint"
            )
        missing, unexpected = self.load_state_dict(loaded.model.state_dict(), strict=False)
        if unexpected or any(not k.startswith("adapt.") for k in missing):
            raise MotionmapError(f"model.init_from {source}: its weights do not fit this model "
                                 f"(missing {missing[:3]}, unexpected {unexpected[:3]})")

    # -- training -------------------------------------------------------------------------------------------------
    def model_step(self, batch: Any) -> Losses:
        x, x_next = _pair(batch)
        check_images("batch.x", x)
        if x.device.type == "cpu":  # host memory (motionmap.model.budget); a GPU reports its own out-of-memory
            check_training_batch(x.shape[0], x.shape[2], x.shape[3])
        # Losses are taken on the padded frames: the repeated edge is still, so it only adds easy pixels.
        x, x_next = pad_to_cell(x), pad_to_cell(x_next)
        if self.training and self.optim_cfg.train == "adapt":
            return self._adapt_step(batch, x, x_next)
        feats = self.f(torch.cat([x, x_next]))  # (2B, C, h, w)
        fx, fxn = feats.chunk(2)
        bgs = self.h(torch.cat([x, x_next]))
        hx, hxn = bgs.chunk(2)
        t = self.transform(fx, fxn, x, x_next)
        pred = self.render(x, fx, hx, t)
        cfg = self.loss_cfg
        l_pix = losses.pixel_loss(pred.image, x_next)
        l_lat = losses.latent_loss(pred.warped, fxn, cfg.latent_form)
        l_bg = losses.background_loss(hx, hxn)
        total = cfg.pixel * l_pix + cfg.latent * l_lat + cfg.background * l_bg
        l_flow = total.new_zeros(())
        if self.tau.has_flow:  # the flow learns from its own photometric error, regularised
            finest = t.pyramid[-1]
            l_flow = (cfg.warp * losses.warp_loss(x, x_next, t.pyramid)
                      + cfg.smooth * losses.smoothness_loss(finest, x_next)
                      + cfg.static * losses.static_loss(finest, x_next))
            if cfg.distill:
                l_flow = l_flow + cfg.distill * distill_loss(x, x_next, finest, cfg.distill_steps)
            total = total + l_flow
        l_cross = total.new_zeros(())
        partners = _partners(batch)
        if self.adapt is not None and partners is not None:
            l_cross = self.cross_loss(x, x_next, *partners, t)
            total = total + cfg.cross * l_cross
        return Losses(total, l_pix, l_lat, l_bg, _moved(t), l_flow.detach(), l_cross.detach())

    def _adapt_step(self, batch: Any, x: Tensor, x_next: Tensor) -> Losses:
        """A training step of ``optim.train: adapt``: A's motion from the frozen network (no graph), then only the
        adaptor's loss on the partners. x, x_next ``float [B,3,H,W]``, padded to whole cells."""
        partners = _partners(batch)
        if self.adapt is None or partners is None:
            raise MotionmapError("optim.train adapt: the batches have no partner characters; set data.cross_pairs > 0")
        with torch.no_grad():
            fx, fxn = self.f(torch.cat([x, x_next])).chunk(2)
            t = self.transform(fx, fxn, x, x_next)
        l_cross = self.cross_loss(x, x_next, *partners, t)
        return Losses(self.loss_cfg.cross * l_cross, None, None, None, _moved(t), None, l_cross.detach())

    def cross_loss(self, a0: Tensor, a_t: Tensor, b0: Tensor, b_t: Tensor, t: Motion) -> Tensor:
        """The target adaptor's loss on a partner: render ``b_t`` from ``b0`` with A's motion ``t`` (of ``a0 -> a_t``)
        moved onto B's body, against the true ``b_t`` (pixel L1 + the edge-aware smoothness of B's flow). All images
        ``float [B,3,H,W] in [0,1]``, padded to whole cells. A's flow enters detached: A's own losses train it."""
        flow_b = self.adapt(b0, a0, a_t, t.pyramid[-1].detach())
        moved = flow_motion(flow_b, t.latent_grid.shape[1:3])
        pred = self.render(b0, self.f(b0), self.h(b0), moved)
        return losses.pixel_loss(pred.image, b_t) + self.loss_cfg.smooth * losses.smoothness_loss(flow_b, b_t)

    def _log_losses(self, stage: str, out: Losses, batch_size: int) -> None:
        on_step = stage == "train"
        for name, value in out._asdict().items():
            if value is None:
                continue
            key = f"{stage}/loss" if name == "total" else f"{stage}/{'motion' if name == 'motion' else 'loss_' + name}"
            self.log(key, value.detach(), on_step=on_step, on_epoch=not on_step, prog_bar=name == "total",
                     batch_size=batch_size, sync_dist=not on_step)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.model_step(batch)
        self._log_losses("train", out, _pair(batch)[0].shape[0])
        return out.total

    def validation_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.model_step(batch)
        self._log_losses("val", out, _pair(batch)[0].shape[0])
        if batch_idx == 0 and self.grid_samples > 0:
            x, x_next = _pair(batch)
            self._val_batch = (x[: self.grid_samples].detach(), x_next[: self.grid_samples].detach())
        return out.total

    def test_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.model_step(batch)
        self._log_losses("test", out, _pair(batch)[0].shape[0])
        return out.total

    def on_validation_epoch_end(self) -> None:
        if self._val_batch is None or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            self._val_batch = None
            return
        x, x_next = self._val_batch
        self._val_batch = None
        grid = self.image_grid(x, x_next)  # uint8 [H', W', 3]
        for logger in self.loggers:
            exp = getattr(logger, "experiment", None)
            if hasattr(exp, "add_image"):
                exp.add_image("val/grid", grid, self.global_step, dataformats="HWC")
        log_dir = self.loggers[0].log_dir if self.loggers and getattr(self.loggers[0], "log_dir", None) else None
        if log_dir:
            from PIL import Image

            out = Path(log_dir) / "images"
            out.mkdir(parents=True, exist_ok=True)
            Image.fromarray(grid).save(out / f"val_step{self.global_step:07d}.png")

    @torch.no_grad()
    def image_grid(self, x: Tensor, x_next: Tensor) -> np.ndarray:
        """Rows: x, x', reconstruction x^', then b0 (another sample's x) and the transfer of x -> x' onto b0.

        x, x_next: ``float [N,3,H,W] in [0,1]`` -> ``uint8 [5*H, N*W, 3]``.
        """
        recon = self(x, x_next).image.float().clamp(0, 1)
        b0 = x.roll(1, dims=0)
        transfers = torch.cat([self.transfer(x[i : i + 1], x_next[i : i + 1], b0[i : i + 1]) for i in range(len(x))])
        rows = [x, x_next, recon, b0, transfers]
        img = torch.cat([torch.cat(list(r.float()), dim=2) for r in rows], dim=1)  # (3, 5H, NW)
        return (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()

    def configure_optimizers(self):
        cfg = self.optim_cfg
        params = self.adapt.parameters() if cfg.train == "adapt" else self.parameters()
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        max_steps = self._trainer.max_steps if self._trainer is not None else -1
        time_spent = self._time_spent if cfg.decay_over == "time" else None
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, partial(lr_factor, cfg=cfg, max_steps=max_steps, time_spent=time_spent))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _time_spent(self) -> Optional[float]:
        """The share of the trainer's ``max_time`` spent so far in [0, 1], or None without a time limit."""
        trainer = self._trainer
        timer = next((cb for cb in (trainer.callbacks if trainer is not None else []) if isinstance(cb, Timer)), None)
        remaining = timer.time_remaining() if timer is not None else None
        if remaining is None:
            return None
        elapsed = timer.time_elapsed()
        return min(1.0, max(0.0, elapsed / max(1e-9, elapsed + remaining)))


def lr_factor(step: int, cfg: OptimConfig, max_steps: int,
              time_spent: Optional[Callable[[], Optional[float]]] = None) -> float:
    """The learning-rate multiplier at ``step``: linear warm-up, constant, then an optional cosine decay that starts
    at ``cfg.decay_from`` and reaches ``cfg.decay_to`` at ``max_steps`` (no decay when either is unset).

    With ``time_spent`` (``cfg.decay_over == "time"``) the cosine's progress is the share of the time budget spent
    instead of the share of steps, so the rate reaches ``decay_to`` when ``max_time`` runs out whatever the speed."""
    factor = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
    if cfg.decay_from is None or step < cfg.decay_from:
        return factor
    progress = time_spent() if time_spent is not None else None
    if progress is None:  # by steps (also the fallback of a time schedule without a time limit)
        if max_steps is None or max_steps <= cfg.decay_from:
            return factor
        progress = min(1.0, (step - cfg.decay_from) / (max_steps - cfg.decay_from))
    return factor * (cfg.decay_to + (1.0 - cfg.decay_to) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def build_from_hparams(hparams: dict) -> MotionMapper:
    """Rebuild a MotionMapper from a checkpoint's ``hyper_parameters`` (plain dicts)."""
    return MotionMapper(
        net=hparams.get("net"), loss=hparams.get("loss"), optim=hparams.get("optim"),
        grid_samples=int(hparams.get("grid_samples", 8)),
    )


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
