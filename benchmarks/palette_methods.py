"""How to make the output palette-true: snapping in RGB or OKLab, or nearest-neighbour sampling of the moved pixels.

    python benchmarks/palette_methods.py --track plain [--every 10] [--checkpoint CKPT] [--layers DIR]

Runs the shipped model (or ``--checkpoint``) on every ``--every``-th case of the ``motionmap eval --set lpc`` test set
(the same cases, inputs and metrics) and scores four ways to turn its soft output into colours of ``b0``:

- ``soft``: the model's output as it is (``--palette off``);
- ``snap RGB``: each pixel to the nearest colour of ``b0`` in RGB (:func:`motionmap.palette.snap_to_palette`, the
  default ``--palette target``);
- ``snap OKLab``: the same in the OKLab perceptual space (Ottosson 2020);
- ``nearest copy``: the copy path samples ``b0`` with nearest instead of bilinear interpolation, so the moved pixels
  are exact ``b0`` colours, and what the decoder adds is snapped in RGB.

Columns: SSE/img and SSIM (``motionmap eval``'s), and the palette share (of the true character's pixels at t, the
share drawn in a colour of ``b0``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """``float [...,3]`` sRGB in [0,1] -> OKLab ``float [...,3]`` (Ottosson 2020)."""
    c = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lms = np.cbrt(c @ np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                                [0.2119034982, 0.6806995451, 0.1073969566],
                                [0.0883024619, 0.2817188376, 0.6299787005]]).T)
    return lms @ np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                           [1.9779984951, -2.4285922050, 0.4505937099],
                           [0.0259066595, 0.7827717560, -0.8086757060]]).T


def snap_oklab(images: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Nearest palette colour in OKLab: ``uint8 [...,3]``, ``uint8 [K,3]`` -> ``uint8 [...,3]``."""
    flat = images.reshape(-1, 3)
    colours, inverse = np.unique(flat, axis=0, return_inverse=True)
    x, p = srgb_to_oklab(colours / 255.0), srgb_to_oklab(palette / 255.0)
    nearest = np.concatenate([((x[i : i + 512, None] - p[None]) ** 2).sum(-1).argmin(1)
                              for i in range(0, len(x), 512)])
    return palette[nearest][inverse.reshape(-1)].reshape(images.shape)


def soft_and_nearest(retargeter, source: np.ndarray, b0: np.ndarray):
    """The model's soft output and its nearest-copy variant, ``uint8 [T,H,W,3]`` each: the decoder's copy weight
    ``alpha`` blends bilinear-sampled ``b0`` pixels; the variant swaps in the nearest-sampled ones."""
    import torch
    import torch.nn.functional as F

    from motionmap.model import motion
    from motionmap.retarget import _to_float

    model = retargeter.model
    with torch.inference_mode():
        a = _to_float(source)
        t = model.transfer_motion(a[:1], a, retargeter.refine)
        b = _to_float(b0[None]).expand(len(a), -1, -1, -1)
        pred = model.render(b, model.f(b), model.h(b), t)
        bilinear = motion.warp(b, t.pixel_grid)
        nearest = F.grid_sample(b, t.pixel_grid, mode="nearest", padding_mode="border", align_corners=False)
        swapped = (pred.image + pred.alpha * (nearest - bilinear)).clamp(0, 1)

    def u8(x):
        return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    return u8(pred.image.clamp(0, 1)), u8(swapped)


def main() -> None:
    from motionmap.eval.metrics import palette_share, sse, ssim
    from motionmap.eval.testsets import benchmark_set_for, default_cache_dir, default_layers_dir
    from motionmap.palette import snap_to_palette, target_palette
    from motionmap.retarget import Retargeter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--track", default="plain", choices=("plain", "scene"))
    ap.add_argument("--every", type=int, default=10, help="score every N-th case of the 210 (default 10: 21 cases)")
    ap.add_argument("--checkpoint", default=None, help="default: the model shipped with motionmap")
    ap.add_argument("--layers", type=Path, default=None, help="LPC layer folder (default: motionmap eval's)")
    args = ap.parse_args()

    bset = benchmark_set_for("lpc", layers=args.layers or default_layers_dir(), cache_dir=default_cache_dir())
    cases = bset.cases[:: args.every]
    r = Retargeter.load(args.checkpoint)
    names = ("soft", "snap RGB", "snap OKLab", "nearest copy")
    scores = {n: [] for n in names}
    start = time.perf_counter()
    for case in cases:
        source, truth = case.source(args.track), case.truth(args.track)
        b0, palette = truth[0], target_palette(truth[0])
        soft, nearest = soft_and_nearest(r, source, b0)
        preds = (soft, snap_to_palette(soft, palette), snap_oklab(soft, palette), snap_to_palette(nearest, palette))
        drawn = case.target_rgba[1:, ..., 3] > 0
        for name, pred in zip(names, preds):
            p, y = pred[1:], truth[1:]
            scores[name].append((sse(p, y), ssim(p, y), palette_share(p, palette, drawn)))
    print(f"lpc/{args.track}: {len(cases)} cases (every {args.every}th), {time.perf_counter() - start:.0f} s\n")
    print("| method | SSE/img ↓ | SSIM ↑ | palette ↑ |\n|---|---:|---:|---:|")
    for name in names:
        s, m, p = (np.concatenate([x[i] for x in scores[name]]) for i in range(3))
        print(f"| {name} | {s.mean():.1f} | {m.mean():.4f} | {np.nanmean(p):.1%} |")


if __name__ == "__main__":
    main()
