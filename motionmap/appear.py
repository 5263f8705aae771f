"""Appearing pixels: what the source's own motion cannot explain, drawn in the target's colours.

A limb that swings out from behind the body (a slash, a shot, a fall) has no pixels in ``b_0`` to move: a warp can
only stretch what is there, and the decoder blurs the gap. The source frame ``a_t`` does show what appeared, in A's
colours. Where A and B are drawn in the same pose (``a_0`` and ``b_0``, the premise of a retarget) the pixels they
share give a colour correspondence, A's skin to B's skin, A's sleeve to B's sleeve; so each appearing pixel of
``a_t`` is redrawn in B's colour for it:

- :func:`colour_correspondence`: for each colour of ``a_0``, the colour ``b_0`` has most often at the same pixels,
  kept when it is at least half of them (a consistent correspondence; two bodies that do not overlap give none).
  The background maps too: where A's limb has moved away, a transparent (black) background of A's shows B's
  background there.
- :func:`appearing_mask` (torch): pixels of ``a_t`` that ``a_0`` moved by A's own motion misses by more than
  ``threshold`` in some channel (values in [0, 1]): what came into view.
- :func:`paint_appearing`: every appearing pixel whose ``a_t`` colour has a correspondence takes B's colour; all other
  pixels keep the model's output. In a frame where most of the character (more than :data:`MOSTLY` of ``a_t``'s
  pixels other than black) comes into view, such as a fall, the model has little to go on, and B's most common
  colour stands in for an A colour even below :data:`MIN_SHARE`.

On the validation seeds (``motionmap eval --set ... --seed 1``) it took the shipped model from 34.5 to 26.2 SSE per
image on ``lpc`` plain, 48.7 to 37.8 on ``lpc`` scene, 49.6 to 40.1 at 32x32 and 63.2 to 60.6 on ``ulpc`` (where
transfers between the two body types, whose poses do not line up pixel for pixel, gain least); docs/RESEARCH.md has
the choices, the README's Results the test sets. Colours come from ``b_0`` itself, so the output stays
palette-true. Arrays are ``uint8 [...,3]`` images (RGBA composited over black beforehand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionmap.errors import MotionmapError

APPEAR_MODES = ("source", "off")
"""``source``: appearing pixels in the target's colours for the source's; ``off``: the model's output alone."""

THRESHOLD = 0.05
"""Largest per-channel miss (in [0, 1]) of the moved ``a_0`` that still counts as explained. Chosen on the validation
seeds: 0.02-0.03 gave 0.2-0.4 less SSE on ``lpc`` and 0.3 more on ``ulpc``; 0.1, 0.15, 0.25 and 0.4 were worse on
every set, and 0 (any miss of the bilinear warp) much worse (43.9 on ``lpc`` plain)."""

MIN_SHARE = 0.5
"""Share of an A colour's pixels where ``b_0`` has its most common colour, for the correspondence to be kept."""

MOSTLY = 0.5
"""Share of a frame's character pixels (``a_t`` other than black) that come into view above which every A colour
takes B's most common colour, consistent or not. On the validation seeds: ``lpc`` plain 26.3 -> 26.2 (hurt 128.8 ->
124.5), ``ulpc`` 60.9 -> 60.6, 32x32 40.2 -> 40.1, scene unchanged; 0.3 gave the same."""


def check_appear(mode: object, name: str = "--appear") -> str:
    if mode not in APPEAR_MODES:
        raise MotionmapError(f"{name} {mode!r}: expected one of {', '.join(APPEAR_MODES)}")
    return mode


def _keys(image: np.ndarray) -> np.ndarray:
    """``uint8 [...,3]`` -> ``int64 [...]``: one integer per RGB colour."""
    rgb = image.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


@dataclass(frozen=True)
class ColourCorrespondence:
    """A's colours ``keys`` (``int64 [K]``, sorted, as :func:`_keys` makes them), B's most common colour at their
    pixels ``colours`` ``uint8 [K,3]``, and whether that colour covers at least the minimum share, ``consistent``
    ``bool [K]``."""

    keys: np.ndarray
    colours: np.ndarray
    consistent: np.ndarray

    def match(self, keys: np.ndarray):
        """Colour keys ``int64 [...]`` -> (``bool [...]`` A colour known, ``int [...]`` its index; 0 where unknown)."""
        if len(self.keys) == 0:
            return np.zeros(keys.shape, bool), np.zeros(keys.shape, np.intp)
        i = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[i] == keys, i

    def lookup(self, image: np.ndarray, consistent_only: bool = True):
        """``uint8 [...,3]`` -> (``bool [...]`` has a correspondence, ``uint8 [...,3]`` B's colour where it has);
        ``consistent_only=False`` also takes the colours below the minimum share."""
        found, i = self.match(_keys(image))
        if len(self.keys) == 0:
            return found, np.zeros(found.shape + (3,), np.uint8)
        return (found & self.consistent[i] if consistent_only else found), self.colours[i]


def colour_correspondence(a0: np.ndarray, b0: np.ndarray, min_share: float = MIN_SHARE) -> ColourCorrespondence:
    """A's colour -> B's colour from two frames drawn in the same pose, ``uint8 [H,W,3]`` each (see the module)."""
    if a0.shape != b0.shape:
        raise ValueError(f"colour_correspondence: frames of {a0.shape} and {b0.shape}; they must be one size")
    ka, kb = _keys(a0).ravel(), _keys(b0).ravel()
    if ka.size == 0:
        return ColourCorrespondence(np.zeros(0, np.int64), np.zeros((0, 3), np.uint8), np.zeros(0, bool))
    # One integer per (A colour, B colour) pair, A's 24 bits above B's: sorted by A colour, then B.
    pairs, counts = np.unique((ka << 24) | kb, return_counts=True)
    pair_a, pair_b = pairs >> 24, pairs & 0xFFFFFF
    colours_a, first, per_a = np.unique(pair_a, return_index=True, return_counts=True)
    totals = np.add.reduceat(counts, first)
    best = np.array([first[j] + np.argmax(counts[first[j] : first[j] + per_a[j]]) for j in range(len(first))])
    kb_best = pair_b[best]
    colours = np.stack([(kb_best >> 16) & 255, (kb_best >> 8) & 255, kb_best & 255], 1).astype(np.uint8)
    return ColourCorrespondence(colours_a, colours, counts[best] >= min_share * totals)


def appearing_mask(a0, a_t, pixel_grid, threshold: float = THRESHOLD):
    """Pixels of ``a_t`` that ``a_0`` moved by A's motion does not explain: a0 ``float [1|B,3,H,W]``, a_t
    ``float [B,3,H,W]`` in [0, 1], ``pixel_grid`` the motion's sampling grid ``[B,H',W',2]`` (H', W' >= H, W: the
    model's padded size, :func:`motionmap.model.network.pad_to_cell`) -> ``bool [B,H,W]``."""
    from motionmap.model.network import pad_to_cell
    from motionmap.model.motion import warp

    h, w = a_t.shape[-2:]
    a0, a_t = pad_to_cell(a0.float()), pad_to_cell(a_t.float())
    if a0.shape[-2:] != pixel_grid.shape[1:3]:
        raise ValueError(f"appearing_mask: a grid of {tuple(pixel_grid.shape[1:3])} for frames of {(h, w)}")
    moved = warp(a0.expand(a_t.shape[0], -1, -1, -1), pixel_grid.float())
    return ((moved - a_t).abs().amax(1) > threshold)[:, :h, :w]


def paint_appearing(out: np.ndarray, a_t: np.ndarray, appearing: np.ndarray,
                    correspondence: ColourCorrespondence) -> np.ndarray:
    """``out`` ``uint8 [T,H,W,3]`` with each appearing pixel (``bool [T,H,W]``) of ``a_t`` (``uint8 [T,H,W,3]``)
    that has a correspondence redrawn in B's colour (any correspondence in a frame that mostly comes into view,
    :data:`MOSTLY`); in place, and returned."""
    if not appearing.any() or len(correspondence.keys) == 0:
        return out
    keys = _keys(a_t)
    found, i = correspondence.match(keys)
    character = keys != 0
    mostly = (appearing & character).sum((1, 2)) > MOSTLY * np.maximum(character.sum((1, 2)), 1)  # (T,)
    paint = appearing & found & (correspondence.consistent[i] | mostly[:, None, None])
    out[paint] = correspondence.colours[i[paint]]
    return out
