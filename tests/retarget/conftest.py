"""Fixtures for retargeting tests: a tiny checkpoint built without training, sprite files in every form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from motionmap.io import write_apng, write_frames, write_gif, write_png
from retarget_helpers import blob_frames, character


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """`motionmap retarget` sets torch's CPU thread count (--threads, default 1); keep other tests' setting intact."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory) -> Path:
    """A real MotionMapper checkpoint in the `motionmap train` format (state_dict + hyper_parameters), untrained.

    Small config (channels 8) for speed. Its copy path is pinned fully open (decoder alpha = sigmoid(30) = 1), so the
    output is exactly the target warped by the dense correlation motion, whose fixed patch descriptor matches pixels
    without training: a model that keeps the target's background, as a trained one does. The RGBA tests rely on that.
    """
    from motionmap.model import NetConfig
    from motionmap.model.module import MotionMapper

    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"))
    with torch.no_grad():
        m.g.high[-1].weight[3].zero_()
        m.g.high[-1].bias[3] = 30.0
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    return path


@pytest.fixture(scope="session")
def sprite_files(tmp_path_factory):
    """The blob animation as GIF, APNG and a frame folder, plus the target image. Returns a dict of paths."""
    root = tmp_path_factory.mktemp("sprites")
    frames = blob_frames()
    paths = {
        "gif": write_gif(root / "walk.gif", frames, 80),
        "apng": write_apng(root / "walk.png", frames, 80),
        "folder": write_frames(root / "walk_frames", frames),
        "target": write_png(root / "hero.png", character()),
    }
    return paths


@pytest.fixture(scope="session")
def lpc_pair(lpc_root, tmp_path_factory):
    """A source and a held-out target character composed from the real LPC layers, as sheets on disk."""
    from motionmap.lpc import LpcLayers, compose_character, sample_recipes

    layers = LpcLayers(lpc_root)
    source = sample_recipes(layers, 1, seed=0, held_out="exclude")[0]
    target = sample_recipes(layers, 1, seed=1, held_out="require")[0]
    root = tmp_path_factory.mktemp("lpc")
    src, tgt = compose_character(layers, source), compose_character(layers, target)
    return {
        "source": write_png(root / "source.png", src),
        "target": write_png(root / "target.png", tgt),
        "source_sheet": src,
        "target_sheet": tgt,
    }
