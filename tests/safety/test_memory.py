"""Peak memory of real retargets stays within 4 GB for every frame size the model takes (heavy: minutes of CPU).

    python -m pytest -m heavy tests/safety/test_memory.py

Each case runs the shipped model in a fresh process (benchmarks/memory.py) and reads its peak RSS, which must stay
under the documented bound motionmap.model.budget.retarget_peak_bytes(H, W, T), itself under 4 GB for every input.
256x256 is the largest frame the model takes (bigger ones are refused, tests/model/test_budget.py).
"""

from __future__ import annotations

import sys

import pytest

from safety_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from memory import measure  # noqa: E402

from motionmap.model.budget import retarget_peak_bytes

LIMIT_MB = 4096

pytestmark = pytest.mark.heavy


def _bound_mb(r) -> float:
    return retarget_peak_bytes(r["height"], r["width"], r["frames"]) / 2**20


@pytest.mark.parametrize("width, height, frames", [(64, 64, 8), (256, 256, 4), (200, 256, 3)])
def test_peak_memory_within_the_documented_bound(width, height, frames):
    result = measure(width, height, frames)
    assert result["peak_mb"] < _bound_mb(result) < LIMIT_MB, result


def test_long_animations_stay_within_the_bound():
    """The frame count adds only its uint8 frames to the bound; a long retarget stays under it."""
    for frames in (192, 1000):
        result = measure(64, 64, frames, refine_steps=0)
        assert result["peak_mb"] < _bound_mb(result), result
