"""Interrupted and poisoned training: SIGKILL mid-epoch then ``--ckpt_path last`` resumes from the saved step;
checkpoints are never half-written; a NaN/Inf loss stops the run naming the step, with no poisoned checkpoint."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from safety_helpers import SMOKE
from motionmap.training_guards import AtomicCheckpointIO, FormatStamp, NonFiniteGuard, NonFiniteLossError

SAVE_EVERY = 3  # steps between the timed checkpoint's saves in these tests


def _fit_args(root: Path, data: Path, *extra: str):
    return ["fit", "--config", SMOKE, "--data.data_dir", str(data), "--trainer.default_root_dir", str(root),
            "--trainer.enable_progress_bar", "false", "--data.batch_size", "4",
            "--checkpoint_timed.train_time_interval", "null",
            "--checkpoint_timed.every_n_train_steps", str(SAVE_EVERY), *extra]


def _logged_steps(root: Path, version: int):
    path = root / "logs" / "csv" / f"version_{version}" / "metrics.csv"
    with open(path, newline="") as fh:
        return [int(r["step"]) for r in csv.DictReader(fh) if r.get("train/loss")]


def _step_of(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


def test_sigkill_mid_epoch_then_resume_continues_from_saved_step(tmp_path, tiny_data):
    root = tmp_path / "run"
    ckpts = root / "checkpoints"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    # One very long epoch (100k pairs): the kill lands mid-epoch, far from any epoch-end checkpoint.
    cmd = [sys.executable, "-m", "motionmap.cli", "train",
           *_fit_args(root, tiny_data, "--trainer.max_steps", "100000", "--data.pairs_per_epoch", "100000")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timed = ckpts / "last-timed.ckpt"
    deadline = time.monotonic() + 150
    try:
        # Wait for the second save, so that one checkpoint has already been replaced while the run goes on.
        while time.monotonic() < deadline and proc.poll() is None:
            if timed.is_file():
                try:
                    if _step_of(timed) >= 2 * SAVE_EVERY:
                        break
                except Exception:  # noqa: BLE001 - a half-written file would fail here; the asserts below catch it
                    pass
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # Every checkpoint file left behind is complete and weights-only loadable; nothing else looks like one.
    files = sorted(p.name for p in ckpts.iterdir())
    assert [f for f in files if f.endswith(".ckpt")] == ["last-timed.ckpt"], files
    assert all(f.startswith(".") and f.endswith(".tmp") for f in files if not f.endswith(".ckpt")), files
    saved = torch.load(timed, map_location="cpu", weights_only=True)
    step = int(saved["global_step"])
    assert step >= 2 * SAVE_EVERY and step % SAVE_EVERY == 0
    assert saved["motionmap"]["format_version"] == 1
    assert saved["epoch"] == 0 and not saved["loops"]["fit_loop"]["epoch_loop.batch_progress"]["is_last_batch"]
    killed_steps = _logged_steps(root, 0)

    # Resume (in-process, like a user would from the shell) for two more saves.
    from motionmap.cli import main

    target = step + 2 * SAVE_EVERY
    assert main(["train", *_fit_args(root, tiny_data, "--trainer.max_steps", str(target),
                                     "--data.pairs_per_epoch", "100000", "--ckpt_path", "last")]) == 0
    assert _step_of(timed) == target
    resumed_steps = _logged_steps(root, 1)
    assert resumed_steps and min(resumed_steps) >= step, (step, resumed_steps)  # continued, did not start over
    assert max(killed_steps, default=0) >= step - 2  # the killed run had got to the saved step
    from motionmap.checkpoint import load_model

    assert load_model(timed).info.global_step == target  # the resumed checkpoint is a good motionmap checkpoint


class NaNAtStep3:
    """Mixin: the training loss becomes NaN (or Inf) at global step 3."""

    poison = float("nan")

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        return loss * self.poison if self.global_step == 3 else loss


@pytest.mark.parametrize("poison", ["nan", "inf"])
def test_nan_loss_stops_the_run_naming_the_step_with_no_poisoned_checkpoint(tmp_path, tiny_data, poison):
    from motionmap.commands.train import _cli_class, _run
    from motionmap.datasets.datamodule import FramePairDataModule
    from motionmap.model.module import MotionMapper

    class Poisoned(NaNAtStep3, MotionMapper):
        pass

    Poisoned.poison = float(poison)
    root = tmp_path / "run"
    args = _fit_args(root, tiny_data, "--trainer.max_steps", "12", "--data.pairs_per_epoch", "400")
    args[args.index("--checkpoint_timed.every_n_train_steps") + 1] = "1"
    with pytest.raises(NonFiniteLossError) as e:
        _run(_cli_class(), Poisoned, FramePairDataModule, args)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"training step 3: loss is {poison}; stopped before it reached the weights")
    ckpt = torch.load(root / "checkpoints" / "last-timed.ckpt", weights_only=True)
    assert ckpt["global_step"] == 3  # the last good step; nothing was saved after the bad one
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_cli_prints_the_nan_stop_as_one_line_exit_2(tmp_path, tiny_data, capsys, monkeypatch):
    from motionmap.cli import main
    from motionmap.training_guards import NonFiniteGuard as Guard

    original = Guard.on_before_backward

    def poisoned(self, trainer, pl_module, loss):  # the loss the guard sees turns NaN at step 2
        return original(self, trainer, pl_module, loss * float("nan") if trainer.global_step == 2 else loss)

    monkeypatch.setattr(Guard, "on_before_backward", poisoned)
    rc = main(["train", *_fit_args(tmp_path, tiny_data, "--trainer.max_steps", "5", "--data.pairs_per_epoch", "400")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "motionmap: error: training step 2: loss is nan" in err and "Traceback" not in err


def test_guard_refuses_to_save_non_finite_weights():
    guard = NonFiniteGuard()
    trainer = SimpleNamespace(global_step=7)
    with pytest.raises(NonFiniteLossError, match=r"training step 7: weight g.out.weight is nan/inf"):
        guard.on_save_checkpoint(trainer, None, {"state_dict": {"f.w": torch.ones(2),
                                                               "g.out.weight": torch.tensor([1.0, math.inf])}})
    guard.on_save_checkpoint(trainer, None, {"state_dict": {"f.w": torch.ones(2), "n": torch.tensor([3])}})


def test_guard_stops_every_ddp_rank_when_one_sees_nan():
    """The decision is reduced over processes (here: a stub strategy saying another rank saw NaN)."""
    guard = NonFiniteGuard()
    trainer = SimpleNamespace(global_step=4, strategy=SimpleNamespace(reduce_boolean_decision=lambda d, all: True))
    with pytest.raises(NonFiniteLossError, match="loss is nan/inf in another process"):
        guard.on_before_backward(trainer, None, torch.tensor(0.5))


def test_train_cli_installs_the_guards(tmp_path, tiny_data):
    from motionmap.commands.train import _cli_class
    from motionmap.datasets.datamodule import FramePairDataModule
    from motionmap.model.module import MotionMapper

    cli = _cli_class()(MotionMapper, FramePairDataModule, run=False,
                       args=_fit_args(tmp_path, tiny_data)[1:])
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert any(isinstance(c, FormatStamp) for c in cli.trainer.callbacks)
    assert any(isinstance(c, NonFiniteGuard) for c in cli.trainer.callbacks)


def test_atomic_checkpoint_io_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(10)}, path)
    before = path.read_bytes()
    real_save = torch.save

    def dies_half_way(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        f.truncate(f.tell() // 2)
        raise KeyboardInterrupt("killed while writing")  # the writer is interrupted after half the bytes

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(10_000)}, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
    assert io.load_checkpoint(path)["global_step"] == 1
