"""Guards for long training runs: atomic checkpoint files, a format stamp, and a stop on NaN/Inf.

``motionmap train`` installs all three (see :mod:`motionmap.commands.train`):

* :class:`AtomicCheckpointIO` - Lightning's own writer (``lightning_fabric``'s ``_atomic_save``, 2.6) goes through an
  fsspec transaction whose temp file lives in the system temp folder and is ``shutil.move``d into place: a rename
  only when ``$TMPDIR`` is on the checkpoint's filesystem, a copy (visible half-written while it runs, and left
  behind on a kill) otherwise, and never fsynced. This writer puts the temp file beside the checkpoint
  (``.last.ckpt.<random>.tmp``, a name ``--ckpt_path last`` never matches), fsyncs it and ``os.replace``s it: a
  checkpoint file is always either the previous complete one or the new complete one. Loading (resume) is
  weights-only: a resumed checkpoint cannot run code either.
* :class:`FormatStamp` - writes ``checkpoint["motionmap"] = {"format_version": 1, "architecture": "MotionMapper",
  "motionmap_version": ...}`` into every checkpoint (see :mod:`motionmap.checkpoint`).
* :class:`NonFiniteGuard` - a NaN or Inf training loss stops the run *before* backward and the optimizer step, with
  one line naming the step, so the weights (and every checkpoint) stay those of the last finite step; a checkpoint
  whose weights are not finite is refused at save time as a second line of defence.
"""

from __future__ import annotations

import math
import pickle
from typing import Any, Dict, Optional

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import Callback

from motionmap.checkpoint import STAMP_KEY, _blocked_global, _weights_only_reason, atomic_torch_save, format_stamp
from motionmap.errors import MotionmapError


class NonFiniteLossError(MotionmapError):
    """Training stopped: the loss (or the weights about to be saved) became NaN or Inf."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning ``CheckpointIO`` writing local checkpoints temp-file + fsync + ``os.replace`` (never half-written),
    and reading them with ``weights_only=True``."""

    def save_checkpoint(self, checkpoint: Dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options")
        if "://" in str(path) and not str(path).startswith("file://"):
            return super().save_checkpoint(checkpoint, path)  # remote (s3://...): fsspec's own transaction
        atomic_torch_save(checkpoint, str(path).removeprefix("file://"))

    def load_checkpoint(self, path, map_location: Optional[Any] = None, weights_only: Optional[bool] = None):
        if map_location is None:
            map_location = "cpu"
        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as e:
            what = _blocked_global(str(e))
            why = f"carries pickled code or objects ({what})" if what else f"is refused ({_weights_only_reason(str(e))})"
            raise MotionmapError(
                f"{path}: refused to resume: the checkpoint {why} by the weights-only loader, which runs no code from "
                "it; resume only from checkpoints written by `motionmap train`"
            ) from None


class FormatStamp(Callback):
    """Adds ``checkpoint["motionmap"]`` (format version, architecture, motionmap version) to every checkpoint."""

    def on_save_checkpoint(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule",
                           checkpoint: Dict[str, Any]) -> None:
        checkpoint[STAMP_KEY] = format_stamp()


def _loss_value(outputs: Any) -> Optional[torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return outputs
    if isinstance(outputs, dict) and isinstance(outputs.get("loss"), torch.Tensor):
        return outputs["loss"]
    return None


class NonFiniteGuard(Callback):
    """Stop training on a NaN/Inf loss before it reaches the weights; refuse to save non-finite weights.

    The loss is checked in ``on_before_backward`` (before gradients and the optimizer step), so the model still holds
    the last finite step's weights and no checkpoint after the bad step is written. Under DDP the decision is reduced
    over all processes, so every rank stops at the same step instead of one hanging in a collective.
    Raises :class:`NonFiniteLossError` (a one-line :class:`MotionmapError`: the CLI prints it and exits 2).
    """

    def __init__(self, check_weights_on_save: bool = True):
        super().__init__()
        self.check_weights_on_save = check_weights_on_save

    @staticmethod
    def _message(step: int, what: str) -> str:
        return (f"training step {step}: {what}; stopped before it reached the weights, no checkpoint was written "
                "for it; lower --model.optim.lr (or check the data) and resume with --ckpt_path last")

    def on_before_backward(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule",
                           loss: torch.Tensor) -> None:
        finite = bool(torch.isfinite(loss.detach()).all())
        bad_anywhere = trainer.strategy.reduce_boolean_decision(not finite, all=False)
        if bad_anywhere:
            value = float(loss.detach().float().reshape(-1)[0]) if not finite else float("nan")
            shown = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
            what = f"loss is {shown}" if not finite else "loss is nan/inf in another process"
            raise NonFiniteLossError(self._message(trainer.global_step, what))

    def on_save_checkpoint(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule",
                           checkpoint: Dict[str, Any]) -> None:
        if not self.check_weights_on_save:
            return
        for name, value in checkpoint.get("state_dict", {}).items():
            if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
                raise NonFiniteLossError(self._message(trainer.global_step, f"weight {name} is nan/inf"))
