"""Connected components of boolean masks without scipy: horizontal runs joined by a union-find over run pairs.

>>> m = np.zeros((1, 4, 5), bool); m[0, 0, 0] = m[0, 0, 1] = m[0, 3, 4] = True
>>> labels, sizes = label_components(m)
>>> int(labels[0, 0, 1]) == int(labels[0, 0, 0]), int(labels[0, 3, 4]) != int(labels[0, 0, 0])
(True, True)
>>> sorted(int(sizes[0, r, c]) for r, c in [(0, 0), (3, 4)])
[1, 2]
"""

from __future__ import annotations

from typing import Tuple

import numpy as np


def label_components(mask: np.ndarray, connectivity: int = 8) -> Tuple[np.ndarray, np.ndarray]:
    """Label the connected components of each image of ``mask`` (``bool [N,H,W]``; images never connect).

    Returns ``(labels, sizes)``, both ``int64 [N,H,W]``: ``labels`` is -1 off the mask and otherwise a component id
    (0, 1, ... over the whole stack); ``sizes`` is the pixel count of each pixel's component (0 off the mask).
    ``connectivity`` is 4 or 8.
    """
    mask = np.asarray(mask, bool)
    n, h, w = mask.shape
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    # Runs: maximal horizontal stretches of the mask; run ids count run starts over the flattened stack.
    starts = mask.copy()
    starts[:, :, 1:] &= ~mask[:, :, :-1]
    run = np.cumsum(starts.ravel()).reshape(mask.shape) - 1  # (N,H,W), valid where mask
    n_runs = int(starts.sum())
    parent = np.arange(n_runs, dtype=np.int64)
    if n_runs and h > 1:
        pairs = []
        upper, lower = mask[:, :-1], mask[:, 1:]
        for dx in ((-1, 0, 1) if connectivity == 8 else (0,)):
            if dx == 0:
                both = upper & lower
                a, b = run[:, :-1][both], run[:, 1:][both]
            elif dx == 1:  # upper pixel x joins lower pixel x+1
                both = upper[:, :, :-1] & lower[:, :, 1:]
                a, b = run[:, :-1, :-1][both], run[:, 1:, 1:][both]
            else:
                both = upper[:, :, 1:] & lower[:, :, :-1]
                a, b = run[:, :-1, 1:][both], run[:, 1:, :-1][both]
            pairs.append(np.stack([a, b], axis=1))
        both_runs = np.concatenate(pairs)
        keys = np.unique(both_runs[:, 0] * n_runs + both_runs[:, 1])
        a, b = keys // n_runs, keys % n_runs
        # Min-label propagation over the run graph with pointer jumping: every label is a run of the same component.
        while True:
            lab = parent.copy()
            np.minimum.at(lab, a, lab[b])
            np.minimum.at(lab, b, lab[a])
            while True:
                jumped = lab[lab]
                if np.array_equal(jumped, lab):
                    break
                lab = jumped
            if np.array_equal(lab, parent):
                break
            parent = lab
    labels = np.where(mask, parent[np.where(mask, run, 0)], -1)
    sizes = np.zeros(mask.shape, np.int64)
    if n_runs:
        counts = np.bincount(labels[mask], minlength=n_runs)
        sizes[mask] = counts[labels[mask]]
    return labels, sizes
