"""Drawing a posed character as a 64x64 RGBA sprite, and whole animations and sheets.

A frame is a stack of *pieces* (a leg, an arm, the torso, the head with its hair and hat, a weapon), each a few
shapes from :mod:`motionmap.synth.raster` in the character's colours. Pieces are drawn back to front by depth for
the facing; each gets a 1-px dark outline around its own silhouette, painted before its fill, so a piece in front
of another is separated from it by a dark line, as in hand-drawn LPC sprites. Fills are shaded in three tones (light
upper-left, base, dark lower-right); limbs on the far side of a profile view are drawn darker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.sheets import assemble_sheet
from motionmap.layout import FACINGS
from motionmap.synth.actions import SYNTH_LAYOUT, WEAPON_ACTIONS, action_names, action_poses
from motionmap.synth.character import RGB, CharacterSpec
from motionmap.synth.raster import Capsule, Ellipse, Polygon, Trapezoid, dilate4, union_bounds, window
from motionmap.synth.skeleton import SIDES, Pose, Projected, pose_frame

FRAME = 64
# Light from the upper left and in front (unit vector). Shapes are shaded as if round: a pixel's normal is
# (nx, ny, sqrt(1 - nx^2 - ny^2)), and normal . light above HI is the light tone, below LO the dark tone.
LIGHT = (-0.48, -0.56, 0.675)
HI, LO = 0.79, 0.35
FAR_SHADE = 0.74  # far-side limbs in profile views are this much darker

STEEL: RGB = (186, 196, 212)
WOOD: RGB = (132, 88, 50)
GOLD: RGB = (226, 186, 70)
HELMET: RGB = (150, 156, 172)


def _ramp(rgb: Sequence[int]) -> np.ndarray:
    """Three tones of one colour: uint8 ``[3, 3]`` rows dark, base, light."""
    c = np.asarray(rgb, dtype=np.float32)
    dark = c * 0.68
    light = c + (255.0 - c) * 0.32
    return np.clip(np.round(np.stack([dark, c, light])), 0, 255).astype(np.uint8)


# Frames are drawn as small integer colour codes and turned into RGB once at the end through the palette's lookup
# table: code 0 is transparent, then the fixed codes below, then 3 tones x (near, far) per named colour.
CLEAR, OUTLINE, WHITE, IRIS = 0, 1, 2, 3
RAMP_NAMES: Tuple[str, ...] = ("skin", "hair", "shirt", "trousers", "shoes", "hat", "steel", "wood", "gold", "helmet")
_FIRST_RAMP = 4


def ramp_code(name: str, tone: int = 1, far: bool = False) -> int:
    """Colour code of ``tone`` (0 dark, 1 base, 2 light) of the named colour, near or far version."""
    return _FIRST_RAMP + 6 * RAMP_NAMES.index(name) + 3 * int(far) + tone


@dataclass(frozen=True)
class Palette:
    """The lookup table from colour codes to RGB for one character: uint8 ``[K, 3]``."""

    lut: np.ndarray

    @staticmethod
    def of(spec: CharacterSpec) -> "Palette":
        base = {
            "skin": spec.skin, "hair": spec.hair, "shirt": spec.shirt, "trousers": spec.trousers,
            "shoes": spec.shoes, "hat": spec.hat_colour, "steel": STEEL, "wood": WOOD, "gold": GOLD,
            "helmet": HELMET,
        }
        rows = [np.zeros(3, np.uint8), np.asarray(spec.outline, np.uint8), np.full(3, 255, np.uint8),
                np.asarray(spec.eyes, np.uint8)]
        for name in RAMP_NAMES:
            near = _ramp(base[name])
            far = np.round(near.astype(np.float32) * FAR_SHADE).astype(np.uint8)
            rows += list(near) + list(far)
        return Palette(np.stack(rows))

    def colours(self) -> np.ndarray:
        """Every colour a frame of this character can contain: uint8 ``[K, 3]``, unique rows."""
        return np.unique(self.lut[1:], axis=0)


def character_palette(spec: CharacterSpec) -> np.ndarray:
    """All colours :func:`render_animation` may use for ``spec``: uint8 ``[K, 3]``."""
    return Palette.of(spec).colours()


@dataclass
class Piece:
    """Shapes drawn together under one outline. ``shapes``: (shape, colour name); ``details``: pixels painted last
    without outline or shading, as (x, y, colour code), only where the piece itself is drawn."""

    depth: float
    shapes: List[Tuple[object, str]]
    far: bool = False
    details: List[Tuple[int, int, int]] = field(default_factory=list)


def _pt(v: np.ndarray) -> Tuple[float, float]:
    return (float(v[0]), float(v[1]))


def _draw(canvas: np.ndarray, piece: Piece) -> None:
    """Paint ``piece`` onto ``canvas`` (uint8 colour codes ``[64, 64]``): its outline ring, its shaded fill, then
    its details."""
    shapes = [s for s, _ in piece.shapes]
    bounds = union_bounds(shapes, canvas.shape, margin=1)
    if bounds is None:
        return
    x0, y0, x1, y1 = bounds
    X, Y = window(x0, y0, x1, y1)
    union = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    fill = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    for shape, name in piece.shapes:
        mask, nx, ny = shape.raster(X, Y)
        nz = np.sqrt(np.maximum(1.0 - nx * nx - ny * ny, 0.0))
        dot = nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2]
        tone = (dot > HI).astype(np.uint8) - (dot < LO).astype(np.uint8) + np.uint8(ramp_code(name, 1, piece.far))
        np.copyto(fill, tone, where=mask)
        union |= mask
    ring = dilate4(union) & ~union
    sub = canvas[y0:y1, x0:x1]
    sub[ring] = OUTLINE
    np.copyto(sub, fill, where=union)
    for x, y, code in piece.details:
        if x0 <= x < x1 and y0 <= y < y1 and union[y - y0, x - x0]:
            sub[y - y0, x - x0] = code


# ---------------------------------------------------------------------------------------------------------------
# Pieces of the body


def _limb_depth(P: Projected, names: Sequence[str]) -> float:
    return float(np.mean([P.depth[n] for n in names]))


def _legs(spec: CharacterSpec, P: Projected) -> List[Piece]:
    out = []
    r = spec.leg_w / 2.0
    thigh = "skin" if spec.bottom == "skirt" else "trousers"
    shin = "trousers" if spec.bottom == "trousers" else "skin"
    for s in SIDES:
        hip, knee, ankle, toe = (P.xy[f"{j}_{s}"] for j in ("hip", "knee", "ankle", "toe"))
        shapes: List[Tuple[object, str]] = [
            (Capsule(_pt(hip), _pt(knee), r), thigh),
            (Capsule(_pt(knee), _pt(ankle), r - 0.25), shin),
        ]
        if spec.bottom == "shorts":  # shorts end just above the knee
            shapes.append((Capsule(_pt(hip), _pt(hip + 0.6 * (knee - hip)), r + 0.3), "trousers"))
        if P.side_sign == 0:  # front/back: the shoe is a flat oval under the shin
            shapes.append((Ellipse((float(ankle[0]), float(ankle[1]) + 0.6), r + 0.6, r - 0.4), "shoes"))
        else:
            heel = ankle + 0.25 * (ankle - toe)
            shapes.append((Capsule(_pt(heel), _pt(toe), r - 0.35), "shoes"))
        depth = _limb_depth(P, (f"hip_{s}", f"knee_{s}", f"ankle_{s}")) - 5.0
        out.append(Piece(depth, shapes, far=P.side_sign != 0 and P.depth[f"hip_{s}"] < 0))
    return out


def _torso(spec: CharacterSpec, P: Projected) -> List[Piece]:
    pelvis, chest, neck_top = P.xy["pelvis"], P.xy["chest"], P.xy["neck_top"]
    if P.side_sign == 0:
        wa, wb = spec.hip_w / 2.0, spec.shoulder_w / 2.0
    else:
        wa, wb = max(3.5, spec.hip_w * 0.5), max(4.0, spec.shoulder_w * 0.4)
    neck_r = max(1.5, spec.head_w * 0.14)
    shapes: List[Tuple[object, str]] = [
        (Capsule(_pt(chest), _pt(neck_top + (neck_top - chest) * 0.5), neck_r), "skin"),
        (Trapezoid(_pt(pelvis), _pt(chest), wa, wb, bevel=2.0, extend=2.0), "shirt"),
    ]
    axis = (chest - pelvis) / max(float(np.linalg.norm(chest - pelvis)), 1e-6)
    details: List[Tuple[int, int, int]] = []
    if spec.belt:
        top = pelvis + 1.6 * axis
        shapes.append((Trapezoid(_pt(pelvis), _pt(top), wa + 0.1, wa + 0.1 + (wb - wa) * 1.6 / spec.torso), "shoes"))
        if P.facing == "down":
            bx, by = int(np.floor(pelvis[0])), int(np.floor(pelvis[1] - 0.2))
            details += [(bx - 1, by, ramp_code("gold", 2)), (bx, by, ramp_code("gold", 1))]
    pieces = [Piece(0.0, shapes, details=details)]
    if spec.bottom == "skirt":
        hem = pelvis - axis * (spec.upper_leg * 0.9)
        side_w = 3.0
        pieces.append(Piece(-0.3, [(Trapezoid(_pt(hem), _pt(pelvis - axis), wa + side_w, wa + 0.3), "trousers")]))
    return pieces


def _arms(spec: CharacterSpec, P: Projected) -> List[Piece]:
    out = []
    r = spec.arm_w / 2.0
    for s in SIDES:
        sh, el, ha = P.xy[f"shoulder_{s}"], P.xy[f"elbow_{s}"], P.xy[f"hand_{s}"]
        if spec.sleeves == "long":
            shapes: List[Tuple[object, str]] = [
                (Capsule(_pt(sh), _pt(el), r), "shirt"),
                (Capsule(_pt(el), _pt(ha), r - 0.25), "shirt"),
            ]
        else:
            shapes = [
                (Capsule(_pt(sh), _pt(el), r - 0.2), "skin"),
                (Capsule(_pt(el), _pt(ha), r - 0.3), "skin"),
                (Capsule(_pt(sh), _pt(sh + 0.45 * (el - sh)), r + 0.35), "shirt"),
            ]
        shapes.append((Ellipse(_pt(ha), r + 0.15, r + 0.15), "skin"))
        depth = _limb_depth(P, (f"shoulder_{s}", f"elbow_{s}", f"hand_{s}")) + 0.5
        out.append(Piece(depth, shapes, far=P.side_sign != 0 and P.depth[f"shoulder_{s}"] < 0))
    return out


def _weapon(spec: CharacterSpec, P: Projected, arm_depth: float) -> List[Piece]:
    if spec.weapon == "none":
        return []
    hand, tip = P.xy["hand_r"], P.xy["weapon_tip"]
    d = tip - hand
    n = float(np.linalg.norm(d))
    u = d / n if n > 1e-6 else np.array([0.0, -1.0])
    perp = np.array([-u[1], u[0]])
    shapes: List[Tuple[object, str]] = []
    if spec.weapon == "sword":
        guard = hand + 1.8 * u
        shapes += [
            (Capsule(_pt(hand - 2.0 * u), _pt(guard), 0.7), "wood"),
            (Capsule(_pt(guard + 0.5 * u), _pt(tip), 0.9), "steel"),
            (Capsule(_pt(guard - 1.8 * perp), _pt(guard + 1.8 * perp), 0.7), "gold"),
        ]
    elif spec.weapon == "stick":
        shapes.append((Capsule(_pt(hand - 3.0 * u), _pt(tip - 1.0 * u), 0.9), "wood"))
    else:  # axe: a handle with a blade near its end, on the leading side
        shapes.append((Capsule(_pt(hand - 2.0 * u), _pt(tip - 1.5 * u), 0.8), "wood"))
        head = tip - 2.5 * u
        lead = -perp if P.side_sign >= 0 else perp
        shapes.append((Polygon((_pt(head + 1.8 * u), _pt(head - 2.2 * u),
                                _pt(head - 3.0 * u + 4.2 * lead), _pt(head + 2.6 * u + 4.2 * lead))), "steel"))
    return [Piece(arm_depth - 0.01, shapes)]


def _head(spec: CharacterSpec, P: Projected) -> List[Piece]:
    """The head with hair, hat and eyes in one piece; long hair seen from the front is a separate piece behind."""
    hx, hy = (float(v) for v in P.xy["head"])
    rx, ry = spec.head_w / 2.0, spec.head_h / 2.0
    sgn = P.side_sign
    if sgn != 0:
        rx *= 0.95
    shapes: List[Tuple[object, str]] = [(Ellipse((hx, hy), rx, ry), "skin")]
    pieces: List[Piece] = []
    style = spec.hair_style
    hair_rx, hair_ry, hair_c = rx + 0.8, ry + 0.8, (hx, hy - 0.4)

    clip: Callable[[np.ndarray, np.ndarray], np.ndarray]
    if style != "bald":
        fringe = hy - (0.05 if style in ("long", "spiky") else 0.2) * ry
        if P.facing == "down":
            side = {"short": 0.15, "long": 1.0, "spiky": -0.1, "ponytail": 0.05}[style]

            def clip(X, Y, fringe=fringe, side=side):
                bangs = fringe + ((np.floor(X) % 3) == 1) * 1.0 if style in ("short", "spiky") else fringe
                return (Y < bangs) | ((np.abs(X - hx) > 0.62 * rx) & (Y < hy + side * ry))
        elif P.facing == "up":
            low = hy + (1.3 if style == "long" else 0.55) * ry

            def clip(X, Y, low=low):
                return Y < low
        else:
            back = {"short": 0.45, "long": 1.2, "spiky": 0.35, "ponytail": 0.45}[style]

            def clip(X, Y, back=back, fringe=fringe):
                return (Y < fringe - 0.1 * ry) | (((X - hx) * sgn < 0.15 * rx) & (Y < hy + back * ry))
        shapes.append((Ellipse(hair_c, hair_rx, hair_ry, clip), "hair"))
        if style == "spiky" and spec.hat == "none":
            n_spikes = 5 if sgn == 0 else 4
            for k in range(n_spikes):
                t = (k + 0.5) / n_spikes * 2 - 1  # -1..1 across the head
                if sgn != 0:
                    t = t * 0.9 - 0.15 * sgn  # spikes sweep backwards in profile
                bx = hx + t * rx * 0.85
                by = hy - ry * np.sqrt(max(0.0, 1 - t * t)) + 1.5
                lean = (t * 2.5) if sgn == 0 else -2.5 * sgn
                shapes.append((Polygon(((bx - 2.0, by), (bx + 2.0, by), (bx + lean, by - 4.5))), "hair"))
        if style == "long":
            top, bottom = hy - 0.2 * ry, hy + ry + spec.neck + 1.0
            if P.facing == "down":
                pieces.append(Piece(-20.0, [(Trapezoid((hx, bottom), (hx, top), rx + 0.3, rx + 0.8), "hair")]))
            elif P.facing == "up":
                shapes.append((Trapezoid((hx, bottom), (hx, top), rx + 0.3, rx + 0.8), "hair"))
            else:
                bx = hx - sgn * 0.45 * rx
                shapes.append((Trapezoid((bx, bottom), (bx, top), 0.5 * rx + 0.6, 0.55 * rx), "hair"))
        if style == "ponytail":
            if P.facing == "up":
                shapes.append((Capsule((hx, hy), (hx, hy + ry + 4.0), 1.6), "hair"))
            elif sgn != 0:
                root = (hx - sgn * (rx + 0.5), hy - 0.2 * ry)
                shapes.append((Capsule(root, (root[0] - sgn * 2.0, root[1] + ry + 2.0), 1.5), "hair"))
                shapes.append((Ellipse((root[0] + sgn * 0.5, root[1]), 1.3, 1.3), "hat"))  # hair tie

    # Hats.
    if spec.hat == "cap":
        brim_y = hy - 0.3 * ry

        def cap_clip(X, Y, brim_y=brim_y):
            return Y < brim_y

        shapes.append((Ellipse((hx, hy - 0.5), rx + 1.0, ry + 1.0, cap_clip), "hat"))
        if sgn == 0:
            shapes.append((Capsule((hx - rx - 0.5, brim_y), (hx + rx + 0.5, brim_y), 0.8), "hat"))
        else:
            shapes.append((Capsule((hx, brim_y), (hx + sgn * (rx + 3.0), brim_y + 0.5), 0.8), "hat"))
    elif spec.hat == "wizard":
        base_y = hy - 0.45 * ry
        tip = (hx - 2.5 * sgn if sgn else hx + 1.5, base_y - ry - 5.0)
        shapes.append((Polygon(((hx - rx + 0.5, base_y), (hx + rx - 0.5, base_y), tip)), "hat"))
        shapes.append((Ellipse((hx, base_y), rx + 2.5, 1.6), "hat"))
    elif spec.hat == "helmet":
        face_top = hy - 0.2 * ry

        def helmet_clip(X, Y, face_top=face_top):
            if P.facing == "up":
                return Y < hy + 0.5 * ry
            if sgn == 0:
                return (Y < face_top) | ((np.abs(X - hx) > 0.55 * rx) & (Y < hy + 0.4 * ry))
            return (Y < face_top) | (((X - hx) * sgn < 0.0) & (Y < hy + 0.5 * ry))

        shapes.append((Ellipse((hx, hy - 0.3), rx + 1.0, ry + 1.0, helmet_clip), "helmet"))

    # Eyes: 2x2 px each, a dark lid over white and iris (the iris towards the nose, or the front in profile).
    details: List[Tuple[int, int, int]] = []
    eye_y = int(np.floor(hy + 0.15 * ry))
    white, iris, lid = WHITE, IRIS, OUTLINE
    cx = int(np.floor(hx + 0.5))  # column right of the head's centre line
    if P.facing == "down":
        gap = 2 if spec.head_w >= 16 else 1
        for x_out, x_in in ((cx - gap - 2, cx - gap - 1), (cx + gap + 1, cx + gap)):
            details += [(x_out, eye_y - 1, lid), (x_in, eye_y - 1, lid), (x_out, eye_y, white), (x_in, eye_y, iris)]
    elif sgn != 0:
        x_front = int(np.floor(hx + sgn * 0.62 * rx))
        x_back = x_front - sgn
        details += [(x_front, eye_y - 1, lid), (x_back, eye_y - 1, lid), (x_back, eye_y, white), (x_front, eye_y, iris)]
    pieces.append(Piece(1.0, shapes, details=details))
    return pieces


def frame_pieces(spec: CharacterSpec, pose: Pose, facing: str, weapon: bool) -> List[Piece]:
    """All pieces of one frame, unsorted."""
    P = pose_frame(spec, pose, facing)
    pieces = _legs(spec, P) + _torso(spec, P) + _head(spec, P)
    arms = _arms(spec, P)
    pieces += arms
    if weapon:
        pieces += _weapon(spec, P, arms[0].depth)
    return pieces


def render_codes(spec: CharacterSpec, pose: Pose, facing: str, weapon: bool = False) -> np.ndarray:
    """One frame as colour codes (uint8 ``[64, 64]``, 0 transparent); ``Palette.of(spec).lut[codes]`` is RGB."""
    canvas = np.zeros((FRAME, FRAME), dtype=np.uint8)
    pieces = frame_pieces(spec, pose, facing, weapon)
    for i in sorted(range(len(pieces)), key=lambda i: (pieces[i].depth, i)):
        _draw(canvas, pieces[i])
    return canvas


def _to_rgba(codes: np.ndarray, pal: Palette) -> np.ndarray:
    """Colour codes uint8 ``[..., H, W]`` to RGBA uint8 ``[..., H, W, 4]`` (alpha 255 where the code is not 0)."""
    out = np.empty(codes.shape + (4,), dtype=np.uint8)
    out[..., :3] = pal.lut[codes]
    out[..., 3] = np.where(codes > 0, 255, 0)
    return out


def render_pose(spec: CharacterSpec, pose: Pose, facing: str, weapon: bool = False) -> np.ndarray:
    """One frame: ``spec`` in ``pose`` seen from ``facing``; uint8 ``[64, 64, 4]``, alpha 0 or 255."""
    _check_facing(facing)
    return _to_rgba(render_codes(spec, pose, facing, weapon), Palette.of(spec))


def _check_facing(facing: str) -> None:
    if facing not in FACINGS:
        raise MotionmapError(f"unknown facing {facing!r}; choose one of: {', '.join(FACINGS)}")


def render_animation(spec: CharacterSpec, action: str, facing: str) -> np.ndarray:
    """``spec`` performing ``action`` seen from ``facing``: uint8 ``[T, 64, 64, 4]``, transparent background
    (alpha 0 or 255), T from :data:`SYNTH_ACTIONS`. ``action`` in ``walk, run, jump, cast, attack``;
    ``facing`` in ``up, left, down, right``."""
    _check_facing(facing)
    poses = action_poses(action)
    weapon = action in WEAPON_ACTIONS
    codes = np.stack([render_codes(spec, p, facing, weapon) for p in poses])
    return _to_rgba(codes, Palette.of(spec))


def render_sheet(spec: CharacterSpec) -> np.ndarray:
    """Every action in every facing laid out per :data:`SYNTH_LAYOUT`: uint8 ``[1280, 512, 4]``, unused cells
    transparent. :func:`motionmap.io.sheets.slice_sheet` with ``SYNTH_LAYOUT`` gives the animations back."""
    rows = [render_animation(spec, r.name, r.facing) for r in SYNTH_LAYOUT.rows]
    return assemble_sheet(rows, SYNTH_LAYOUT)


__all__ = ["render_pose", "render_animation", "render_sheet", "character_palette", "action_names"]
