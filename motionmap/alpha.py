"""Transparent sprites: recover an RGBA result from a model that only sees (and renders) opaque RGB images.

The model keeps the target's background (``b_t = g(T.f(b0) + h(b0))`` replays B's motion *on B's
background*). So rendering the target twice, composited over black and over white, gives two results that differ only
where the background shows through. With straight alpha ``a`` and colour ``c`` per output pixel::

    over_black = a * c                 over_white = a * c + (1 - a)
    =>  a = 1 - (over_white - over_black)          (per channel; averaged over R, G, B)
        c = (over_black + over_white - (1 - a)) / (2 a)   (the least-squares colour from both renderings)

This is classic difference matting (Smith & Blinn 1996, "Blue screen matting", triangulation with two known
backings). A trained model is only approximately linear in its background, so the raw alpha is cleaned up
(:func:`matte`): for pixel art (a target whose alpha is only 0 or 255, as every LPC sprite) it is thresholded to 0/255;
otherwise it is kept soft. An optional ``gate`` (e.g. a warped copy of the target's own alpha) can veto pixels.

Everything here is pure numpy; :func:`two_pass_rgba` takes the renderer as a function, so it serves the
:class:`~motionmap.retarget.Retargeter` and tests alike.

>>> black = np.zeros((1, 1, 2, 3), np.uint8); white = black.copy(); white[..., 1, :] = 255  # left opaque black
>>> matte(black, white, binary=True)[0, 0, :, 3].tolist()
[255, 0]
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from motionmap.io.images import composite_over

# Raw alpha at or above this becomes opaque when thresholding (binary targets). Trained models blur edges, so raw
# alpha under-reads at the character's rim: on LPC ground truth (benchmarks/retarget_quality.py, 3 held-out pairs x 21
# rows, lpc_dense checkpoint) IoU of the opaque region was 0.871 at 0.5, 0.876 at 0.3, 0.879 at 0.15-0.25. 0.3 takes
# most of that gain while staying clear of the noise floor of a background the model does not keep exactly.
ALPHA_THRESHOLD = 0.3

# Opaque pixels of a binary matte solve their colour with alpha at least this: a rim pixel read at alpha 0.3 is
# treated as opaque, but dividing the model's error by 0.3 would brighten it 3x.
COLOR_ALPHA_FLOOR = 0.5

# Colour of fully transparent output pixels: zero, as the project's PNG writers and GIF reader use.
_EPS = 1e-3


class AlphaSolve(NamedTuple):
    """Raw difference-matting result. alpha: ``float32 [...,H,W] in [0,1]``; color: ``float32 [...,H,W,3] in [0,1]``
    (straight, not premultiplied; 0 where alpha is ~0)."""

    alpha: np.ndarray
    color: np.ndarray


def _unit(images: np.ndarray, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.shape[-1:] != (3,) or images.ndim < 3:
        raise ValueError(f"{name}: expected [...,H,W,3], got shape {tuple(images.shape)}")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(images.dtype, np.floating):
        return np.clip(images.astype(np.float32), 0.0, 1.0)
    raise ValueError(f"{name}: expected uint8 in [0,255] or float in [0,1], got {images.dtype}")


def solve_alpha(over_black: np.ndarray, over_white: np.ndarray) -> AlphaSolve:
    """Difference matting from two renderings of one scene over black and over white.

    over_black, over_white: ``uint8 [...,H,W,3]`` (or float in [0,1]) of one shape. Returns :class:`AlphaSolve`.
    Exact for ``over_black = a*c``, ``over_white = a*c + (1-a)`` (see the module docstring).

    >>> c = np.array([[[0.2, 0.4, 0.6]]], np.float32)      # one pixel, 50% opaque
    >>> r = solve_alpha(0.5 * c, 0.5 * c + 0.5)
    >>> round(float(r.alpha[0, 0]), 6), [round(float(v), 6) for v in r.color[0, 0]]
    (0.5, [0.2, 0.4, 0.6])
    """
    black = _unit(over_black, "over_black")
    white = _unit(over_white, "over_white")
    if black.shape != white.shape:
        raise ValueError(f"solve_alpha: over_black {black.shape} and over_white {white.shape} differ")
    alpha = np.clip(1.0 - (white - black).mean(axis=-1), 0.0, 1.0)  # (..., H, W)
    a = alpha[..., None]
    color = (black + white - (1.0 - a)) / np.maximum(2.0 * a, _EPS)
    color = np.where(a > _EPS, np.clip(color, 0.0, 1.0), 0.0).astype(np.float32)
    return AlphaSolve(alpha.astype(np.float32), color)


def is_binary_alpha(alpha: np.ndarray) -> bool:
    """True when ``alpha`` (``uint8 [...]``) holds only 0 and 255: pixel art, whose result should be binary too."""
    alpha = np.asarray(alpha)
    return bool(np.isin(alpha, (0, 255)).all())


# A target "has a transparent background" when at least this fraction of its pixels is fully transparent. Sprites on
# transparent backgrounds are mostly background (an LPC frame: ~75%); an image with a few stray alpha-0 pixels (noise,
# a hole in an otherwise opaque picture) is not one, and gets the plain RGB path.
MIN_BACKGROUND_FRACTION = 0.05


def has_transparent_background(image: np.ndarray, min_fraction: float = MIN_BACKGROUND_FRACTION) -> bool:
    """True for an RGBA ``uint8 [...,H,W,4]`` image whose fully transparent pixels (alpha 0) make up at least
    ``min_fraction`` of it: a sprite on a transparent background. RGB images and opaque RGBA images are False."""
    image = np.asarray(image)
    if image.shape[-1] != 4 or image.size == 0:
        return False
    return bool((image[..., 3] == 0).mean() >= min_fraction)


def matte(
    over_black: np.ndarray,
    over_white: np.ndarray,
    binary: bool,
    threshold: float = ALPHA_THRESHOLD,
    gate: Optional[np.ndarray] = None,
) -> np.ndarray:
    """RGBA frames from renderings over black and white: ``uint8 [...,H,W,3]`` x2 -> ``uint8 [...,H,W,4]``.

    binary: threshold alpha at ``threshold`` to 0/255 (pixel art). Opaque pixels then take the colour solved with
        ``a = max(raw alpha, COLOR_ALPHA_FLOOR)``: model error is not amplified by more than 2x.
    gate: optional ``[...,H,W]`` (bool, or uint8/float alpha) multiplied into the alpha before thresholding, e.g. the
        target's own alpha warped by the same motion; pixels it marks transparent stay transparent.
    Fully transparent pixels are written as ``(0, 0, 0, 0)``.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"matte: threshold must be in (0, 1), got {threshold}")
    raw = solve_alpha(over_black, over_white)
    alpha = raw.alpha
    if gate is not None:
        g = np.asarray(gate)
        g = g.astype(np.float32) / 255.0 if g.dtype == np.uint8 else g.astype(np.float32)
        if g.shape != alpha.shape:
            raise ValueError(f"matte: gate shape {g.shape} differs from the frames' {alpha.shape}")
        alpha = alpha * np.clip(g, 0.0, 1.0)
    if binary:
        opaque = alpha >= threshold
        a = np.maximum(alpha, COLOR_ALPHA_FLOOR)[..., None]
        black, white = _unit(over_black, "over_black"), _unit(over_white, "over_white")
        color = np.clip((black + white - (1.0 - a)) / (2.0 * a), 0.0, 1.0)
        alpha_u8 = np.where(opaque, 255, 0).astype(np.uint8)
    else:
        color = raw.color
        alpha_u8 = np.round(alpha * 255.0).astype(np.uint8)
    rgb = np.round(color * 255.0).astype(np.uint8)
    rgb[alpha_u8 == 0] = 0
    return np.concatenate([rgb, alpha_u8[..., None]], axis=-1)


BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


def over_solid(rgba: np.ndarray, color) -> np.ndarray:
    """``uint8 [...,H,W,4]`` composited over a solid ``color`` (an RGB triple) -> ``uint8 [...,H,W,3]``."""
    return composite_over(rgba, np.asarray(color, np.uint8).reshape(1, 1, 3))


def two_pass_rgba(render: Callable[[np.ndarray], np.ndarray], target: np.ndarray,
                  threshold: float = ALPHA_THRESHOLD, binary: Optional[bool] = None) -> np.ndarray:
    """Retarget onto an RGBA ``target`` with a transparent background and return RGBA frames.

    render: maps an opaque target ``uint8 [H,W,3]`` to the retargeted frames ``uint8 [T,H,W,3]`` (the same motion
    each call; deterministic). target: ``uint8 [H,W,4]``. Renders the target over black and over white and solves for
    alpha (:func:`matte`). binary: hard 0/255 alpha (palette lock, :mod:`motionmap.palette`); None (default) makes it
    hard when the target's alpha is. Returns ``uint8 [T,H,W,4]``.
    """
    target = np.asarray(target)
    if target.dtype != np.uint8 or target.ndim != 3 or target.shape[-1] != 4:
        raise ValueError(f"two_pass_rgba: expected target uint8 [H,W,4], got {target.dtype} {tuple(target.shape)}")
    over_black = render(over_solid(target, BLACK))
    over_white = render(over_solid(target, WHITE))
    if binary is None:
        binary = is_binary_alpha(target[..., 3])
    return matte(over_black, over_white, binary=binary, threshold=threshold)
