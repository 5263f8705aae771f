"""Peak memory of real retargets stays within 4 GB for every frame size the model takes (heavy: minutes of CPU).

    python -m pytest -m heavy tests/safety/test_memory.py

Each case runs the shipped model in a fresh process (benchmarks/memory.py) and reads its peak RSS. 256x256 is the
largest frame the model takes (bigger ones are refused, tests/model/test_budget.py); the frame count only adds the
uint8 input and output once the allocator's reuse has levelled off.
"""

from __future__ import annotations

import sys

import pytest

from safety_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from memory import measure  # noqa: E402

LIMIT_MB = 4096

pytestmark = pytest.mark.heavy


@pytest.mark.parametrize("width, height, frames", [(64, 64, 8), (256, 256, 4), (200, 256, 3)])
def test_peak_memory_within_4_gb(width, height, frames):
    result = measure(width, height, frames)
    assert result["peak_mb"] < LIMIT_MB, result


def test_frame_count_does_not_grow_the_peak():
    """Past a few passes (glibc keeps freed pass memory for reuse, so the first passes raise the peak) the peak
    levels off: 1000 frames need no more than 192 do, plus their uint8 input and output."""
    few, many = measure(64, 64, 192, refine_steps=0), measure(64, 64, 1000, refine_steps=0)
    io_mb = 1000 * 64 * 64 * 7 / 2**20
    assert many["peak_mb"] < few["peak_mb"] + io_mb + 64, (few, many)
