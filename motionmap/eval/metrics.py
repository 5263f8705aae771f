"""Image-quality metrics of the analogy benchmark: pure functions on batches of frames.

Every function takes a batch of ``N`` frames, ``pred`` and ``truth`` of shape ``[N,H,W,C]``, either ``uint8`` in
``[0,255]`` (divided by 255) or floating point already in ``[0,1]``, and returns one number per frame as
``float64 [N]``. With ``x = pred / 255``, ``y = truth / 255`` and ``P = H*W*C`` values per frame:

* ``mse``       = ``sum((x - y)**2) / P``                      -- per-pixel mean squared error on [0,1]
* ``sse``       = ``12288 * mse``                              -- sum of squared error per 64x64x3 image (for
  64x64 frames exactly ``sum((x - y)**2)``), the scale older sprite papers report (Reed et al. 2015, Xue et al.
  2016); other frame sizes are put on the same scale so that numbers compare across ``--size``
* ``masked_mse``= ``sum(m * (x - y)**2) / (C * sum(m))``       -- MSE inside a pixel mask ``m`` (bool ``[N,H,W]``);
  NaN for a frame whose mask is empty
* ``psnr``      = ``10 * log10(1 / max(mse, 1e-10))``          -- in dB; an exact match is capped at 100 dB so that
  averages over frames stay finite (the smallest non-zero MSE of 8-bit 64x64x3 frames gives about 89 dB)
* ``ssim``      = the mean of :func:`kornia.metrics.ssim`'s map over pixels and channels, Gaussian window 11
  (sigma 1.5, the constants of Wang et al. 2004: ``c1 = 0.01**2``, ``c2 = 0.03**2`` for a range of 1) and
  ``padding='same'``. Window 11 is the standard choice; it still leaves 64x64 sprites 5x more pixels across than the
  window, and 'same' keeps the border (where a sprite's feet and weapons often reach) in the score.

Two shares say how much an output looks drawn rather than resampled (:mod:`motionmap.palette`), each a fraction in
[0,1] per frame:

* ``palette`` = :func:`palette_share`: of the pixels the true character covers at frame ``t`` (truth alpha > 0 at
  ``t``), the share whose exact RGB occurs in ``b0`` as the methods were shown it (the target on the track's
  background). The true frames' own share is the ceiling (LPC: about 98 %; new limbs show colours ``b0`` lacks).
* ``alpha01`` = :func:`binary_alpha_share`: the share of a frame's alpha values that are exactly 0 or 255, for
  methods that return RGBA (``motionmap eval --rgba``); NaN otherwise.

The benchmark's character region is :func:`character_mask`: pixels where the truth's alpha is non-zero at frame
``t`` *or* at frame 0 (the target image ``b0`` the method was given). The union also counts the pixels the character
has just left, so a method that leaves a ghost of ``b0`` behind (as identity and pixel analogy do) is charged for it
inside the region, while a background that a method merely keeps intact does not dilute the score.

Scores are aggregated by :func:`summarize` as a plain mean over frames (frames ``t >= 1`` of every case, so a case
with 13 frames weighs more than one with 6; this is "overall = mean over cases' frames").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.palette import in_palette

PSNR_CAP_DB = 100.0
"""PSNR of an exact match; the MSE is floored at ``10 ** (-PSNR_CAP_DB / 10)``."""

SSIM_WINDOW = 11
"""Gaussian window of :func:`ssim` (Wang et al. 2004; kornia's sigma is 1.5)."""

METRIC_NAMES = ("sse", "mse", "char_mse", "psnr", "ssim", "palette", "alpha01")
"""Metric keys, in the order the report's columns list them."""

METRIC_LABELS = {"sse": "SSE/img", "mse": "MSE", "char_mse": "char-MSE", "psnr": "PSNR", "ssim": "SSIM",
                 "palette": "palette", "alpha01": "alpha 0/255"}
LOWER_IS_BETTER = {"sse": True, "mse": True, "char_mse": True, "psnr": False, "ssim": False, "palette": False,
                   "alpha01": False}


def to_unit(images: np.ndarray) -> np.ndarray:
    """``uint8`` in [0,255] -> ``float32`` in [0,1]; floating input is returned as ``float32`` unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(images.dtype, np.floating):
        return images.astype(np.float32, copy=False)
    raise MotionmapError(f"image dtype {images.dtype}: not supported; pass uint8 in [0,255] or float in [0,1]")


def _check_pair(pred: np.ndarray, truth: np.ndarray) -> None:
    if pred.shape != truth.shape or pred.ndim != 4:
        raise MotionmapError(
            f"prediction shape {tuple(pred.shape)} vs truth shape {tuple(truth.shape)}: "
            "expected two equal [N,H,W,C] batches; pass frames of the same size"
        )


def squared_error(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(x - y)**2`` as ``float64 [N,H,W,C]`` with both images on [0,1]."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    _check_pair(pred, truth)
    diff = to_unit(pred).astype(np.float64) - to_unit(truth).astype(np.float64)
    return diff * diff


SSE_VALUES = 64 * 64 * 3
"""SSE is reported per 64x64x3 image (the scale older sprite papers use) whatever the frame size: ``SSE_VALUES * mse``,
so numbers compare across sizes (``motionmap eval --size N``)."""


def sse(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Sum of squared error per 64x64x3 image on [0,1] (:data:`SSE_VALUES` times the MSE): ``float64 [N]``.

    >>> sse(np.full((1, 64, 64, 3), 0.5), np.zeros((1, 64, 64, 3))).tolist()
    [3072.0]
    """
    return squared_error(pred, truth).mean(axis=(1, 2, 3)) * SSE_VALUES


def mse(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel mean squared error per frame on [0,1]: ``float64 [N]``.

    >>> mse(np.full((1, 2, 2, 3), 0.5), np.zeros((1, 2, 2, 3))).tolist()
    [0.25]
    """
    return squared_error(pred, truth).mean(axis=(1, 2, 3))


def masked_mse(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """MSE inside ``mask`` (bool ``[N,H,W]``, the same mask for every channel): ``float64 [N]``, NaN where empty."""
    err = squared_error(pred, truth)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != err.shape[:3]:
        raise MotionmapError(f"mask shape {tuple(mask.shape)}: expected {tuple(err.shape[:3])} ([N,H,W]) for the frames")
    count = mask.sum(axis=(1, 2)) * err.shape[3]
    total = (err * mask[..., None]).sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def psnr_from_mse(mse_values: np.ndarray) -> np.ndarray:
    """``10 * log10(1 / max(mse, 1e-10))`` in dB (images on [0,1]), ``float64`` of the input's shape."""
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)
    return 10.0 * np.log10(1.0 / np.maximum(np.asarray(mse_values, dtype=np.float64), floor))


def psnr(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per frame in dB, peak 1: ``float64 [N]``, capped at :data:`PSNR_CAP_DB`.

    >>> psnr(np.full((1, 2, 2, 3), 0.1), np.zeros((1, 2, 2, 3))).round(6).tolist()  # mse 0.01 -> 20 dB
    [20.0]
    """
    return psnr_from_mse(mse(pred, truth))


def ssim(pred: np.ndarray, truth: np.ndarray, window_size: int = SSIM_WINDOW, chunk: int = 512) -> np.ndarray:
    """Mean structural similarity per frame (kornia, Gaussian window, 'same' padding): ``float64 [N]`` in [-1,1].

    Frames are scored ``chunk`` at a time to bound memory. Frames smaller than the window (only in tests) use the
    largest odd window their reflect padding allows, ``2 * min(H, W) - 1``.
    """
    import torch
    from kornia.metrics import ssim as kornia_ssim

    pred, truth = np.asarray(pred), np.asarray(truth)
    _check_pair(pred, truth)
    out = np.empty(pred.shape[0], dtype=np.float64)
    window_size = min(int(window_size), 2 * min(pred.shape[1], pred.shape[2]) - 1)
    with torch.no_grad():
        for start in range(0, pred.shape[0], chunk):
            x = torch.from_numpy(to_unit(pred[start : start + chunk])).permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)
            y = torch.from_numpy(to_unit(truth[start : start + chunk])).permute(0, 3, 1, 2).contiguous()
            ssim_map = kornia_ssim(x, y, window_size)  # (B, C, H, W)
            out[start : start + chunk] = ssim_map.mean(dim=(1, 2, 3)).double().numpy()
    return out


def character_mask(alpha: np.ndarray) -> np.ndarray:
    """The character region of an animation: ``alpha[t] > 0 | alpha[0] > 0`` as bool ``[T,H,W]``.

    ``alpha`` is the truth's alpha channel, ``uint8 [T,H,W]`` (or the RGBA frames ``[T,H,W,4]``, whose last channel
    is taken). See the module docstring for why frame 0 is included.
    """
    alpha = np.asarray(alpha)
    if alpha.ndim == 4:
        if alpha.shape[-1] != 4:
            raise MotionmapError(f"frames of shape {tuple(alpha.shape)}: expected RGBA [T,H,W,4] or alpha [T,H,W]")
        alpha = alpha[..., 3]
    if alpha.ndim != 3:
        raise MotionmapError(f"alpha of shape {tuple(alpha.shape)}: expected [T,H,W]")
    present = alpha > 0
    return present | present[:1]


def palette_share(pred: np.ndarray, palette: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Share of the ``mask`` pixels whose exact RGB is a ``palette`` colour: ``uint8 [N,H,W,3]``, ``uint8 [K,3]``,
    bool ``[N,H,W]`` -> ``float64 [N]`` in [0,1], NaN for a frame whose mask is empty."""
    pred, mask = np.asarray(pred), np.asarray(mask, dtype=bool)
    if mask.shape != pred.shape[:3]:
        raise MotionmapError(f"mask shape {tuple(mask.shape)}: expected {tuple(pred.shape[:3])} ([N,H,W]) for the frames")
    hits = (in_palette(pred, palette) & mask).sum(axis=(1, 2))
    count = mask.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, hits / np.maximum(count, 1), np.nan)


def binary_alpha_share(alpha: np.ndarray) -> np.ndarray:
    """Share of each frame's alpha values that are 0 or 255: ``uint8 [N,H,W]`` -> ``float64 [N]`` in [0,1]."""
    alpha = np.asarray(alpha)
    return ((alpha == 0) | (alpha == 255)).mean(axis=(1, 2)).astype(np.float64)


@dataclass(frozen=True)
class FrameScores:
    """Every metric for a batch of ``N`` frames, each ``float64 [N]`` (``char_mse`` and ``palette`` may hold NaN
    for empty masks; ``palette`` and ``alpha01`` default to NaN, not measured)."""

    sse: np.ndarray
    mse: np.ndarray
    char_mse: np.ndarray
    psnr: np.ndarray
    ssim: np.ndarray
    palette: Optional[np.ndarray] = None
    alpha01: Optional[np.ndarray] = None

    def __post_init__(self):
        for k in ("palette", "alpha01"):
            if getattr(self, k) is None:
                object.__setattr__(self, k, np.full(len(self.mse), np.nan))

    def __len__(self) -> int:
        return int(self.mse.shape[0])

    def select(self, index: np.ndarray) -> "FrameScores":
        """The scores of the frames picked by ``index`` (a bool mask or integer indices over ``N``)."""
        return FrameScores(*(getattr(self, k)[index] for k in METRIC_NAMES))

    @staticmethod
    def concat(parts: Sequence["FrameScores"]) -> "FrameScores":
        if not parts:
            return FrameScores(*(np.zeros(0) for _ in METRIC_NAMES))
        return FrameScores(*(np.concatenate([getattr(p, k) for p in parts]) for k in METRIC_NAMES))


def score_frames(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray, palette: Optional[np.ndarray] = None,
                 alpha01: Optional[np.ndarray] = None) -> FrameScores:
    """All metrics for ``pred``, ``truth``: ``uint8 [N,H,W,3]`` and the character ``mask``: bool ``[N,H,W]``.

    palette, alpha01: the frames' :func:`palette_share` and :func:`binary_alpha_share`, ``float64 [N]``, computed by
    the caller (each case has its own palette); None: not measured (NaN)."""
    err = squared_error(pred, truth)  # (N, H, W, C)
    mse_values = err.mean(axis=(1, 2, 3))
    return FrameScores(
        sse=mse_values * SSE_VALUES,
        mse=mse_values,
        char_mse=masked_mse(pred, truth, mask),
        psnr=psnr_from_mse(mse_values),
        ssim=ssim(pred, truth),
        palette=palette,
        alpha01=alpha01,
    )


def summarize(scores: FrameScores) -> Dict[str, float]:
    """The mean of each metric over frames (NaN-skipping): ``{metric: float}`` in
    :data:`METRIC_NAMES` order, plus ``frames``, the number of frames averaged."""
    out: Dict[str, float] = {}
    for k in METRIC_NAMES:
        values = getattr(scores, k)
        finite = values[~np.isnan(values)]
        out[k] = float(finite.mean()) if finite.size else float("nan")
    out["frames"] = len(scores)
    return out
