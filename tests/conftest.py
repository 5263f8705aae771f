"""Shared fixtures. Real LPC layers are read from ../shared/data/lpc at run time (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LPC_ROOT = Path(os.environ.get("MOTIONMAP_LPC_LAYERS", REPO.parent / "shared" / "data" / "lpc"))
ULPC_ROOT = Path(os.environ.get("MOTIONMAP_ULPC_LAYERS", REPO.parent / "shared" / "data" / "ulpc"))


@pytest.fixture(scope="session")
def lpc_root() -> Path:
    """The real LPC layer folder; tests that need it skip on a fresh clone without ../shared."""
    if not (LPC_ROOT / "body").is_dir():
        pytest.skip(f"real LPC layers not found at {LPC_ROOT} (set MOTIONMAP_LPC_LAYERS or place ../shared beside the repo)")
    return LPC_ROOT


@pytest.fixture(scope="session")
def ulpc_root() -> Path:
    """The real Universal LPC layer tree; tests that need it skip on a fresh clone without ../shared."""
    if not (ULPC_ROOT / "body" / "male").is_dir():
        pytest.skip(f"Universal LPC layers not found at {ULPC_ROOT} (set MOTIONMAP_ULPC_LAYERS or place ../shared "
                    "beside the repo)")
    return ULPC_ROOT
