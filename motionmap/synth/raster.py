"""Hard-edged rasterisation of the few shapes sprites are built from, with numpy (no antialiasing).

Every shape is evaluated at pixel centres ``(x + 0.5, y + 0.5)`` of a small window and returns its coverage mask and
a rough surface normal (``nx, ny`` in about [-1, 1]), which the renderer turns into a three-tone light/base/dark
shading band lit from the upper left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

Window = Tuple[np.ndarray, np.ndarray]  # X float32 [1, w], Y float32 [h, 1] pixel centres (broadcast to [h, w])
Raster = Tuple[np.ndarray, np.ndarray, np.ndarray]  # mask bool [h, w], nx, ny float32 [h, w]

EPS = 1e-3  # keeps shapes whose edge falls exactly on a pixel centre from flickering between frames


@dataclass(frozen=True)
class Capsule:
    """All points within ``r`` of the segment ``a``-``b`` (a thick limb with round ends)."""

    a: Tuple[float, float]
    b: Tuple[float, float]
    r: float

    def bounds(self) -> Tuple[float, float, float, float]:
        return (min(self.a[0], self.b[0]) - self.r, min(self.a[1], self.b[1]) - self.r,
                max(self.a[0], self.b[0]) + self.r, max(self.a[1], self.b[1]) + self.r)

    def raster(self, X: np.ndarray, Y: np.ndarray) -> Raster:
        ax, ay = self.a
        dx, dy = self.b[0] - ax, self.b[1] - ay
        ll = dx * dx + dy * dy
        if ll < 1e-9:
            t = np.zeros(np.broadcast_shapes(X.shape, Y.shape), np.float32)
        else:
            t = np.minimum(np.maximum(((X - ax) * dx + (Y - ay) * dy) / ll, 0.0), 1.0)
        ox = X - (ax + t * dx)
        oy = Y - (ay + t * dy)
        mask = ox * ox + oy * oy <= (self.r + EPS) ** 2
        r = max(self.r, 0.5)
        return mask, ox / r, oy / r


@dataclass(frozen=True)
class Ellipse:
    """An axis-aligned ellipse; ``clip(X, Y) -> bool mask`` keeps part of it (hair over a head)."""

    c: Tuple[float, float]
    rx: float
    ry: float
    clip: Optional[object] = None

    def bounds(self) -> Tuple[float, float, float, float]:
        return (self.c[0] - self.rx, self.c[1] - self.ry, self.c[0] + self.rx, self.c[1] + self.ry)

    def raster(self, X: np.ndarray, Y: np.ndarray) -> Raster:
        nx = (X - self.c[0]) / self.rx + 0 * Y
        ny = (Y - self.c[1]) / self.ry + 0 * X
        mask = nx * nx + ny * ny <= 0.93  # slightly inside: no one-pixel nubs at the extremes
        if self.clip is not None:
            mask &= self.clip(X, Y)
        return mask, nx, ny


@dataclass(frozen=True)
class Trapezoid:
    """A tapered quad along the axis ``a`` -> ``b``: half-width ``wa`` at ``a``, ``wb`` at ``b``.

    The last ``bevel`` pixels before ``b`` narrow at 45 degrees (rounded shoulders); ``extend`` lengthens the quad
    past ``a`` (a torso covering the tops of the thighs).
    """

    a: Tuple[float, float]
    b: Tuple[float, float]
    wa: float
    wb: float
    bevel: float = 0.0
    extend: float = 0.0

    def bounds(self) -> Tuple[float, float, float, float]:
        w = max(self.wa, self.wb) + self.extend
        return (min(self.a[0], self.b[0]) - w, min(self.a[1], self.b[1]) - w,
                max(self.a[0], self.b[0]) + w, max(self.a[1], self.b[1]) + w)

    def raster(self, X: np.ndarray, Y: np.ndarray) -> Raster:
        ax, ay = self.a
        dx, dy = self.b[0] - ax, self.b[1] - ay
        length = max(float(np.hypot(dx, dy)), 1e-6)
        ux, uy = dx / length, dy / length  # along the axis
        px, py = -uy, ux  # across it
        s = (X - ax) * ux + (Y - ay) * uy  # pixels along, 0 at a
        u = (X - ax) * px + (Y - ay) * py  # pixels across
        t = np.minimum(np.maximum(s / length, 0.0), 1.0)
        half = self.wa + (self.wb - self.wa) * t - np.maximum(0.0, s - (length - self.bevel))
        mask = (s >= -self.extend - EPS) & (s <= length + EPS) & (np.abs(u) <= half + EPS)
        nu = u / np.maximum(half, 0.5)
        # Normal: across-axis component from u, plus a little "top is lit" along the axis.
        nx = nu * px - 0.3 * (t - 0.5) * ux
        ny = nu * py - 0.3 * (t - 0.5) * uy
        return mask, nx, ny


@dataclass(frozen=True)
class Polygon:
    """A convex polygon (vertices in either winding order), e.g. a hair spike or a hat's cone."""

    points: Tuple[Tuple[float, float], ...]

    def bounds(self) -> Tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def raster(self, X: np.ndarray, Y: np.ndarray) -> Raster:
        pts = self.points
        n = len(pts)
        area = sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
        sign = 1.0 if area >= 0 else -1.0
        mask = np.ones(np.broadcast_shapes(X.shape, Y.shape), dtype=bool)
        for i in range(n):
            (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % n]
            mask &= sign * ((x1 - x0) * (Y - y0) - (y1 - y0) * (X - x0)) >= -EPS
        cx = sum(p[0] for p in pts) / n
        cy = sum(p[1] for p in pts) / n
        x0, y0, x1, y1 = self.bounds()
        nx = (X - cx) / max((x1 - x0) / 2.0, 0.5) + 0 * Y
        ny = (Y - cy) / max((y1 - y0) / 2.0, 0.5) + 0 * X
        return mask, nx, ny


Shape = object  # any of Capsule, Ellipse, Trapezoid, Polygon


def union_bounds(
    shapes: Sequence[Shape], size: Tuple[int, int], margin: int = 1
) -> Optional[Tuple[int, int, int, int]]:
    """Integer window ``(x0, y0, x1, y1)`` (end-exclusive) covering ``shapes`` plus ``margin``, clipped to ``size``
    = (height, width); ``None`` when it is empty."""
    bx0, by0, bx1, by1 = np.inf, np.inf, -np.inf, -np.inf
    for s in shapes:
        x0, y0, x1, y1 = s.bounds()
        bx0, by0, bx1, by1 = min(bx0, x0), min(by0, y0), max(bx1, x1), max(by1, y1)
    h, w = size
    x0 = max(0, int(np.floor(bx0)) - margin)
    y0 = max(0, int(np.floor(by0)) - margin)
    x1 = min(w, int(np.ceil(bx1)) + margin + 1)
    y1 = min(h, int(np.ceil(by1)) + margin + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def window(x0: int, y0: int, x1: int, y1: int) -> Window:
    """Pixel-centre coordinates of columns ``x0..x1-1`` (``X``, float32 ``[1, w]``) and rows ``y0..y1-1`` (``Y``,
    float32 ``[h, 1]``); shapes broadcast them to ``[h, w]``."""
    X = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5)
    Y = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5)
    return X, Y


def dilate4(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in the four axis directions (a 1-px outline ring is ``dilate4(m) & ~m``)."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out
