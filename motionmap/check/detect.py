"""The sheet doctor's detectors: which frames of a sheet do not fit the rest, and how.

Classical and pixel-exact (pixel art is drawn from exactly repeated parts); every test predicts a frame from the rest
of its own sheet, and for LPC sheets also checks the prediction against what clean LPC sheets do at that cell
(:mod:`motionmap.check.prior`, measured once on training characters and shipped):

- ``speck``: a small detached opaque component (at most :data:`SPECK_MAX` px) with no detached part of the
  neighbouring frames within :data:`SPECK_RADIUS` px.
- ``hole``: a small enclosed transparent region (at most :data:`HOLE_MAX` px) bordered by fill colours rather than
  outline colours (:func:`outline_share`; pixel art outlines every gap it draws), never see-through where its
  surroundings recur elsewhere in the sheet (same facing, moved up to :data:`RECUR_RADIUS` px), not enclosed by a
  stray piece, and not where clean LPC sheets have a gap.
- ``colour``: pixels of a colour used in one frame only, at most :data:`RARE_MAX` times, with no family of
  near-identical colours in the sheet, judged spot by spot (8-connected pieces): the spot's surroundings recur almost
  exactly (:data:`COLOUR_MATCH`) elsewhere drawn in the sheet's usual colours, or, enclosed by the character, it is
  far (:data:`FAR_COLOUR`) from every frequent colour, or it is one colour over 2 px or more with no other one-frame
  colour of the sheet within :data:`KIN_COLOUR` (the art's own effects recur, recoloured, across frames); not at a
  spot where clean LPC sheets have a one-frame colour, nor a single pixel shading the step between two neighbouring
  colours (:func:`_is_blend`, anti-aliasing).
- ``shift``: for a whole LPC character (:func:`character_template`), the frame's silhouette fits its own cell of the
  LPC template clearly better moved by 1-3 px (:func:`template_shift`) and fits no neighbouring frame's cell as well
  in place. Otherwise: moving the frame as a whole by up to 3 px gains many exact pixel matches with the frames
  around it and loses almost none (:func:`shift_evidence`), and the displacement is not the animation's own: not
  shared by the other facings at that frame, not repeated elsewhere in the row (a cycle's bob), not one clean LPC
  sheets show.
- ``order``: for LPC character sheets, a frame (shifted ones moved back first) whose silhouette is more like the LPC
  template of another frame of its row than its own (by more than clean sheets ever are); an exact copy of the
  previous frame where the other facings move on; for other layouts, a swap of neighbours that shortens the row's
  path through frame space.

Scores are in (0, 1); 0.5 at a kind's threshold, towards 1 far above it.
Input: a :class:`~motionmap.check.grid.SheetGrid`. Output: a list of :class:`Flag`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from motionmap.check.align import MAX_SHIFT, SHIFTS, ZERO, dilate, shift_frames
from motionmap.check.components import label_components
from motionmap.check.grid import SheetGrid
from motionmap.check.prior import lpc_template, natural_misplacement, natural_shifts, natural_spot, natural_swap
from motionmap.layout import LPC_LAYOUT

KINDS: Tuple[str, ...] = ("hole", "speck", "shift", "order", "colour")

SPECK_MAX = 16
SPECK_RADIUS = 2
HOLE_MAX = 16
RARE_MAX = 12
FAMILY_DISTANCE = 3
HOLE_MATCH = 0.7
HOLE_EDGE_SHARE = 0.3
COLOUR_MATCH = 0.875
FAR_COLOUR = 48
KIN_COLOUR = 32
BLEND_CONTRAST = 32  # two neighbouring colours at least this far apart (max over channels)...
BLEND_SPAN = 0.2  # ...and a one-pixel colour at least this far along the line between them from either end...
BLEND_DISTANCE = 6  # ...and this close to it (max over channels) is the art's anti-aliasing, not a slip
SHIFT_THRESHOLD = 0.5
SHIFT_REACH = 2
SWAP_THRESHOLD = 0.2
REPEAT_THRESHOLD = 0.15
ORDER_REACH = 2
ORDER_MARGIN = 0.02
TEMPLATE_FIT = 0.5
TEMPLATE_SHIFT_GAIN = 40.0


@dataclass
class Flag:
    """One finding: cell ``(row, frame)`` of the sheet (0-based) looks wrong in the way ``kind`` says."""

    row: int
    frame: int
    kind: str
    score: float
    explanation: str
    layer: Optional[str] = None
    pixels: List[Tuple[int, int]] = field(default_factory=list)  # (y, x) within the cell, where it applies
    move: Tuple[int, int] = (0, 0)  # shift: the (dy, dx) that puts the frame (or layer) back


def _score(evidence: float, threshold: float) -> float:
    """Evidence over a kind's threshold as a score in (0, 1): 0.5 at the threshold, approaching 1 far above it."""
    evidence = max(float(evidence), 0.0)
    return round(evidence / (evidence + threshold), 3) if evidence > 0 else 0.0


def _neighbours(grid: SheetGrid, r: int, f: int) -> List[int]:
    return [g for g in (f - 1, f + 1) if 0 <= g < grid.cells.shape[1] and grid.valid[r, g]]


RECUR_RADIUS = 4


def _same_facing_cells(grid: SheetGrid, r: int, f: int) -> np.ndarray:
    """``int [K,2]``: the valid cells of row ``r`` and of the rows with its facing, except ``(r, f)`` itself."""
    facing = grid.layout.rows[r].facing
    rows = [q for q, spec in enumerate(grid.layout.rows) if q == r or (facing is not None and spec.facing == facing)]
    cells = [(q, g) for q in rows for g in np.flatnonzero(grid.valid[q]) if (q, g) != (r, f)]
    return np.array(cells, int).reshape(-1, 2)


def recurrences(keys: np.ndarray, grid: SheetGrid, r: int, f: int, region: np.ndarray,
                ring_width: int = 2) -> Tuple[np.ndarray, np.ndarray]:
    """Where does the neighbourhood of ``region`` (``bool [h,w]`` of frame ``(r, f)``) recur in the sheet?

    Looks in every other frame of the same facing, moved by up to :data:`RECUR_RADIUS` px. Returns
    ``(match float [K*S], centre uint32 [K*S,n])``: for each (frame, shift), the fraction of the ring around
    ``region`` (``ring_width`` px wide) that recurs exactly, and that frame's keys under ``region`` there.
    """
    cells = _same_facing_cells(grid, r, f)
    ring = dilate(region, ring_width) & ~region
    if not len(cells) or not ring.any():
        return np.zeros(0), np.zeros((0, int(region.sum())), np.uint32)
    m = RECUR_RADIUS
    h, w = region.shape
    refs = np.zeros((len(cells), h + 2 * m, w + 2 * m), keys.dtype)
    refs[:, m : m + h, m : m + w] = keys[cells[:, 0], cells[:, 1]]
    ry, rx = np.nonzero(ring)
    cy, cx = np.nonzero(region)
    offsets = np.array([(dy, dx) for dy in range(-m, m + 1) for dx in range(-m, m + 1)])  # (S, 2)
    ring_vals = refs[:, ry[None, :] + m + offsets[:, :1], rx[None, :] + m + offsets[:, 1:]]  # (K, S, n_ring)
    match = (ring_vals == keys[r, f][ry, rx]).mean(axis=2)  # (K, S)
    centre = refs[:, cy[None, :] + m + offsets[:, :1], cx[None, :] + m + offsets[:, 1:]]  # (K, S, n)
    return match.reshape(-1), centre.reshape(-1, len(cy))


# --- specks and holes ------------------------------------------------------------------------------------------------


def _detached_parts(alpha: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """alpha ``bool [N,h,w]`` -> (labels, sizes, detached): detached marks pixels of components other than each
    frame's largest one."""
    labels, sizes = label_components(alpha, 8)
    biggest = sizes.reshape(len(alpha), -1).max(axis=1)
    detached = alpha & (sizes < biggest[:, None, None])
    return labels, sizes, detached


def find_specks(grid: SheetGrid) -> List[Flag]:
    n_rows, n_cols, h, w = grid.alpha.shape
    alpha = grid.alpha.reshape(-1, h, w)
    labels, sizes, detached = _detached_parts(alpha)
    labels, sizes, detached = (a.reshape(n_rows, n_cols, h, w) for a in (labels, sizes, detached))
    near_detached = dilate(detached, SPECK_RADIUS)
    flags = []
    for r, f in zip(*np.nonzero(grid.valid)):
        small = detached[r, f] & (sizes[r, f] <= SPECK_MAX)
        if not small.any():
            continue
        for lab in np.unique(labels[r, f][small]):
            comp = labels[r, f] == lab
            support = [g for g in _neighbours(grid, r, f) if near_detached[r, g][comp].any()]
            if support:
                continue
            ys, xs = np.nonzero(comp)
            n = int(comp.sum())
            # Evidence: how far the speck is from the character, in pixels, plus its size.
            far = min(_distance_to(alpha_cell=grid.alpha[r, f] & ~comp, ys=ys, xs=xs), 8)
            flags.append(Flag(int(r), int(f), "speck", _score(far + 0.25 * n, 1.0),
                              f"{n} stray opaque px at ({int(xs.mean())},{int(ys.mean())}), {far} px from the "
                              "character, absent in the neighbouring frames",
                              pixels=list(zip(ys.tolist(), xs.tolist()))))
    return flags


def _distance_to(alpha_cell: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> int:
    """Chebyshev distance (pixels) from the points ``(ys, xs)`` to the nearest True of ``alpha_cell``; 99 if none."""
    oy, ox = np.nonzero(alpha_cell)
    if not len(oy):
        return 99
    d = np.maximum(np.abs(oy[None, :] - ys[:, None]), np.abs(ox[None, :] - xs[:, None]))
    return int(d.min())


def _enclosed_transparency(alpha: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """alpha ``bool [N,h,w]`` -> (labels, sizes, enclosed) of the 4-connected transparent regions; ``enclosed``
    marks the ones that do not reach the frame's border."""
    labels, sizes = label_components(~alpha, 4)
    edge = np.zeros(alpha.shape[1:], bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    touching = np.unique(labels[:, edge][labels[:, edge] >= 0])
    enclosed = (labels >= 0) & ~np.isin(labels, touching)
    return labels, sizes, enclosed


def small_enclosed_regions(grid: SheetGrid):
    """Yield ``(row, frame, bool [h,w])`` for every enclosed transparent region of at most HOLE_MAX px."""
    n_rows, n_cols, h, w = grid.alpha.shape
    labels, sizes, enclosed = _enclosed_transparency(grid.alpha.reshape(-1, h, w))
    labels, sizes, enclosed = (a.reshape(n_rows, n_cols, h, w) for a in (labels, sizes, enclosed))
    for r, f in zip(*np.nonzero(grid.valid)):
        small = enclosed[r, f] & (sizes[r, f] <= HOLE_MAX)
        for lab in (np.unique(labels[r, f][small]) if small.any() else []):
            yield int(r), int(f), labels[r, f] == lab


def outline_share(grid: SheetGrid, keys: np.ndarray) -> Dict[int, float]:
    """For each opaque colour key of the sheet: the fraction of its pixels (over the valid cells) that lie on the
    character's outer edge (next to transparency that reaches the frame's border). Outline colours score high, fill
    colours near 0; the transparent key 0 scores 1."""
    n_rows, n_cols, h, w = grid.alpha.shape
    alpha = grid.alpha & grid.valid[:, :, None, None]
    _, _, enclosed = _enclosed_transparency(alpha.reshape(-1, h, w))
    outside = ~alpha & ~enclosed.reshape(alpha.shape)
    edge = alpha & dilate(outside, 1)
    values, totals = np.unique(keys[alpha], return_counts=True)
    on_edge = dict(zip(*(v.tolist() for v in np.unique(keys[edge], return_counts=True))))
    share = {int(k): on_edge.get(int(k), 0) / int(n) for k, n in zip(values, totals)}
    share[0] = 1.0
    return share


def find_holes(grid: SheetGrid, keys: Optional[np.ndarray] = None, use_prior: bool = True) -> List[Flag]:
    """``hole`` flags: small enclosed see-through regions bordered by fill colours (pixel art outlines every gap it
    draws; a hole punched into a fill is bordered by the fill) that are opaque wherever their surroundings recur."""
    keys = grid.keys() if keys is None else keys
    share = detached = None
    flags = []
    for r, f, comp in small_enclosed_regions(grid):
        if use_prior and natural_spot(grid, "hole", int(r), int(f), comp):
            continue
        if share is None:
            share = outline_share(grid, keys)
            n_rows, n_cols, h, w = grid.alpha.shape
            detached = _detached_parts(grid.alpha.reshape(-1, h, w))[2].reshape(grid.alpha.shape)
        ring = dilate(comp, 1) & ~comp
        if detached[r, f][ring].any():  # enclosed by a stray piece, not by the character (a speck's business)
            continue
        edge = float(np.mean([share.get(int(k), 0.0) for k in keys[r, f][ring]]))
        if edge > HOLE_EDGE_SHARE:  # outlined: a gap the artist drew
            continue
        # Predict the hole from the rest of the sheet: where its surroundings recur exactly, is the middle
        # see-through too (a gap the artist drew)?
        match, centre = recurrences(keys, grid, int(r), int(f), comp)
        good = match >= HOLE_MATCH
        if (centre[good] == 0).any():
            continue
        support = int(len(np.unique(np.flatnonzero(good) // (2 * RECUR_RADIUS + 1) ** 2)))
        ys, xs = np.nonzero(comp)
        n = int(comp.sum())
        where = (f"opaque where its surroundings recur in {support} other frames" if support else
                 "its surroundings do not recur elsewhere in the sheet")
        flags.append(Flag(int(r), int(f), "hole", _score(HOLE_EDGE_SHARE - edge + 0.05, 0.05),
                          f"{n} transparent px enclosed by the character at ({int(xs.mean())},{int(ys.mean())}), "
                          f"bordered by fill, not outline; {where}",
                          pixels=list(zip(ys.tolist(), xs.tolist()))))
    return flags


# --- colours ---------------------------------------------------------------------------------------------------------


def lonely_colours(grid: SheetGrid, exclude: Optional[np.ndarray] = None):
    """The sheet's colour outliers: opaque colours used in one frame only, at most RARE_MAX times, with no family of
    near-identical colours (within FAMILY_DISTANCE) in the sheet. Returns ``(by_cell, ctx)``: ``by_cell`` maps a
    flat cell index to ``bool [h,w]`` pixels, ``ctx`` holds what :func:`find_colours` reports about them."""
    cells = grid.cells
    n_rows, n_cols, h, w = cells.shape[:4]
    solid = (cells[..., 3] == 255) & grid.valid[:, :, None, None]
    if exclude is not None:
        solid &= ~exclude
    rgb = cells[..., :3].astype(np.int32)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    cell_id = np.broadcast_to(np.arange(n_rows * n_cols).reshape(n_rows, n_cols, 1, 1), solid.shape)
    values, inverse, counts = np.unique(code[solid], return_inverse=True, return_counts=True)
    if not len(values):
        return {}, None
    first_cell = np.full(len(values), -1)
    first_cell[inverse] = cell_id[solid]
    n_cells = np.bincount(np.unique(inverse * (n_rows * n_cols) + cell_id[solid]) // (n_rows * n_cols),
                          minlength=len(values))
    rare = np.flatnonzero((counts <= RARE_MAX) & (n_cells == 1))
    if not len(rare):
        return {}, None
    palette = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1)  # (P, 3)
    dist = np.abs(palette[rare][:, None, :] - palette[None, :, :]).max(axis=2)  # (rare, P)
    family = ((dist <= FAMILY_DISTANCE) & (dist > 0)) * counts[None, :]
    lonely = rare[family.sum(axis=1) <= RARE_MAX]
    if not len(lonely):
        return {}, None
    frequent = counts >= 4 * RARE_MAX
    by_cell: Dict[int, List[int]] = {}
    for v in lonely:
        by_cell.setdefault(int(first_cell[v]), []).append(int(v))
    by_mask = {}
    for cid, vs in by_cell.items():
        r, f = divmod(cid, n_cols)
        by_mask[cid] = (solid[r, f] & np.isin(code[r, f], values[vs]), vs)
    return by_mask, (palette, counts, frequent, n_cols, solid, code, inverse)


def _is_blend(cell: np.ndarray, spot: np.ndarray) -> bool:
    """Whether the one pixel ``spot`` (``bool [h,w]``) of ``cell`` (``uint8 [h,w,4]``) is an anti-aliasing pixel: its
    colour lies between two clearly different opaque colours next to it (within :data:`BLEND_DISTANCE` of the line
    between them, :data:`BLEND_SPAN` of the way from either end), as pixel art shades the step between two colours."""
    (y,), (x,) = np.nonzero(spot)
    around = cell[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 4)
    near = np.unique(around[(around[:, 3] == 255)][:, :3], axis=0).astype(float)
    c = cell[y, x, :3].astype(float)
    near = near[np.abs(near - c).max(axis=1) > 0]
    for i in range(len(near)):
        for j in range(i + 1, len(near)):
            a, b = near[i], near[j]
            ab = b - a
            if np.abs(ab).max() < BLEND_CONTRAST:
                continue
            t = float((c - a) @ ab / (ab @ ab))
            if BLEND_SPAN <= t <= 1 - BLEND_SPAN and np.abs(a + t * ab - c).max() <= BLEND_DISTANCE:
                return True
    return False


def _recoloured_evidence(grid: SheetGrid, keys: np.ndarray, r: int, f: int, spot: np.ndarray,
                         palette: np.ndarray, frequent: np.ndarray, use_prior: bool,
                         others: np.ndarray) -> float:
    """Evidence (> 0) that the lonely-colour pixels ``spot`` (``bool [h,w]``, one 8-connected piece) of frame
    ``(r, f)`` were recoloured; 0 when they look like the art's own."""
    if use_prior and natural_spot(grid, "colour", r, f, spot):
        return 0.0
    if spot.sum() == 1 and _is_blend(grid.cells[r, f], spot):
        return 0.0
    # Predict the spot from the rest of the sheet: where its surroundings recur exactly, it is drawn in the sheet's
    # usual colours, so these pixels were recoloured here. A colour far from every frequent colour of the sheet,
    # enclosed by the character, needs no prediction.
    match, centre = recurrences(keys, grid, r, f, spot)
    good = (match >= COLOUR_MATCH) & (centre != 0).all(axis=1)
    if good.any():
        return float(match[good].max()) - COLOUR_MATCH + 0.05
    if not frequent.any() or not grid.alpha[r, f][dilate(spot, 1)].all():
        return 0.0
    rgb = grid.cells[r, f][spot][:, :3].astype(int)
    far = int(np.abs(rgb[:, None, :] - palette[frequent][None, :, :]).max(axis=2).min())
    if far >= FAR_COLOUR:
        return (far - FAR_COLOUR) / 256 + 0.05
    colours = np.unique(rgb, axis=0)
    if len(colours) > 1 or spot.sum() < 2:
        return 0.0
    # One colour painted over a few pixels inside the character, and no other one-frame colour of the sheet like it
    # (the art's own effects recur, a little recoloured, in other frames and facings).
    d = np.abs(others - colours[0]).max(axis=1) if len(others) else np.zeros(0)
    if ((d > 0) & (d <= KIN_COLOUR)).any():
        return 0.0
    return 0.05


def find_colours(grid: SheetGrid, exclude: Optional[np.ndarray] = None,
                 keys: Optional[np.ndarray] = None, use_prior: bool = True) -> List[Flag]:
    """exclude: optional ``bool [R,C,h,w]`` of pixels already explained (specks)."""
    keys = grid.keys() if keys is None else keys
    by_mask, ctx = lonely_colours(grid, exclude)
    if not by_mask:
        return []
    palette, counts, frequent, n_cols, solid, code, inverse = ctx
    lonely_rgb = palette[sorted({v for _, vs in by_mask.values() for v in vs})]
    flags = []
    for cid, (cell_mask, cell_vs) in by_mask.items():
        r, f = divmod(cid, n_cols)
        # Judge each spot (8-connected piece) of the cell's lonely colours on its own: a frame can hold a one-frame
        # colour of the art's own (known to the prior) and a recoloured spot elsewhere.
        labels, _ = label_components(cell_mask[None], 8)
        mask = np.zeros_like(cell_mask)
        evidence = 0.0
        for lab in np.unique(labels[0][cell_mask]):
            spot = labels[0] == lab
            spot_evidence = _recoloured_evidence(grid, keys, r, f, spot, palette, frequent, use_prior, lonely_rgb)
            if spot_evidence > 0:
                mask |= spot
                evidence = max(evidence, spot_evidence)
        if not mask.any():
            continue
        spot_codes = np.unique(code[r, f][mask])
        vs = [v for v in cell_vs if int((palette[v, 0] << 16) | (palette[v, 1] << 8) | palette[v, 2]) in spot_codes]
        ys, xs = np.nonzero(mask)
        near = dist_to_frequent = None
        if frequent.any():
            d = np.abs(palette[vs][:, None, :] - palette[frequent][None, :, :]).max(axis=2)
            dist_to_frequent = int(d.min())
            j = np.unravel_index(int(d.argmin()), d.shape)
            near = palette[frequent][j[1]]
        what = (f"a near miss of #{near[0]:02x}{near[1]:02x}{near[2]:02x} (off by {dist_to_frequent})"
                if near is not None and dist_to_frequent <= 32 else "not used anywhere else in the sheet")
        c = palette[vs[0]]
        flags.append(Flag(r, f, "colour", _score(evidence, 0.05),
                          f"{len(ys)} px in #{c[0]:02x}{c[1]:02x}{c[2]:02x}" + (f" (+{len(vs) - 1} more colours)"
                                                                                 if len(vs) > 1 else "")
                          + f", {what}", pixels=list(zip(ys.tolist(), xs.tolist()))))
    return flags


# --- shifts ----------------------------------------------------------------------------------------------------------


def _gain_loss(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """For frames ``a`` and references ``b`` (``uint32 [N,h,w]`` keys) and each shift s of ``shift_list()``: how many
    opaque pixels of ``a`` match ``b`` exactly only when ``a`` is moved by s (gained), and only in place (lost).
    Returns ``(gained, lost)``, ``int32 [N,S]``."""
    n, h, w = a.shape
    m = MAX_SHIFT
    padded = np.zeros((n, h + 2 * m, w + 2 * m), b.dtype)
    padded[:, m : m + h, m : m + w] = b
    opaque = a != 0
    in_place = (a == b) & opaque
    gained = np.empty((n, len(SHIFTS)), np.int32)
    lost = np.empty((n, len(SHIFTS)), np.int32)
    for k, (dy, dx) in enumerate(SHIFTS):
        moved = (a == padded[:, m + dy : m + dy + h, m + dx : m + dx + w]) & opaque  # a[p] vs b[p + s]
        gained[:, k] = (moved & ~in_place).reshape(n, -1).sum(axis=1)
        lost[:, k] = (in_place & ~moved).reshape(n, -1).sum(axis=1)
    return gained, lost


def _references(grid: SheetGrid, r: int, f: int, reach: int = 1) -> List[Tuple[int, int]]:
    """The frames a frame should look like: up to ``reach`` frames either side in its row, and for a row's first
    frame the first frames of the other rows with its facing."""
    refs = [(r, g) for g in range(f - reach, f + reach + 1)
            if g != f and 0 <= g < grid.cells.shape[1] and grid.valid[r, g]]
    if f == 0:  # a row's first frame is the rest pose, shared by every animation of that facing
        facing = grid.layout.rows[r].facing
        if facing is not None:
            refs += [(q, 0) for q, spec in enumerate(grid.layout.rows)
                     if q != r and spec.facing == facing and grid.valid[q, 0]]
    return refs


def shift_evidence(grid: SheetGrid, keys: Optional[np.ndarray] = None,
                   full_gain: float = 30.0) -> Tuple[np.ndarray, np.ndarray]:
    """Per cell: ``(evidence float [R,C] in [0,1], best shift int [R,C,2] as (dy,dx))``.

    The best shift moves the frame onto its references; evidence is high when that move gains many exact pixel
    matches and loses almost none (a rigid displacement of the whole frame), 0 when staying in place is best.
    The offset that undoes the frame's displacement is ``best``; the frame was displaced by ``-best``. Evidence
    is scaled down while the net gain is under ``full_gain`` px (few matched pixels are no proof).
    """
    keys = grid.keys() if keys is None else keys
    n_rows, n_cols = grid.valid.shape
    pairs = [(r, f, q, g) for r, f in zip(*np.nonzero(grid.valid))
             for q, g in _references(grid, int(r), int(f), reach=SHIFT_REACH)]
    evidence = np.zeros((n_rows, n_cols))
    best = np.zeros((n_rows, n_cols, 2), int)
    if not pairs:
        return evidence, best
    idx = np.array(pairs)
    gained, lost = _gain_loss(keys[idx[:, 0], idx[:, 1]], keys[idx[:, 2], idx[:, 3]])
    cell = idx[:, 0] * n_cols + idx[:, 1]
    G = np.zeros((n_rows * n_cols, len(SHIFTS)))
    L = np.zeros_like(G)
    np.add.at(G, cell, gained)
    np.add.at(L, cell, lost)
    net = G - L
    k = net.argmax(axis=1)
    rows = np.arange(len(k))
    g, l = G[rows, k], L[rows, k]
    ev = np.where(k == ZERO, 0.0, (g - l) / (g + l + 1.0) * np.minimum(1.0, (g - l) / full_gain))
    evidence = np.clip(ev, 0, 1).reshape(n_rows, n_cols)
    best = SHIFTS[k].reshape(n_rows, n_cols, 2)
    return evidence, best


def find_shifts(grid: SheetGrid, keys: Optional[np.ndarray] = None, layer: Optional[str] = None,
                full_gain: float = 30.0) -> List[Flag]:
    evidence, best = shift_evidence(grid, keys, full_gain)
    group_of = {r: g for g in grid.facing_groups() for r in g}
    flags = []
    for r, f in zip(*np.nonzero(evidence > SHIFT_THRESHOLD)):
        r, f = int(r), int(f)
        dy, dx = (int(v) for v in best[r, f])
        if (dy, dx) in natural_shifts(grid, r, f):  # clean LPC sheets move this frame this way
            continue
        shared = [q for q in group_of[r] if q != r and grid.valid[q, f] and evidence[q, f] > 0.3
                  and best[q, f, 0] == dy and abs(best[q, f, 1]) == abs(dx)]
        if shared:  # every facing does it: the animation's own motion (a bob, a lean)
            continue
        again = [g for g in range(evidence.shape[1]) if abs(g - f) > 1 and evidence[r, g] > 0.3
                 and tuple(best[r, g]) == (dy, dx)]
        if again:  # the row does it again elsewhere: a cycle's bob (walk and run bob twice per cycle)
            continue
        what = f"layer {layer}" if layer else "the frame"
        flags.append(Flag(r, f, "shift", _score(evidence[r, f], SHIFT_THRESHOLD), f"{what} sits {_offset(-dy, -dx)} "
                          "from where the animation puts it; moved back it matches its neighbours", layer=layer,
                          move=(dy, dx)))
    return flags


def _offset(dy: int, dx: int) -> str:
    parts = []
    if dx:
        parts.append(f"{abs(dx)} px {'right' if dx > 0 else 'left'}")
    if dy:
        parts.append(f"{abs(dy)} px {'down' if dy > 0 else 'up'}")
    return " and ".join(parts)


# --- order -----------------------------------------------------------------------------------------------------------


def _distance(keys: np.ndarray, r: int, f: int, g: int) -> float:
    a, b = keys[r, f], keys[r, g]
    union = int(((a != 0) | (b != 0)).sum())
    return float((a != b).sum()) / max(union, 1)


def order_evidence(grid: SheetGrid, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per cell: ``(repeat float [R,C], swap float [R,C])``. ``repeat[r,f]``: frame f is (nearly) frame f-1 while
    the row otherwise moves on; ``swap[r,f]``: how much shorter the row's path gets with frames f and f+1 swapped."""
    n_rows, n_cols = grid.valid.shape
    repeat = np.zeros((n_rows, n_cols))
    swap = np.zeros((n_rows, n_cols))
    for r in range(n_rows):
        T = grid.row_frames(r)
        if T < 3 or not grid.valid[r, :T].all():
            continue
        d = np.array([[_distance(keys, r, i, j) if i != j else 0.0 for j in range(T)] for i in range(T)])
        steps = np.array([d[i, i + 1] for i in range(T - 1)])
        typical = float(np.median(steps))
        for f in range(1, T):
            repeat[r, f] = typical if steps[f - 1] == 0 else 0.0  # an exact copy of the previous frame
        loops = d[T - 1, 0] <= 1.5 * typical  # a cycle (walk): the last frame leads back to the first

        def ctx(i: int) -> Optional[int]:
            return i % T if loops else (i if 0 <= i < T else None)

        for f in range(T - 1):
            before = d[f, f + 1]
            after = d[f + 1, f]
            p, n = ctx(f - 1), ctx(f + 2)
            if p is not None and p not in (f, f + 1):
                before += d[p, f]
                after += d[p, f + 1]
            if n is not None and n not in (f, f + 1):
                before += d[f + 1, n]
                after += d[f, n]
            swap[r, f] = (before - after) / max(before, 1e-6)
    return repeat, swap


def template_misplacement(grid: SheetGrid, template: np.ndarray,
                          alpha: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """How much more each frame looks like another frame of its row than like its own, by silhouette against the
    LPC template (``float [R,C,h,w]``, see :func:`motionmap.check.prior.lpc_template`).

    Returns ``(misplacement float [R,C], fit float [R,C])``: misplacement = max over the other frames j within
    :data:`ORDER_REACH` of IoU(frame, template j) - IoU(frame, template of its own cell) (> 0: misplaced); fit = the
    soft IoU with its own cell's template. ``alpha``: ``bool [R,C,h,w]`` to use instead of the grid's own."""
    n_rows, n_cols = grid.valid.shape
    alpha = (grid.alpha if alpha is None else alpha).astype(np.float32)
    mis = np.zeros((n_rows, n_cols))
    fit = np.zeros((n_rows, n_cols))
    for r in range(n_rows):
        T = min(grid.layout.rows[r].frames, n_cols)
        frames, tmpl = alpha[r, :T], template[r, :T]
        inter = np.einsum("ihw,jhw->ij", frames, tmpl)
        union = frames.reshape(T, -1).sum(1)[:, None] + tmpl.reshape(T, -1).sum(1)[None, :] - inter
        S = inter / np.maximum(union, 1e-6)  # (T, T)
        for i in range(T):
            if not grid.valid[r, i]:
                continue
            fit[r, i] = S[i, i]
            others = [j for j in range(i - ORDER_REACH, i + ORDER_REACH + 1) if j != i and 0 <= j < T]
            if others:
                mis[r, i] = max(S[i, j] for j in others) - S[i, i]
    return mis, fit


def character_template(grid: SheetGrid) -> Optional[np.ndarray]:
    """The LPC silhouette template (``float [R,C,h,w]``) when ``grid`` is a whole character in the LPC layout (its
    frames fit their template cells, median soft IoU at least :data:`TEMPLATE_FIT`); None for other layouts, single
    layers and when the template is not shipped."""
    template = lpc_template() if grid.layout == LPC_LAYOUT else None
    if template is None or not grid.valid.any():
        return None
    _, fit = template_misplacement(grid, template)
    return template if np.median(fit[grid.valid]) >= TEMPLATE_FIT else None


def template_shift(grid: SheetGrid, template: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """How far each frame of a character sits from its own cell of the LPC template.

    Scores each move ``s`` of ``shift_list()`` by the agreement of the moved silhouette with the template,
    ``sum(alpha(p - s) * (2 T(p) - 1))`` (opaque where most characters are opaque: +, elsewhere: -). Returns ``(gain
    float [R,C], best int [R,C,2])``: the best score minus the score in place (0 when in place is best), and the
    ``(dy, dx)`` that puts the frame back on its template. A frame that fits a neighbouring frame's cell (within
    :data:`ORDER_REACH`) in place at least as well has gain 0: it is misplaced, not moved."""
    weight = 2.0 * template - 1.0
    alpha = grid.alpha.astype(np.float32)
    scores = np.stack([(shift_frames(alpha, dy, dx) * weight).sum(axis=(2, 3)) for dy, dx in SHIFTS], axis=-1)
    k = scores.argmax(axis=-1)
    best_score = scores.max(axis=-1)
    # A frame that fits another frame's cell of its row in place as well as its own moved is misplaced, not moved:
    # no shift gain (the order check judges it).
    n_cols = grid.valid.shape[1]
    for d in range(-ORDER_REACH, ORDER_REACH + 1):
        if d == 0:
            continue
        other = np.full(best_score.shape, -np.inf, np.float32)
        lo, hi = max(0, -d), min(n_cols, n_cols - d)
        other[:, lo:hi] = (alpha[:, lo:hi] * weight[:, lo + d : hi + d]).sum(axis=(2, 3))
        other[:, lo:hi] = np.where(grid.valid[:, lo + d : hi + d], other[:, lo:hi], -np.inf)
        best_score = np.where(other >= best_score, scores[..., ZERO], best_score)
    gain = np.where(grid.valid, best_score - scores[..., ZERO], 0.0)
    return gain, SHIFTS[k]


def find_character_shifts(grid: SheetGrid, template: np.ndarray) -> List[Flag]:
    """``shift`` flags of a whole LPC character: frames whose silhouette fits its template cell clearly better moved
    by 1-3 px (:func:`template_shift` gain over :data:`TEMPLATE_SHIFT_GAIN`)."""
    gain, best = template_shift(grid, template)
    flags = []
    for r, f in zip(*np.nonzero(gain > TEMPLATE_SHIFT_GAIN)):
        dy, dx = (int(v) for v in best[r, f])
        flags.append(Flag(int(r), int(f), "shift", _score(gain[r, f], TEMPLATE_SHIFT_GAIN),
                          f"the frame sits {_offset(-dy, -dx)} from where the animation puts it; moved back it fits "
                          "this frame of the LPC body", move=(dy, dx)))
    return flags


def find_order(grid: SheetGrid, keys: Optional[np.ndarray] = None, template: Optional[np.ndarray] = None,
               moved: Sequence[Flag] = ()) -> List[Flag]:
    """``order`` flags. ``template``: :func:`character_template` of the grid (None: judge by the row alone);
    ``moved``: ``shift`` flags whose frames are judged moved back (a shifted frame is not a misplaced one)."""
    keys = grid.keys() if keys is None else keys
    repeat, swap = order_evidence(grid, keys)
    group_of = {r: g for g in grid.facing_groups() for r in g}
    flags = []
    for r, f in zip(*np.nonzero(repeat > REPEAT_THRESHOLD)):
        r, f = int(r), int(f)
        if any(repeat[q, f] > REPEAT_THRESHOLD / 3 for q in group_of[r] if q != r):
            continue
        flags.append(Flag(r, f, "order", _score(repeat[r, f], REPEAT_THRESHOLD),
                          f"repeats frame {f - 1} where the animation moves on"))
    if template is not None:
        # A character in the LPC layout: its frames must look like their own cell of the template.
        alpha = grid.alpha.copy()
        for fl in moved:
            alpha[fl.row, fl.frame] = shift_frames(alpha[fl.row, fl.frame], *fl.move)
        mis, _ = template_misplacement(grid, template, alpha)
        for r, f in zip(*np.nonzero(mis > 0)):
            r, f = int(r), int(f)
            margin = mis[r, f] - natural_misplacement(grid, r, f)
            if margin <= ORDER_MARGIN or any(fl.row == r and fl.frame == f for fl in flags):
                continue
            flags.append(Flag(r, f, "order", _score(margin, ORDER_MARGIN),
                              "looks like another frame of this animation: frames swapped or repeated"))
        return flags
    for r, f in zip(*np.nonzero(swap > SWAP_THRESHOLD)):
        r, f = int(r), int(f)
        others = [swap[q, f] for q in group_of[r] if q != r]
        margin = swap[r, f] - max([natural_swap(grid, r, f)] + others)
        if margin <= SWAP_THRESHOLD:
            continue
        for cell in (f, f + 1):
            flags.append(Flag(r, cell, "order", _score(margin, SWAP_THRESHOLD),
                              f"frames {f} and {f + 1} look swapped: the motion runs smoother in the other order"))
    return flags


# --- all together ----------------------------------------------------------------------------------------------------


def check_grid(grid: SheetGrid, kinds: Sequence[str] = KINDS) -> List[Flag]:
    """Every flag of ``kinds`` for one sheet, sorted by row, frame and kind."""
    keys = grid.keys()
    flags: List[Flag] = []
    specks = find_specks(grid) if "speck" in kinds else []
    flags += specks
    if "hole" in kinds:
        flags += find_holes(grid, keys)
    if "colour" in kinds:
        exclude = np.zeros(grid.alpha.shape, bool)
        for fl in specks:
            for y, x in fl.pixels:
                exclude[fl.row, fl.frame, y, x] = True
        flags += find_colours(grid, exclude, keys)
    template = character_template(grid) if {"order", "shift"} & set(kinds) else None
    shifts: List[Flag] = []
    if "shift" in kinds or template is not None:
        shifts = find_character_shifts(grid, template) if template is not None else find_shifts(grid, keys)
    order = find_order(grid, keys, template, moved=shifts) if "order" in kinds else []
    flags += order
    if "shift" in kinds:
        # Frames in the wrong order also look displaced: where an order flag stands, it explains the frame (and,
        # judged by the row alone, its neighbours too).
        reach = (0,) if template is not None else (-1, 0, 1)
        near_order = {(fl.row, fl.frame + d) for fl in order for d in reach}
        flags += [fl for fl in shifts if (fl.row, fl.frame) not in near_order]
    flags.sort(key=lambda fl: (fl.row, fl.frame, KINDS.index(fl.kind), fl.layer or ""))
    return flags
