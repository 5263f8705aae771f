"""Helpers shared by the retargeting tests: small sprites with known motion, and running the CLI in-process."""

from __future__ import annotations

import contextlib
import io
from typing import List, NamedTuple

import numpy as np


def blob_frames(t: int = 5, size: int = 32, shift: int = 2, rgba: bool = True) -> np.ndarray:
    """A coloured square moving right by ``shift`` px per frame on a transparent background: ``uint8 [T,S,S,4]``."""
    frames = np.zeros((t, size, size, 4), np.uint8)
    for i in range(t):
        x = 4 + shift * i
        frames[i, 10:20, x : x + 8] = (200, 60, 30, 255)
        frames[i, 10:13, x : x + 8] = (250, 220, 90, 255)
    return frames if rgba else frames[..., :3]


def character(size: int = 32) -> np.ndarray:
    """Another look in the first frame's pose: ``uint8 [S,S,4]`` with a transparent background."""
    img = np.zeros((size, size, 4), np.uint8)
    img[9:21, 4:12] = (40, 90, 220, 255)
    img[9:12, 4:12] = (240, 240, 240, 255)
    return img


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def run_cli(args: List[str]) -> CliResult:
    from motionmap.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse usage errors
            code = int(e.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: CliResult, match: str) -> None:
    assert result.code == 2, result
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("motionmap: error: "), result.err
    assert match in lines[0], lines[0]
    assert "Traceback" not in result.err
