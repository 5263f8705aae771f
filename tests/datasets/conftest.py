"""Dataset fixtures: a tiny hand-drawn dataset (no generator needed), a small synthetic build, an LPC build."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_sprites import write_tiny


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A 6-character dataset in the motionmap-sprites format with known pixels (treat as read-only)."""
    return write_tiny(tmp_path_factory.mktemp("tiny") / "ds")


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory) -> Path:
    """A 3-character synthetic build (treat as read-only)."""
    from motionmap.datasets import build_synth_dataset

    return build_synth_dataset(tmp_path_factory.mktemp("synth") / "ds", characters=3, seed=0, progress=False)


@pytest.fixture(scope="session")
def lpc_dataset(tmp_path_factory, lpc_root) -> Path:
    """A 4-character build from the real LPC layers (treat as read-only)."""
    from motionmap.datasets import build_lpc_dataset

    return build_lpc_dataset(lpc_root, tmp_path_factory.mktemp("lpc") / "ds", characters=4, seed=0, progress=False)
