"""Procedural backgrounds for sprites: flat colours, dithered gradients and game-like textures.

Sprites are composited over these to build the "scene" track of the benchmark and to teach the background encoder
what a background is. The textures imitate game scenery at sprite scale: posterised noise (dirt, sand, water),
tiled floors with grout and bevels, grass with blades and flowers, brick walls. Everything is drawn with numpy from
an explicit ``numpy.random.Generator``, so a seed gives the same bytes on every machine.

>>> import numpy as np
>>> make_background(np.random.default_rng(0), "tiles").shape
(64, 64, 3)
>>> background_pool(4, seed=1).shape
(4, 64, 64, 3)
"""

from __future__ import annotations

import colorsys
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from motionmap.errors import MotionmapError

BACKGROUND_KINDS: Tuple[str, ...] = ("solid", "gradient", "noise", "tiles", "grass", "bricks")

Size = Tuple[int, int]  # (height, width)

# 4x4 Bayer matrix in [0, 1): ordered dithering gives the cross-hatched blends of old console art.
_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32) + 0.5) / 16.0


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)), np.float32) * 255.0


def _check_size(size: Sequence[int]) -> Size:
    try:
        h, w = (int(v) for v in size)
        ok = h >= 1 and w >= 1 and (h, w) == tuple(size)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise MotionmapError(f"background size {size!r} is not (height, width) in pixels; give two positive ints")
    return h, w


def _check_kind(kind: str) -> str:
    if kind not in BACKGROUND_KINDS:
        raise MotionmapError(f"unknown background kind {kind!r}; choose one of: {', '.join(BACKGROUND_KINDS)}")
    return kind


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _bayer(h: int, w: int) -> np.ndarray:
    return np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w]


def value_noise(rng: np.random.Generator, size: Size, cell: float) -> np.ndarray:
    """Smooth random field in [0, 1]: random values on a grid of ``cell``-px spacing, bilinearly interpolated.

    Returns float32 ``[H, W]``.
    """
    h, w = size
    gh, gw = int(np.ceil(h / cell)) + 2, int(np.ceil(w / cell)) + 2
    grid = rng.random((gh, gw), dtype=np.float32)
    ys = (np.arange(h, dtype=np.float32) + rng.random()) / cell
    xs = (np.arange(w, dtype=np.float32) + rng.random()) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep: no visible grid creases
    a = grid[y0][:, x0]
    b = grid[y0][:, x0 + 1]
    c = grid[y0 + 1][:, x0]
    d = grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def fractal_noise(rng: np.random.Generator, size: Size, cells: Sequence[float] = (16, 8, 4)) -> np.ndarray:
    """Octaves of :func:`value_noise` (coarse first, each half the weight), normalised to [0, 1]: float32 [H, W]."""
    total = np.zeros(size, np.float32)
    weight, wsum = 1.0, 0.0
    for cell in cells:
        total += weight * value_noise(rng, size, cell)
        wsum += weight
        weight *= 0.5
    total /= wsum
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def _posterise(t: np.ndarray, colours: np.ndarray, dither: float = 0.0) -> np.ndarray:
    """Map ``t`` in [0, 1] (float [H, W]) to one of ``colours`` (float [K, 3]) per pixel, optionally dithered."""
    k = len(colours)
    if dither:
        t = t + (_bayer(*t.shape) - 0.5) * dither / k
    idx = np.clip((t * k).astype(int), 0, k - 1)
    return colours[idx]


def _ramp(base: np.ndarray, k: int, spread: float) -> np.ndarray:
    """``k`` tones of ``base`` from darker to lighter: float [k, 3]."""
    f = np.linspace(1.0 - spread, 1.0 + spread * 0.7, k, dtype=np.float32)[:, None]
    return np.clip(base[None] * f, 0, 255)


def _solid(rng: np.random.Generator, size: Size) -> np.ndarray:
    colour = _hsv(rng.random(), rng.uniform(0.1, 0.7), rng.uniform(0.15, 0.9))
    return np.broadcast_to(colour, size + (3,)).copy()


def _gradient(rng: np.random.Generator, size: Size) -> np.ndarray:
    h, w = size
    hue = rng.random()
    top = _hsv(hue, rng.uniform(0.2, 0.8), rng.uniform(0.5, 0.95))
    bottom = _hsv(hue + rng.uniform(-0.15, 0.15), rng.uniform(0.2, 0.9), rng.uniform(0.1, 0.5))
    angle = rng.uniform(-0.6, 0.6) if rng.random() < 0.5 else 0.0  # vertical (sky) or slanted
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (yy / max(h - 1, 1)) * np.cos(angle) + (xx / max(w - 1, 1) - 0.5) * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    bands = int(rng.integers(5, 10))
    colours = top[None] + (bottom - top)[None] * np.linspace(0, 1, bands, dtype=np.float32)[:, None]
    return _posterise(t, colours, dither=1.0)


def _noise(rng: np.random.Generator, size: Size) -> np.ndarray:
    base = _hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.35, 0.8))
    t = fractal_noise(rng, size, cells=(rng.uniform(10, 24), 6, 3))
    img = _posterise(t, _ramp(base, int(rng.integers(3, 6)), 0.35), dither=rng.choice([0.0, 0.8]))
    # Speckles: single lighter and darker pixels, like gravel or sand grains.
    speck = rng.random(size)
    img[speck < 0.03] *= 0.75
    img[speck > 0.97] = np.minimum(img[speck > 0.97] * 1.2 + 10, 255)
    return img


def _tiles(rng: np.random.Generator, size: Size) -> np.ndarray:
    h, w = size
    th = int(rng.choice([8, 16]))
    tw = th * int(rng.choice([1, 1, 2]))
    base = _hsv(rng.random(), rng.uniform(0.05, 0.5), rng.uniform(0.4, 0.85))
    other = _hsv(rng.random(), rng.uniform(0.05, 0.5), rng.uniform(0.3, 0.8)) if rng.random() < 0.35 else None
    yy, xx = np.mgrid[0:h, 0:w]
    oy, ox = int(rng.integers(0, th)), int(rng.integers(0, tw))
    ty, tx = (yy + oy) // th, (xx + ox) // tw
    ly, lx = (yy + oy) % th, (xx + ox) % tw
    n_ty, n_tx = int(ty.max()) + 1, int(tx.max()) + 1
    jitter = 1.0 + rng.uniform(-0.08, 0.08, (n_ty, n_tx)).astype(np.float32)
    colour = np.broadcast_to(base, (h, w, 3)).astype(np.float32).copy()
    if other is not None:  # checkerboard of two stones
        odd = ((ty + tx) % 2 == 1)
        colour[odd] = other
    colour *= jitter[ty, tx][..., None]
    # Stone texture inside each tile, then bevels: light top/left edge, dark bottom/right, dark grout lines.
    colour *= (0.92 + 0.16 * fractal_noise(rng, size, cells=(6, 3)))[..., None]
    colour[(ly == 1) | (lx == 1)] *= 1.18
    colour[(ly == th - 2) | (lx == tw - 2)] *= 0.82
    colour[(ly == 0) | (lx == 0)] = colour[(ly == 0) | (lx == 0)] * 0.45
    return colour


def _grass(rng: np.random.Generator, size: Size) -> np.ndarray:
    h, w = size
    base = _hsv(rng.uniform(0.2, 0.36), rng.uniform(0.45, 0.8), rng.uniform(0.4, 0.7))
    tones = _ramp(base, 4, 0.3)
    img = _posterise(fractal_noise(rng, size, cells=(12, 6)), tones, dither=0.9)
    # Blades: short vertical strokes, a light tip over a dark root.
    n = int(h * w / 18)
    ys, xs = rng.integers(1, h, n), rng.integers(0, w, n)
    img[ys, xs] = tones[-1]
    img[ys - 1, xs] = np.minimum(tones[-1] * 1.1, 255)
    ys2, xs2 = rng.integers(0, h, n // 2), rng.integers(0, w, n // 2)
    img[ys2, xs2] = tones[0] * 0.85
    # A few flowers: a bright pixel with a yellow heart.
    for _ in range(int(rng.integers(0, 5))):
        y, x = int(rng.integers(1, h - 1)), int(rng.integers(1, w - 1))
        petal = _hsv(rng.random(), 0.6, 1.0)
        img[y - 1, x] = img[y + 1, x] = img[y, x - 1] = img[y, x + 1] = petal
        img[y, x] = (250, 220, 60)
    return img


def _bricks(rng: np.random.Generator, size: Size) -> np.ndarray:
    h, w = size
    bh = int(rng.choice([5, 6, 8]))
    bw = int(rng.choice([10, 12, 16]))
    base = _hsv(rng.uniform(-0.05, 0.1) if rng.random() < 0.7 else rng.random(), rng.uniform(0.2, 0.7),
                rng.uniform(0.4, 0.75))
    mortar = _hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.55, 0.8))
    yy, xx = np.mgrid[0:h, 0:w]
    row = yy // bh
    shift = (row % 2) * (bw // 2)
    col = (xx + shift) // bw
    ly, lx = yy % bh, (xx + shift) % bw
    jitter = 1.0 + rng.uniform(-0.12, 0.12, (int(row.max()) + 1, int(col.max()) + 1)).astype(np.float32)
    img = np.broadcast_to(base, (h, w, 3)).astype(np.float32) * jitter[row, col][..., None]
    img *= (0.93 + 0.14 * fractal_noise(rng, size, cells=(4, 2)))[..., None]
    img[ly == 1] *= 1.15
    img[ly == bh - 1] *= 0.8
    joint = (ly == 0) | (lx == 0)
    img[joint] = mortar
    return img


_MAKERS: Dict[str, Callable[[np.random.Generator, Size], np.ndarray]] = {
    "solid": _solid, "gradient": _gradient, "noise": _noise, "tiles": _tiles, "grass": _grass, "bricks": _bricks,
}


def make_background(rng: np.random.Generator, kind: Optional[str] = None, size: Sequence[int] = (64, 64)) -> np.ndarray:
    """One background: uint8 ``[H, W, 3]`` with ``size = (H, W)``.

    ``kind`` is one of :data:`BACKGROUND_KINDS`; ``None`` draws one at random from ``rng``. Everything random comes
    from ``rng``, so the same generator state gives the same image.
    """
    if not isinstance(rng, np.random.Generator):
        raise MotionmapError(f"background rng {rng!r} is not a numpy Generator; pass numpy.random.default_rng(seed)")
    hw = _check_size(size)
    if kind is None:
        kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    return _to_uint8(_MAKERS[_check_kind(kind)](rng, hw))


def background_pool(
    n: int, seed: int, size: Sequence[int] = (64, 64), kinds: Optional[Sequence[str]] = None
) -> np.ndarray:
    """``n`` backgrounds, uint8 ``[N, H, W, 3]``, the same bytes for the same arguments.

    Kinds cycle through ``kinds`` (default :data:`BACKGROUND_KINDS`) from a seed-dependent start, so every kind
    appears once ``n >= len(kinds)``. Background ``i`` depends only on ``(seed, i)``: a longer pool starts with the
    shorter one.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise MotionmapError(f"background count {n!r} is not a count; give an int >= 0")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MotionmapError(f"background seed {seed!r} is not usable; give an int >= 0")
    h, w = _check_size(size)
    kinds = tuple(BACKGROUND_KINDS if kinds is None else kinds)
    if not kinds:
        choices = ", ".join(BACKGROUND_KINDS)
        raise MotionmapError(f"background kinds {kinds!r} is empty; give at least one of: {choices}")
    for k in kinds:
        _check_kind(k)
    start = int(np.random.default_rng([int(seed), 0x6B67]).integers(len(kinds)))
    out = np.empty((int(n), h, w, 3), dtype=np.uint8)
    for i in range(int(n)):
        out[i] = make_background(np.random.default_rng([int(seed), i]), kinds[(start + i) % len(kinds)], (h, w))
    return out
