"""`motionmap train` through LightningCLI: smoke fit (loss falls), resume from `last`, 2-process CPU DDP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motionmap.cli import main

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "train" / "configs" / "smoke.yaml")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A tiny synthetic dataset (6 characters), built once for this module."""
    from motionmap.datasets.build import build_synth_dataset

    root = tmp_path_factory.mktemp("data") / "synth"
    build_synth_dataset(root, characters=6, seed=0, progress=False)
    return root


def logged(root: Path, key: str, version: int = 0):
    """(step, value) pairs of ``key`` from the CSV logger of run ``version``."""
    path = root / "logs" / "csv" / f"version_{version}" / "metrics.csv"
    with open(path, newline="") as fh:
        return [(int(r["step"]), float(r[key])) for r in csv.DictReader(fh) if r.get(key)]


def fit(root: Path, data: Path, *extra: str) -> int:
    return main(["train", "fit", "--config", SMOKE, "--data.data_dir", str(data), "--trainer.default_root_dir",
                 str(root), "--trainer.enable_progress_bar", "false", *extra])


def test_smoke_fit_loss_falls(tmp_path, tiny_data):
    assert fit(tmp_path, tiny_data) == 0
    losses = [v for _, v in logged(tmp_path, "train/loss")]
    assert len(losses) >= 10
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.8 * first, f"loss did not fall: {losses}"
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert any(p.name.startswith("best-") for p in (tmp_path / "checkpoints").iterdir())
    assert logged(tmp_path, "val/loss_pixel")
    assert list(tmp_path.glob("logs/*/version_0/images/val_step*.png"))  # the per-validation image grid


def test_resume_from_last_continues_step_count(tmp_path, tiny_data):
    small = ["--trainer.max_steps", "10", "--data.pairs_per_epoch", "160", "--trainer.limit_val_batches", "1"]
    assert fit(tmp_path, tiny_data, *small) == 0
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 10
    assert fit(tmp_path, tiny_data, *small[:-4], "--trainer.max_steps", "20", "--data.pairs_per_epoch", "160",
               "--ckpt_path", "last") == 0
    assert torch.load(last, weights_only=True)["global_step"] == 20
    steps = [s for s, _ in logged(tmp_path, "train/loss", version=1)]
    assert steps and min(steps) >= 10  # the second run continued, it did not start over


def test_ddp_two_cpu_processes(tmp_path, tiny_data):
    """Two gloo processes through Lightning's DDP; the checkpoint then loads with Retargeter."""
    from motionmap.retarget import Retargeter

    cmd = [sys.executable, "-m", "motionmap.cli", "train", "fit", "--config", SMOKE, "--data.data_dir", str(tiny_data),
           "--trainer.default_root_dir", str(tmp_path), "--trainer.strategy", "ddp", "--trainer.devices", "2",
           "--trainer.accelerator", "cpu", "--trainer.max_steps", "4", "--data.pairs_per_epoch", "128",
           "--data.batch_size", "8", "--trainer.enable_progress_bar", "false"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["global_step"] == 4
    r = Retargeter.load(ckpt)
    import numpy as np

    out = r.retarget(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8))
    assert out.shape == (2, 64, 64, 3)


def test_train_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train" in capsys.readouterr().out


def test_bad_config_value_is_one_line_error(tmp_path, tiny_data, capsys):
    code = fit(tmp_path, tiny_data, "--model.net.motion", "teleport")
    assert code == 2
    err = capsys.readouterr().err
    assert "motionmap: error: net.motion: got 'teleport'" in err


@pytest.mark.parametrize("name", ["smoke", "synth", "lpc", "paper", "flow", "flow_mix", "finetune"])
def test_shipped_configs_parse(name, capsys):
    """Every shipped YAML matches the CLI schema (MotionMapper + FramePairDataModule + Trainer)."""
    import yaml

    cfg = str(REPO / "train" / "configs" / f"{name}.yaml")
    with pytest.raises(SystemExit) as e:
        main(["train", "fit", "--config", cfg, "--print_config"])
    assert e.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["net"]["motion"] == {"paper": "affine", "flow": "flow", "flow_mix": "flow", "finetune": "flow"}.get(
        name, "dense")
    assert printed["checkpoint"]["monitor"] == "val/loss"


def _leaves(tree: dict, prefix: str = "") -> dict:
    """``{dotted key: value}`` of a YAML mapping (keys written dotted stay dotted)."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_leaves(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.mark.parametrize("name", ["synth", "lpc", "paper", "flow", "flow_mix", "finetune"])
def test_configs_extend_base_key_by_key(name):
    """A config extending base.yaml runs with every base key it does not set and every key it sets. A nested
    ``trainer:`` or ``data:`` block in it would silently drop base.yaml's whole block: this test then fails."""
    import yaml

    from motionmap.commands.train import effective_config

    configs = REPO / "train" / "configs"
    own = yaml.safe_load((configs / f"{name}.yaml").read_text())
    assert own.pop("config") == "base.yaml"
    expected = {**_leaves(yaml.safe_load((configs / "base.yaml").read_text())), **_leaves(own)}
    got = _leaves(effective_config(str(configs / f"{name}.yaml")))
    assert {k: got.get(k) for k in expected} == expected


def test_finetune_config_starts_from_the_shipped_weights_on_an_imported_30x30_set(tmp_path):
    """train/configs/finetune.yaml on a `data import`ed set of 30x30 frames (not a multiple of the 4 px cell): the
    run starts from the shipped model (its first validation loss is far below a fresh model's) and saves weights."""
    import numpy as np

    from motionmap.io import Animation, write_animation
    from sprite_exports import moving_square

    inputs = []
    for i in range(15):  # 15 characters: 2 go to validation
        path = tmp_path / "art" / f"hero{i}.gif"
        path.parent.mkdir(exist_ok=True)
        write_animation(path, Animation(moving_square(4, 30, 30, colour=(20 + 10 * i, 120, 60), seed=i), 100))
        inputs.append(path)
    data = tmp_path / "data"
    assert main(["data", "import", *map(str, inputs), "--out", str(data)]) == 0
    common = ["--data.data_dir", str(data), "--trainer.max_steps", "2", "--data.pairs_per_epoch", "32",
              "--data.val_pairs", "32", "--data.num_workers", "0", "--trainer.enable_progress_bar", "false"]
    config = str(REPO / "train" / "configs" / "finetune.yaml")
    assert main(["train", "fit", "--config", config, "--trainer.default_root_dir", str(tmp_path / "ft"), *common]) == 0
    assert main(["train", "fit", "--config", config, "--trainer.default_root_dir", str(tmp_path / "fresh"),
                 "--model.init_from", "null", *common]) == 0
    tuned, fresh = (logged(tmp_path / run, "val/loss")[0][1] for run in ("ft", "fresh"))
    assert tuned < 0.5 * fresh, (tuned, fresh)
    assert np.isfinite(tuned) and (tmp_path / "ft" / "checkpoints" / "last.ckpt").is_file()
