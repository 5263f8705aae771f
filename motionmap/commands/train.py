"""``motionmap train``: Lightning's own CLI over :class:`MotionMapper` and :class:`FramePairDataModule`.

``motionmap train fit --config train/configs/synth.yaml`` (also ``validate`` and ``test``). Everything after
``train`` goes to :class:`pytorch_lightning.cli.LightningCLI`, so every ``--model.*``, ``--data.*`` and ``--trainer.*``
option and ``--ckpt_path last`` (resume) work as Lightning documents them. What motionmap adds:

* checkpoints in ``<trainer.default_root_dir>/checkpoints`` (a fixed folder, so ``--ckpt_path last`` finds them):
  the best by ``val/loss``, ``last.ckpt``, and a timed one every ``--checkpoint_timed.train_time_interval`` (default
  5 minutes, so long CPU runs can be interrupted and resumed);
* loggers: TensorBoard (when installed) and CSV under ``<default_root_dir>/logs`` unless the config names loggers;
  every loss under ``train/...`` and ``val/...``; a PNG image grid per validation epoch in the logger's folder;
* a seed (0) by default;
* precision: without ``--trainer.precision``, ``bf16-mixed`` on a CPU that computes bfloat16 natively (Intel AMX /
  AVX512-BF16: the convolutions run several times faster), ``32-true`` otherwise
  (:func:`motionmap.model.precision.trainer_precision`); on a GPU pass ``--trainer.precision bf16-mixed`` yourself;
* safety (:mod:`motionmap.training_guards`): checkpoint files are written temp + fsync + rename (never half-written,
  so a run killed at any moment resumes from the last complete checkpoint with ``--ckpt_path last``) and read back
  weights-only; every checkpoint carries ``checkpoint["motionmap"]["format_version"]``; a NaN or Inf loss stops the
  run with one line naming the step before it reaches the weights or any checkpoint;
* host memory: freed tensor memory stays in the process for the next step instead of being faulted in again
  (:func:`motionmap.host_memory.keep_freed_memory`, glibc only).
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import List

TRAIN_HELP = "train a model (Lightning CLI: fit / validate / test --config train/configs/NAME.yaml)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` so it is listed in ``motionmap --help``; cli.main routes ``motionmap train ...`` to
    :func:`run_lightning_cli` before argparse sees it."""
    p = subparsers.add_parser("train", help=TRAIN_HELP, description=TRAIN_HELP, add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: run_lightning_cli(list(args.rest)))
    return p


def _cli_class():
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.cli import LightningCLI

    class TimedCheckpoint(ModelCheckpoint):
        """Writes ``last-timed.ckpt`` every ``train_time_interval``; a name of its own so it never collides with the
        epoch-end ``last.ckpt`` (``--ckpt_path last`` takes the newer of the two)."""

        CHECKPOINT_NAME_LAST = "last-timed"

    class MotionmapCLI(LightningCLI):
        @staticmethod
        def subcommands():
            # MotionMapper has no predict_step: retargeting is `motionmap retarget` / Retargeter.
            return {k: v for k, v in LightningCLI.subcommands().items() if k != "predict"}

        def add_arguments_to_parser(self, parser) -> None:
            parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
            parser.set_defaults({
                "checkpoint.monitor": "val/loss", "checkpoint.mode": "min", "checkpoint.save_top_k": 1,
                "checkpoint.save_last": True, "checkpoint.filename": "best-{epoch}-{step}",
            })
            parser.add_lightning_class_args(TimedCheckpoint, "checkpoint_timed")
            parser.set_defaults({
                "checkpoint_timed.train_time_interval": timedelta(minutes=5), "checkpoint_timed.save_last": True,
                "checkpoint_timed.save_top_k": 0,
            })

        def before_instantiate_classes(self) -> None:
            cfg = self.config[self.subcommand] if self.subcommand else self.config
            root = cfg.trainer.get("default_root_dir") or os.getcwd()
            for key in ("checkpoint", "checkpoint_timed"):
                if cfg[key].get("dirpath") is None:
                    cfg[key]["dirpath"] = os.path.join(root, "checkpoints")

        def _instantiate_trainer(self, config, callbacks):
            if config.get("precision") is None:  # not chosen: bf16-mixed on a CPU that computes bf16 natively
                import torch

                from motionmap.model.precision import trainer_precision

                config["precision"] = trainer_precision(config.get("accelerator"), torch.cuda.is_available())
            from motionmap.host_memory import keep_freed_memory

            keep_freed_memory()  # every step reuses the last one's large tensors (a few percent of a CPU step)
            if config.get("logger") in (None, True):
                config["logger"] = default_loggers(config.get("default_root_dir") or os.getcwd())
            callbacks = list(callbacks) + guard_callbacks()
            config["plugins"] = with_atomic_checkpoint_io(config.get("plugins"))
            return super()._instantiate_trainer(config, callbacks)

    return MotionmapCLI


def guard_callbacks() -> list:
    """The callbacks every ``motionmap train`` run gets: the checkpoint format stamp and the NaN/Inf stop."""
    from motionmap.training_guards import FormatStamp, NonFiniteGuard

    return [FormatStamp(), NonFiniteGuard()]


def with_atomic_checkpoint_io(plugins) -> list:
    """``plugins`` (None, one plugin or a list) plus :class:`AtomicCheckpointIO`, unless one CheckpointIO is given."""
    from lightning_fabric.plugins import CheckpointIO

    from motionmap.training_guards import AtomicCheckpointIO

    if plugins is None:
        plugins = []
    elif not isinstance(plugins, (list, tuple)):
        plugins = [plugins]
    plugins = list(plugins)
    if not any(isinstance(p, CheckpointIO) for p in plugins):
        plugins.append(AtomicCheckpointIO())
    return plugins


def default_loggers(root: str) -> list:
    """TensorBoard (when installed) first, then CSV, both under ``<root>/logs``."""
    from pytorch_lightning.loggers import CSVLogger

    loggers = []
    try:
        import tensorboard  # noqa: F401
        from pytorch_lightning.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(os.path.join(root, "logs"), name="tb"))
    except ImportError:
        pass
    loggers.append(CSVLogger(os.path.join(root, "logs"), name="csv"))
    return loggers


def run_lightning_cli(args: List[str]) -> int:
    """Run ``LightningCLI(MotionMapper, FramePairDataModule)`` on ``args`` (e.g. ``["fit", "--config", PATH]``)."""
    from motionmap.datasets.datamodule import FramePairDataModule
    from motionmap.model.module import MotionMapper

    import warnings

    cli_cls = _cli_class()
    with warnings.catch_warnings():
        # `motionmap train ...` always has sys.argv beside args: Lightning's warning about that is noise here.
        warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)` is deprecated.*")
        _run(cli_cls, MotionMapper, FramePairDataModule, args)
    return 0


def effective_config(path: str, *overrides: str) -> dict:
    """The whole config ``motionmap train fit --config PATH [overrides...]`` runs with, as a dict: what
    ``--print_config`` prints (a config's ``config: base.yaml`` merged in, every default filled in).

    A config the CLI rejects raises :class:`~motionmap.errors.MotionmapError` naming it (the CLI's own message goes to
    stderr first).
    """
    import contextlib
    import io

    import yaml

    from motionmap.errors import MotionmapError

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            run_lightning_cli(["fit", "--config", str(path), *overrides, "--print_config"])
        except SystemExit as e:
            if e.code not in (0, None):
                raise MotionmapError(f"{path}: not a valid training config (see the message above)") from None
    return yaml.safe_load(out.getvalue())


def _run(cli_cls, MotionMapper, FramePairDataModule, args: List[str]) -> None:
    cli_cls(
        MotionMapper,
        FramePairDataModule,
        args=args,
        seed_everything_default=0,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"log_every_n_steps": 10},
    )
