"""Safety fixtures: a tiny real MotionMapper checkpoint (untrained, written with save_model_checkpoint) and a tiny
synthetic dataset for training runs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model():
    import torch

    from motionmap.model import NetConfig
    from motionmap.model.module import MotionMapper

    torch.manual_seed(0)
    return MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory) -> Path:
    from motionmap.checkpoint import save_model_checkpoint

    return save_model_checkpoint(tiny_model, tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A 6-character synthetic dataset (about 1 s to build)."""
    from motionmap.datasets.build import build_synth_dataset

    root = tmp_path_factory.mktemp("data") / "synth"
    build_synth_dataset(root, characters=6, seed=0, progress=False)
    return root


@pytest.fixture
def sprite_inputs(tmp_path, tiny_checkpoint):
    """A source GIF (3 frames 16x16), a target PNG and a checkpoint, in tmp_path/in."""
    import numpy as np

    from motionmap.io.animation import write_gif
    from motionmap.io.images import write_png

    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    frames = rng.integers(0, 255, (3, 16, 16, 3), np.uint8)
    src = write_gif(folder / "walk.gif", frames)
    tgt = write_png(folder / "hero.png", frames[0][::-1].copy())
    ckpt = folder / "model.ckpt"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    return src, tgt, ckpt
