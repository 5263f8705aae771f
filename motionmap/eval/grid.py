"""The benchmark's picture grid: for a few cases, one row per image sequence (source, truth, each method), one column
per frame, scaled 2x nearest-neighbour so pixel art stays crisp."""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from PIL import Image, ImageDraw

from motionmap.eval.runner import BenchmarkResult
from motionmap.eval.testsets import BenchmarkSet

GRID_SCALE = 2
LABEL_WIDTH = 96  # px of the left label column, at output scale
GAP = 6  # px between cells
HEADER = 16  # px of the caption line above each case
PREFERRED_ACTIONS = ("walk", "slash", "shoot", "hurt", "spellcast", "thrust")
"""Actions shown first: walk (the flow baseline's best), slash and shoot (large motions), hurt (limbs hide)."""


def pick_grid_cases(bset: BenchmarkSet, n: int = 4) -> Tuple[int, ...]:
    """Up to ``n`` case indices with different actions (in :data:`PREFERRED_ACTIONS` order, then the rest), the
    ``j``-th taken from pair ``j`` when it exists (so different characters are shown), facing right/left if present."""
    by_action: Dict[str, List] = {}
    for c in bset.cases:
        by_action.setdefault(c.action, []).append(c)
    order = [a for a in PREFERRED_ACTIONS if a in by_action] + [a for a in by_action if a not in PREFERRED_ACTIONS]
    pairs = sorted({c.pair for c in bset.cases})
    picked: List[int] = []
    for j, action in enumerate(order[:n]):
        cases = by_action[action]
        want_pair = pairs[j % len(pairs)]
        in_pair = [c for c in cases if c.pair == want_pair] or cases
        side = [c for c in in_pair if c.facing in ("right", "left")]
        picked.append((side or in_pair)[0].index)
    return tuple(picked)


def _label(width: int, height: int, text: str, color=(230, 230, 230)) -> np.ndarray:
    img = Image.new("RGB", (width, height), (24, 24, 24))
    ImageDraw.Draw(img).text((4, max(0, height // 2 - 6)), text, fill=color)
    return np.asarray(img)


def render_grid(result: BenchmarkResult, case_indices: Sequence[int] = ()) -> np.ndarray:
    """``uint8 [H,W,3]``: per case a caption, then rows source, truth and each method, columns = frames.

    ``case_indices`` defaults to every case whose predictions the run kept (``result.grid``).
    """
    case_indices = [i for i in (case_indices or sorted(result.grid)) if i in result.grid]
    cases = {c.index: c for c in result.bset.cases}
    rows_names = ["source", "truth"] + [m.name for m in result.methods]
    frame_w, frame_h = result.bset.frame_size
    fh, fw = frame_h * GRID_SCALE, frame_w * GRID_SCALE
    columns = max((cases[i].frames for i in case_indices), default=1)
    width = LABEL_WIDTH + columns * (fw + GAP)
    blocks: List[np.ndarray] = []
    for i in case_indices:
        blocks.append(_label(width, HEADER, cases[i].label, color=(255, 220, 120)))
        for name in rows_names:
            frames = result.grid[i][name]  # (T, h, w, 3)
            big = frames.repeat(GRID_SCALE, axis=1).repeat(GRID_SCALE, axis=2)  # (T, fh, fw, 3)
            row = np.full((fh + GAP, width, 3), 24, dtype=np.uint8)
            row[:fh, :LABEL_WIDTH] = _label(LABEL_WIDTH, fh, name)
            for t in range(big.shape[0]):
                x = LABEL_WIDTH + t * (fw + GAP)
                row[:fh, x : x + fw] = big[t]
            blocks.append(row)
    if not blocks:
        return _label(width, HEADER, "no cases kept for the grid")
    return np.concatenate(blocks, axis=0)
