"""One layer against the body it is drawn on: which layer frames sit off the body (``motionmap check --layers``).

A layer (eyes, hair, a shirt) is drawn on the body, so from one frame to the next of an animation it moves with the
body part under it. For each layer frame and each of its reference frames (its neighbours in the row; for a row's
first frame the first frames of the other rows of its facing; the farther frames of the row with the same body pose,
:func:`same_pose_frames`; and the same frame of the row facing the other way, mirrored: LPC draws left and right as
mirror images, :func:`mirror_rows`), exact pixel matching gives two moves within
:data:`REACH` px: the one that puts the body around the layer (the body's pixels within :data:`BODY_WINDOW` px of
it) onto the reference's body, and, relative to that, the one that puts the layer onto the reference's layer. When
both reappear exactly (the layer for at least :data:`LAYER_SHARE` of its pixels, the body for :data:`BODY_SHARE`),
the relative move is what the layer frame needs to sit on the body as it does in the reference: 0 in clean art, the
same 1-3 px for every reference when the layer frame alone was moved. A frame is flagged when its references agree
on one non-zero relative move (:func:`layer_offsets`; a frame of its own row among them, since a mirrored frame alone
sees its partner exactly as the partner sees it, unless the two rows' loose matches tell which of the two moved:
:func:`_mirror_decides`), the references themselves are not the ones out of place,
clean LPC layers do not show that move at that cell (:func:`~motionmap.check.prior.natural_layer_shifts`), another
facing does not show it at that frame, no other frame of the row with the same body pose draws the layer the same
way on it (:func:`same_pose_alike`: an animation that returns to a pose repeats the layer's drawing, so a layer
sitting the same way on the same pose twice is how it is drawn, where a slip in one frame breaks the repetition), and,
for a layer big enough to reach the body's edge, the move puts it back on the body's silhouette better than it would
the row's other frames (:func:`overhang_excess`). A frame that no reference of its own row sees in place (its
neighbouring frames drawn differently: a fall, a spell, a swing) is judged by the body colours its colours lie over
instead (:mod:`motionmap.check.layer_pairs`; :func:`frame_offsets`).

Input: :class:`~motionmap.check.grid.SheetGrid` of the body and of the layer, one layout. Output: ``shift`` flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from motionmap.check.align import MAX_SHIFT, SHIFTS, ZERO, dilate, shift_frames
from motionmap.check.detect import Flag, _offset, _references, _score
from motionmap.check.grid import SheetGrid, pack_keys
from motionmap.check.layer_pairs import PAIR_GAIN, PAIR_GAIN_SHARE, PairTable, pair_offset
from motionmap.check.prior import natural_layer_shifts
from motionmap.layout import SheetLayout

REACH = 2  # reference frames up to this many frames either side in the row
BODY_WINDOW = 2  # the body pixels within this many px of the layer say where the body part under it went
LAYER_SHARE = 0.7  # a reference counts when this share of the layer frame reappears exactly in it...
BODY_SHARE = 0.5  # ...and this share of the body window
LAYER_GAIN = 2  # the relative move must match this many more layer px than none...
BODY_GAIN = 5  # ...and the body's own move this many more body px than the layer's
LOOSE_LAYER_SHARE = 0.3  # a layer that changes shape (sleeves, swinging hair): looser references...
LOOSE_BODY_SHARE = 0.4
LOOSE_GAIN = 0.1  # ...whose relative move gains at least this share of the layer's pixels, all agreeing,
LOOSE_WITNESSES = 3  # and at least this many of them
EDGE_LAYER = 30  # a layer frame of at least this many px reaches the body's edge: moved back, it must hang off
OVERHANG_GAIN = 3  # the body's silhouette by this many px less than the same move does to the row's other frames
LEAN_BODY = 0.2  # an own-row reference whose body reappears this much says which of two mirror frames moved
POSE_SHARE = 0.95  # two frames of a row show the same body pose when this share of the body reappears exactly


@dataclass
class PairMatch:
    """Exact matches of one layer frame against its references (``K`` of them) for each move of ``shift_list()``.

    ``body[k, s]``: body-window px matching reference k with the body moved by ``s`` (its best is the body's own
    move); ``layer[k, s]``: layer px matching with the layer moved by the body's own move + ``s``;
    ``relative_body[k, s]``: body-window px matching with the body moved by the body's own move + ``s``.
    ``layer_px``, ``body_px``: the layer frame's opaque px and the body window's.
    """

    refs: List[Tuple[int, int]]  # cells; a flipped one is mirrored (see ``flipped``)
    layer: np.ndarray  # int [K,S]
    body: np.ndarray  # int [K,S]
    relative_body: np.ndarray  # int [K,S]
    layer_px: int
    body_px: int
    flipped: np.ndarray  # bool [K]: the reference is the other facing's frame, mirrored


Poses = Dict[Tuple[int, int], List[Tuple[int, Tuple[int, int]]]]  # same_pose_frames: {(r, f): [(g, (dy, dx))]}


def mirror_rows(layout: SheetLayout) -> Dict[int, int]:
    """``{row: row}``: the rows of one animation facing left and right (drawn as mirror images of each other)."""
    out = {}
    for i, a in enumerate(layout.rows):
        for j, b in enumerate(layout.rows):
            if a.name == b.name and {a.facing, b.facing} == {"left", "right"}:
                out[i] = j
    return out


def pair_matches(body: SheetGrid, layer: SheetGrid, poses: Optional[Poses] = None,
                 mirror: bool = True) -> Dict[Tuple[int, int], PairMatch]:
    """:class:`PairMatch` of every layer frame drawn on a body frame that has references (with ``poses``, the
    :func:`same_pose_frames` of the body, also the farther frames of its row with the same body pose; with
    ``mirror``, also the same frame of the row facing the other way (left/right), mirrored)."""
    layer_keys, body_keys = layer.keys(), body.keys()
    n_rows = layer_keys.shape[0]
    m = 2 * MAX_SHIFT
    # Rows n_rows.. hold the mirrored frames.
    pad_layer = _padded(np.concatenate([layer_keys, layer_keys[..., ::-1]]))
    pad_body = _padded(np.concatenate([body_keys, body_keys[..., ::-1]]))
    drawn = layer.valid & body.valid
    mirrors = mirror_rows(layer.layout) if mirror else {}
    out = {}
    for r, f in zip(*np.nonzero(drawn)):
        r, f = int(r), int(f)
        refs = [(q, g) for q, g in _references(layer, r, f, reach=REACH) if drawn[q, g]]
        if poses:
            refs += [(r, g) for g, _ in poses.get((r, f), []) if drawn[r, g] and (r, g) not in refs]
        flipped = [False] * len(refs)
        if r in mirrors and drawn[mirrors[r], f]:
            refs.append((mirrors[r], f))
            flipped.append(True)
        if not refs:
            continue
        on = layer_keys[r, f] != 0
        window = dilate(on, BODY_WINDOW) & (body_keys[r, f] != 0)
        ly, lx = np.nonzero(on)
        wy, wx = np.nonzero(window)
        q, g = (np.array(v) for v in zip(*refs))
        q = q + n_rows * np.array(flipped, int)
        dy, dx = SHIFTS[:, :1], SHIFTS[:, 1:]
        seen_body = pad_body[q, g][:, wy[None] + m + dy, wx[None] + m + dx]  # [K,S,n]
        body_match = (seen_body == body_keys[r, f][wy, wx]).sum(-1)
        # The body's own move; among equals the one the layer agrees with most (no relative move when undecided).
        layer_abs = (pad_layer[q, g][:, ly[None] + m + dy, lx[None] + m + dx] == layer_keys[r, f][ly, lx]).sum(-1)
        own = np.argmax(body_match * 1024 + layer_abs, axis=1)  # [K]
        base = SHIFTS[own]  # [K,2]
        ty, tx = base[:, None, :1] + dy[None], base[:, None, 1:] + dx[None]  # [K,S,1]
        k = np.arange(len(refs))[:, None, None]
        layer_rel = (pad_layer[q, g][k, ly[None, None] + m + ty, lx[None, None] + m + tx]
                     == layer_keys[r, f][ly, lx]).sum(-1)
        body_rel = (pad_body[q, g][k, wy[None, None] + m + ty, wx[None, None] + m + tx]
                    == body_keys[r, f][wy, wx]).sum(-1)
        out[(r, f)] = PairMatch(refs, layer_rel, body_match, body_rel, len(ly), len(wy), np.array(flipped))
    return out


def _votes(pm: PairMatch) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per reference: ``(move int [K,2], sure bool [K], loose bool [K], gain int [K])``: the relative move that
    matches the most layer px (none when it gains nothing), whether the reference is a sure or a loose witness of
    it, and the layer px the move gains."""
    k = np.arange(len(pm.refs))
    best = np.argmax(pm.layer * 2 + (np.arange(pm.layer.shape[1]) == ZERO), axis=1)  # ties: no move
    gain = pm.layer[k, best] - pm.layer[k, ZERO]
    body_gain = pm.relative_body[k, ZERO] - pm.relative_body[k, best]
    layer_share = pm.layer[k, best] / max(pm.layer_px, 1)
    body_share = pm.relative_body[k, ZERO] / max(pm.body_px, 1)
    moved = best != ZERO
    strong = ~moved | ((gain >= LAYER_GAIN) & (body_gain >= BODY_GAIN))
    sure = (layer_share >= LAYER_SHARE) & (body_share >= BODY_SHARE) & strong
    loose = ((layer_share >= LOOSE_LAYER_SHARE) & (body_share >= LOOSE_BODY_SHARE) & strong
             & (~moved | (gain >= LOOSE_GAIN * pm.layer_px)))
    return SHIFTS[best], sure, loose, gain


def layer_offsets(matches: Dict[Tuple[int, int], PairMatch],
                  natural: Callable[[Tuple[int, int], Tuple[int, int]], bool] = lambda cell, move: False,
                  known: Optional[Dict[Tuple[int, int], Tuple[Tuple[int, int], int, int]]] = None,
                  ) -> Dict[Tuple[int, int], Tuple[Tuple[int, int], int, int]]:
    """Layer frames whose references agree on a non-zero relative move: ``{cell: ((dy, dx), support, gain)}``.

    A frame's references vote for the move that puts the frame's layer back on the body (sure witnesses; or, when
    no sure witness says otherwise, loose ones that all agree). A reference that is itself out of place votes with
    its own offset taken into account (``move(a) = move(a -> b) + move(b)``), so a frame next to a moved one is not
    flagged for it; a cell needs more support than the references that see it in place. ``natural(cell, move)``:
    offsets that are the art's own (not returned; the frames around them still take them into account).
    ``known``: offsets found otherwise (:func:`frame_offsets`); references among them always vote with their offset.
    """
    known = known or {}
    votes = {cell: _votes(pm) for cell, pm in matches.items()}

    def decide(offsets):
        found = {}
        for cell, (moves, sure, loose, gain) in votes.items():
            refs = matches[cell].refs
            mine = offsets.get(cell, ((0, 0), 0, 0))[1:]
            # A mirrored reference's own offset is mirrored too.
            fix = np.array([(offsets[ref][0][0], -offsets[ref][0][1] if flip else offsets[ref][0][1])
                            if ref in offsets and (ref in known or offsets[ref][1:] > mine) else (0, 0)
                            for ref, flip in zip(refs, matches[cell].flipped)]).reshape(-1, 2)
            total = moves + fix
            nonzero = total.any(axis=1)
            for witnesses, need in ((sure, 1), (loose, LOOSE_WITNESSES)):
                if not (witnesses & nonzero).any():
                    continue
                values, counts = np.unique(total[witnesses & nonzero], axis=0, return_counts=True)
                best = values[counts.argmax()]
                support = int(counts.max())
                # Loose witnesses count only when they all agree and no sure witness sees the frame in place.
                if witnesses is loose and (support < int(witnesses.sum()) or (sure & ~nonzero).any()):
                    continue
                agree = witnesses & (total == best).all(axis=1)
                # The other facing's mirrored frame sees this frame as this frame sees it: alone, it cannot tell
                # which of the two moved, so a frame of the same row must agree.
                own_row = (agree & ~matches[cell].flipped).any()
                if support >= need and support > int((witnesses & ~nonzero).sum()) and own_row:
                    found[cell] = ((int(best[0]), int(best[1])), support, int(gain[agree].max()))
                    break
            if cell not in found and not ((sure | loose) & ~matches[cell].flipped & ~nonzero).any():
                decided = _mirror_decides(matches, votes, cell, total)
                if decided is not None:
                    found[cell] = decided
        return found

    first = decide(known)
    # Second pass: references found out of place (with more support than the frame itself) vote with their offset;
    # keep what still stands.
    second = decide({**first, **known})
    return {c: v for c, v in second.items() if c in first and first[c][0] == v[0] and not natural(c, v[0])}


def _lean(pm: PairMatch, move: Tuple[int, int]) -> Tuple[float, int]:
    """How much the frames of its own row prefer ``move`` for this layer frame, however loosely they match:
    ``(lean, against)``: among the own-row references whose body reappears for :data:`LEAN_BODY` of the body
    window, the most layer px the move gains over in place, as a share of the layer's px (-1 when none), and how
    many of them see at least :data:`LOOSE_LAYER_SHARE` of the layer in place and gain nothing with the move."""
    s = int(np.flatnonzero((SHIFTS == np.asarray(move)).all(axis=1))[0])
    usable = ~pm.flipped & (pm.relative_body[:, ZERO] >= LEAN_BODY * pm.body_px)
    gain = pm.layer[:, s] - pm.layer[:, ZERO]
    against = usable & (gain <= 0) & (pm.layer[:, ZERO] >= LOOSE_LAYER_SHARE * pm.layer_px)
    lean = float(gain[usable].max()) / max(pm.layer_px, 1) if usable.any() else -1.0
    return lean, int(against.sum())


def _mirror_decides(matches: Dict[Tuple[int, int], PairMatch], votes: Dict, cell: Tuple[int, int],
                    total: np.ndarray) -> Optional[Tuple[Tuple[int, int], int, int]]:
    """The offset of a layer frame that no frame of its own row sees in place and whose mirrored partner (the same
    frame of the other facing, a sure witness) sees it off by a move ``m``, when the two rows tell which of the two
    moved (None otherwise): the frame's own row leans to ``m`` (:func:`_lean`, with none against) more than the
    partner's row leans to the partner's move, and no other frame of the row sits off its partner by ``m`` (a
    facing drawn so throughout). ``total``: the frame's votes (``int [K,2]``, references' offsets included)."""
    pm = matches[cell]
    moves, sure, _, gain = votes[cell]
    k = np.flatnonzero(sure & pm.flipped & total.any(axis=1))
    if not len(k):
        return None
    k = int(k[0])
    move = (int(moves[k, 0]), int(moves[k, 1]))
    lean, against = _lean(pm, move)
    partner = pm.refs[k]
    if against or lean < 0 or partner not in matches:
        return None
    p_moves, p_sure, _, _ = votes[partner]
    seen = [i for i in np.flatnonzero(p_sure & matches[partner].flipped & p_moves.any(axis=1))
            if matches[partner].refs[i] == cell]
    partner_lean = _lean(matches[partner], tuple(int(v) for v in p_moves[seen[0]]))[0] if seen else -1.0
    if lean <= partner_lean:
        return None
    for other, (o_moves, o_sure, _, _) in votes.items():
        if other[0] == cell[0] and other != cell and (
                o_sure & matches[other].flipped & (o_moves == move).all(axis=1)).any():
            return None
    return (int(total[k, 0]), int(total[k, 1])), 1, int(gain[k])


def _mirrored(layer: SheetGrid, offsets: Dict, r: int, f: int, move: Tuple[int, int]) -> bool:
    """True when another facing of the animation has the same layer offset at frame ``f`` (same ``dy``, ``dx`` up to
    left/right mirroring): the way the layer was drawn for that pose, not a slip in one frame."""
    group = next((g for g in layer.facing_groups() if r in g), [r])
    return any(q != r and (q, f) in offsets and offsets[(q, f)][0][0] == move[0]
               and abs(offsets[(q, f)][0][1]) == abs(move[1]) for q in group)


def _padded(keys: np.ndarray) -> np.ndarray:
    """Key frames ``[...,h,w]`` with ``2 * MAX_SHIFT`` transparent px around each: every move of a frame against
    another (up to ``MAX_SHIFT`` each) stays inside."""
    m = 2 * MAX_SHIFT
    return np.pad(keys, [(0, 0)] * (keys.ndim - 2) + [(m, m), (m, m)])


def _match_counts(frame: np.ndarray, padded_ref: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """``int [S]``: opaque px of ``frame`` (``uint32 [h,w]`` keys) equal to the reference frame's px ``moves``
    (``int [S,2]``, up to ``2 * MAX_SHIFT``) away; ``padded_ref``: that frame through :func:`_padded`."""
    m = 2 * MAX_SHIFT
    ys, xs = np.nonzero(frame)
    return (padded_ref[ys[None] + m + moves[:, :1], xs[None] + m + moves[:, 1:]] == frame[ys, xs]).sum(-1)


def same_pose_frames(body: SheetGrid) -> Poses:
    """``{(r, f): [(g, (dy, dx)), ...]}``: the other frames ``g`` of row ``r`` that show the body pose of frame ``f``
    (:data:`POSE_SHARE` of the whole body frame reappears exactly in ``g``, moved by ``(dy, dx)``, up to
    :data:`MAX_SHIFT` px): where an animation returns to a pose (a thrust's hold, a shoot's aim)."""
    keys = body.keys()
    padded = _padded(keys)
    px = (keys != 0).reshape(*keys.shape[:2], -1).sum(-1)
    out: Poses = {}
    for r, f in zip(*np.nonzero(body.valid)):
        r, f = int(r), int(f)
        for g in np.flatnonzero(body.valid[r]):
            # Same pose, about the same number of px: skip the frames that cannot be one before matching.
            if g == f or min(px[r, f], px[r, g]) < POSE_SHARE * max(px[r, f], px[r, g]):
                continue
            pose = _match_counts(keys[r, f], padded[r, g], SHIFTS)
            if pose.max() >= POSE_SHARE * px[r, f]:
                out.setdefault((r, f), []).append((int(g), tuple(int(v) for v in SHIFTS[int(pose.argmax())])))
    return out


def same_pose_alike(poses: Poses, layer: SheetGrid, r: int, f: int, move: Tuple[int, int]) -> List[int]:
    """The frames ``g`` of :func:`same_pose_frames` ``poses[(r, f)]`` on which the layer sits as in frame ``(r, f)``:
    with the body's move, at least :data:`LAYER_SHARE` of the layer frame reappears in place, more than with
    ``move`` (the move that would put it back on the body as its neighbours have it).

    An animation that returns to a pose repeats the layer drawn on it, so a layer frame off the body by ``move``
    that sits the same way on the same pose elsewhere in the row is the way the layer is drawn for that pose; a layer
    moved in one frame by mistake breaks the repetition. (A slip copied into another frame of the same pose repeats
    too and is let through.)"""
    lkeys = pack_keys(layer.cells[r])
    layer_px = int((lkeys[f] != 0).sum())
    alike = []
    for g, own in poses.get((r, f), []):
        if not layer.valid[r, g]:
            continue
        own = np.array(own)
        in_place, moved = _match_counts(lkeys[f], _padded(lkeys[g]), np.array([own, own + np.array(move)]))
        if in_place >= LAYER_SHARE * layer_px and in_place > moved:
            alike.append(g)
    return alike


def overhang_excess(body: SheetGrid, layer: SheetGrid, r: int, f: int, move: Tuple[int, int]) -> float:
    """How many more layer px hang off the body's silhouette in frame ``(r, f)`` with the layer moved by ``move``
    than as drawn, minus the same for the row's other frames (their median). Negative: the move puts the frame's
    layer back on the body better than it would the others (a layer sits on the body; hair and sleeves hang off
    it by their own shape, about as much in every frame)."""
    def change(g: int) -> int:
        a, b = layer.alpha[r, g], body.alpha[r, g]
        return int((shift_frames(a, *move) & ~b).sum()) - int((a & ~b).sum())

    others = [change(g) for g in np.flatnonzero(layer.valid[r] & body.valid[r]) if g != f]
    return change(f) - (float(np.median(others)) if others else 0.0)


def frame_offsets(body: SheetGrid, layer: SheetGrid, poses: Optional[Poses] = None,
                  natural: Callable[[Tuple[int, int], Tuple[int, int]], bool] = lambda cell, move: False,
                  ) -> Dict[Tuple[int, int], Tuple[Tuple[int, int], int, int]]:
    """Layer frames that sit off the body: :func:`layer_offsets` of the exact matches, and for the frames no
    reference of their own row sees in place, :func:`~motionmap.check.layer_pairs.pair_offset` (support 0).
    ``{cell: ((dy, dx), support, gain)}``, less the ``natural`` offsets."""
    matches = pair_matches(body, layer, poses)
    offsets = layer_offsets(matches)
    table, by_pairs = None, {}
    for cell, pm in matches.items():
        if cell in offsets:
            continue
        moves, sure, loose, _ = _votes(pm)
        if ((sure | loose) & ~pm.flipped & ~moves.any(axis=1)).any():
            continue
        if table is None:
            table = PairTable(body.keys(), layer.keys(), layer.valid & body.valid)
        found = pair_offset(table, *cell, prefer=pm.layer[~pm.flipped].sum(axis=0))
        if found is not None:
            by_pairs[cell] = (found[0], 0, found[1])
    if by_pairs:  # the frames next to one found so see it with its offset taken into account
        offsets = {**layer_offsets(matches, known=by_pairs), **by_pairs}
    return {cell: v for cell, v in offsets.items() if not natural(cell, v[0])}


def layer_shifts(body: SheetGrid, layer: SheetGrid, name: str, poses: Optional[Poses] = None) -> List[Flag]:
    """``shift`` flags of one layer against the body it is drawn on (see the module docstring). ``poses``:
    :func:`same_pose_frames` of ``body`` (computed when not given; pass it when checking many layers on one body)."""
    poses = same_pose_frames(body) if poses is None else poses
    flags = []
    # Offsets clean LPC layers show at a cell are the art's own.
    offsets = frame_offsets(body, layer, poses, lambda cell, move: move in natural_layer_shifts(layer, *cell))
    for (r, f), ((dy, dx), support, gain) in sorted(offsets.items()):
        if _mirrored(layer, offsets, r, f, (dy, dx)):  # every facing does it: the art's own
            continue
        if same_pose_alike(poses, layer, r, f, (dy, dx)):  # drawn so on this pose wherever the row repeats it
            continue
        excess = overhang_excess(body, layer, r, f, (dy, dx))
        if excess > 0 or (layer.alpha[r, f].sum() >= EDGE_LAYER and excess > -OVERHANG_GAIN):
            continue  # moved back, it would not sit on the body any better than the other frames would
        if support:
            score, why = _score(support, 1.0), (f"moved back it sits on the body as in {support} other "
                                                f"frame{'s' if support > 1 else ''} of the animation ({gain} px more "
                                                "match)")
        else:
            score = _score(gain, max(PAIR_GAIN, PAIR_GAIN_SHARE * layer.alpha[r, f].sum()))
            why = f"moved back, its colours lie over the body colours they lie over in the rest of the sheet ({gain} px)"
        flags.append(Flag(r, f, "shift", score, f"layer {name} sits {_offset(-dy, -dx)} off the body: {why}",
                          layer=name, move=(dy, dx)))
    return flags
