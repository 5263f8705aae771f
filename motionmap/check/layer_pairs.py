"""Which body colours each layer colour lies over, across one sheet: a layer frame that sits off the body in a pose
drawn nowhere else.

A layer is drawn onto the body's features: eyes over the body's eyes, a shirt's hem over the same row of the body,
shoes over the feet. So over a sheet the same pairs (layer colour, body colour under it) recur from frame to frame
even where the poses differ, and so do the pairs around the layer's edge (no layer, body colour next to it). A layer
frame moved 1-3 px by mistake puts its colours over body colours they lie over nowhere else in the sheet, and moved
back, those pairs are the sheet's usual ones again. This needs no reference frame that reappears exactly, so it
judges the frames the exact matching of :mod:`motionmap.check.layers` cannot (a layer whose neighbouring frames are
drawn differently: a fall, a spell, a shoe in mid-step).

Input: key frames (:func:`~motionmap.check.grid.pack_keys`) of the body and the layer, ``uint32 [R,C,h,w]``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from motionmap.check.align import SHIFTS, ZERO, dilate, shift_frames

EDGE = 1  # body px within this many px of the layer count as its surroundings
PAIR_GAIN = 4  # moved back, at least this many px of the frame must turn from unseen pairs into the sheet's usual...
PAIR_GAIN_SHARE = 0.05  # ...and this share of the layer's px...
PAIR_LEFT_SHARE = 0.02  # ...leaving at most this share of them unseen


def _pairs(body: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """``uint64 [n]``: (layer key, body key) of the layer's px and of the body px around it (layer key 0)."""
    around = dilate(layer != 0, EDGE) & ((body != 0) | (layer != 0))
    return (layer[around].astype(np.uint64) << np.uint64(32)) | body[around].astype(np.uint64)


def _count(values: np.ndarray, counts: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``int [n]``: how often each of ``pairs`` is in the table ``values`` (sorted) / ``counts``."""
    if not len(values):
        return np.zeros(len(pairs), int)
    i = np.minimum(np.searchsorted(values, pairs), len(values) - 1)
    return np.where(values[i] == pairs, counts[i], 0)


class PairTable:
    """The (layer colour, body colour) pairs of every frame where both are drawn (``drawn bool [R,C]``)."""

    def __init__(self, body: np.ndarray, layer: np.ndarray, drawn: np.ndarray):
        self.body, self.layer = body, layer
        pairs = [_pairs(body[r, f], layer[r, f]) for r, f in zip(*np.nonzero(drawn))]
        self.values, self.counts = np.unique(np.concatenate(pairs) if pairs else np.zeros(0, np.uint64),
                                             return_counts=True)

    def unseen(self, r: int, f: int) -> np.ndarray:
        """``int [S]``: for each move of ``shift_list()``, how many pairs of frame ``(r, f)``, with the layer moved
        so, occur in no other frame of the sheet."""
        body, layer = self.body[r, f], self.layer[r, f]
        own_values, own_counts = np.unique(_pairs(body, layer), return_counts=True)
        out = np.empty(len(SHIFTS), int)
        for k, (dy, dx) in enumerate(SHIFTS):
            pairs = _pairs(body, shift_frames(layer, int(dy), int(dx)))
            elsewhere = _count(self.values, self.counts, pairs) - _count(own_values, own_counts, pairs)
            out[k] = int((elsewhere < 1).sum())
        return out


def pair_offset(table: PairTable, r: int, f: int, prefer: Optional[np.ndarray] = None
                ) -> Optional[Tuple[Tuple[int, int], int]]:
    """The move ``(dy, dx)`` that puts layer frame ``(r, f)`` back among the sheet's usual (layer colour, body colour)
    pairs, and how many px it takes out of unseen pairs; None when the frame is in place or no move clearly helps.

    In place, at least :data:`PAIR_GAIN` px and :data:`PAIR_GAIN_SHARE` of the layer's px must be in pairs no other
    frame has, and moved, at most :data:`PAIR_LEFT_SHARE`. Among equally good moves, the one ``prefer`` (``[S]``,
    e.g. exact matches with the neighbouring frames) scores highest, then the shortest."""
    layer_px = int((table.layer[r, f] != 0).sum())
    unseen = table.unseen(r, f)
    best = unseen.min()
    gain = int(unseen[ZERO] - best)
    if gain < max(PAIR_GAIN, PAIR_GAIN_SHARE * layer_px) or best > PAIR_LEFT_SHARE * layer_px:
        return None
    tied = np.flatnonzero(unseen == best)
    rank = np.abs(SHIFTS[tied]).max(axis=1).astype(float)
    if prefer is not None:
        rank -= 1000.0 * prefer[tied]
    k = int(tied[np.argmin(rank)])
    return (int(SHIFTS[k, 0]), int(SHIFTS[k, 1])), gain
