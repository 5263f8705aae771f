"""Retargeting quality on LPC ground truth: transparency (alpha error) and `--all` vs single-animation retargeting.

    python benchmarks/retarget_quality.py --checkpoint runs/lpc_dense/checkpoints/last.ckpt [--pairs 3]

For ``--pairs`` (source, target) LPC characters composed from ``--layers`` (targets wear held-out layers, as in
``motionmap eval``), every row of the LPC layout (21 animation/facing rows) is retargeted:

- ``single``: the row's source frames onto the target's *own first frame of that row* (``motionmap retarget
  --animation A --facing F``), the benchmark's setting;
- ``all``: the whole sheet at once from one target image per facing, the target's first *walk* frame (``motionmap
  retarget --all``), so every row except walk starts from a pose the method must reach itself;
- ``single-walk``: single-animation retargeting given the same inputs as ``all`` (the walk frame as the target of
  every row, no reference), what a user without ``--all`` would run;

each with an RGB target over black (``rgb``, ``motionmap eval``'s plain track) and with the RGBA target, transparent
background (``rgba``, the alpha solve of :mod:`motionmap.alpha`, composited over black for the colour metrics).
Colour metrics are ``motionmap eval``'s (SSE/img, MSE, PSNR, SSIM over frames t >= 1, plain black background);
alpha metrics are ``mean |alpha - alpha_true|`` (alpha in [0, 1], all pixels of frames t >= 1) and IoU of the opaque
regions, against the target's own animation. ``identity`` (repeat b0) is the reference floor. An alpha threshold
sweep is reported for ``single/rgba``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)


def rows_of(sheet: np.ndarray):
    from motionmap.layout import LPC_LAYOUT

    for i, spec in enumerate(LPC_LAYOUT.rows):
        strip = sheet[i * 64 : i * 64 + 64, : spec.frames * 64]
        yield i, spec, np.ascontiguousarray(strip.reshape(64, spec.frames, 64, 4).transpose(1, 0, 2, 3))


def alpha_stats(pred_alpha: np.ndarray, true_alpha: np.ndarray) -> dict:
    p, t = pred_alpha.astype(np.float64) / 255, true_alpha.astype(np.float64) / 255
    po, to = pred_alpha > 0, true_alpha > 0
    return {"alpha_mae": float(np.abs(p - t).mean()), "inter": int((po & to).sum()), "union": int((po | to).sum())}


def main() -> None:
    from motionmap.alpha import ALPHA_THRESHOLD, BLACK, WHITE, matte, over_solid
    from motionmap.eval.metrics import character_mask, score_frames, summarize, FrameScores
    from motionmap.io import composite_over
    from motionmap.layout import FACINGS, LPC_LAYOUT
    from motionmap.lpc import LpcLayers, compose_character, sample_recipes
    from motionmap.retarget import Retargeter
    from motionmap.core import retarget_lpc_sheet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--layers", default=str(REPO.parent / "shared" / "data" / "lpc"))
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args()

    t_start = time.perf_counter()
    r = Retargeter.load(args.checkpoint, device=args.device)
    layers = LpcLayers(args.layers)
    targets = sample_recipes(layers, args.pairs, seed=args.seed + 1, held_out="require")
    sources = sample_recipes(layers, 2 * args.pairs + 1, seed=args.seed + 2, held_out="allow")
    black = np.zeros((1, 1, 3), np.uint8)
    methods = ("identity", "single/rgb", "single/rgba", "single-walk/rgb", "all/rgb", "all/rgba")
    scores = {m: [] for m in methods}
    alpha = {m: {"mae": [], "inter": 0, "union": 0} for m in ("single/rgba", "all/rgba", "all/rgba (t>=0)")}
    sweep = {th: {"mae": [], "inter": 0, "union": 0} for th in THRESHOLDS}

    def add_alpha(bucket, pred_a, true_a):
        s = alpha_stats(pred_a, true_a)
        bucket["mae"].append((s["alpha_mae"], pred_a.size))
        bucket["inter"] += s["inter"]
        bucket["union"] += s["union"]

    for i, tgt_recipe in enumerate(targets):
        src_recipe = next(s for s in sources[i:] + sources[:i] if s != tgt_recipe)
        src_sheet, tgt_sheet = compose_character(layers, src_recipe), compose_character(layers, tgt_recipe)
        walk = {f: tgt_sheet[LPC_LAYOUT.row_index("walk", f) * 64 :][:64, :64] for f in FACINGS}
        sheets = {
            "all/rgba": retarget_lpc_sheet(r, src_sheet, walk, progress=False),
            "all/rgb": retarget_lpc_sheet(r, src_sheet, {f: composite_over(w, black) for f, w in walk.items()},
                                          progress=False),
        }
        all_rows = {k: dict((j, fr) for j, _, fr in rows_of(v)) for k, v in sheets.items()}
        for (j, spec, src), (_, _, truth) in zip(rows_of(src_sheet), rows_of(tgt_sheet)):
            src_rgb = composite_over(src, black)
            truth_rgb = composite_over(truth, black)
            mask = character_mask(truth[..., 3])[1:]
            b0 = truth[0]
            preds = {"identity": np.repeat(truth_rgb[:1], len(truth), axis=0),
                     "single/rgb": r.retarget(src_rgb, truth_rgb[0]),
                     "single-walk/rgb": r.retarget(src_rgb, composite_over(walk[spec.facing or "down"], black))}
            over_b = r.retarget(src_rgb, over_solid(b0, BLACK))
            over_w = r.retarget(src_rgb, over_solid(b0, WHITE))
            for th in THRESHOLDS:
                rgba = matte(over_b, over_w, binary=True, threshold=th)
                add_alpha(sweep[th], rgba[1:, ..., 3], truth[1:, ..., 3])
                if th == ALPHA_THRESHOLD:
                    preds["single/rgba"] = composite_over(rgba, black)
                    add_alpha(alpha["single/rgba"], rgba[1:, ..., 3], truth[1:, ..., 3])
            for k in ("all/rgb", "all/rgba"):
                fr = all_rows[k][j]
                preds[k] = composite_over(fr, black) if fr.shape[-1] == 4 else fr
            add_alpha(alpha["all/rgba"], all_rows["all/rgba"][j][1:, ..., 3], truth[1:, ..., 3])
            add_alpha(alpha["all/rgba (t>=0)"], all_rows["all/rgba"][j][..., 3], truth[..., 3])
            for m in methods:
                scores[m].append(score_frames(preds[m][1:], truth_rgb[1:], mask))
        print(f"pair {i + 1}/{args.pairs} done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    def fold(b):
        n = sum(w for _, w in b["mae"])
        return {"alpha_mae": sum(v * w for v, w in b["mae"]) / n, "iou": b["inter"] / max(1, b["union"])}

    result = {"checkpoint": args.checkpoint, "pairs": args.pairs, "seed": args.seed,
              "colour": {m: summarize(FrameScores.concat(scores[m])) for m in methods},
              "alpha": {k: fold(v) for k, v in alpha.items()},
              "alpha_threshold_sweep": {str(th): fold(v) for th, v in sweep.items()}}
    print(f"\n{args.pairs} pairs x 21 rows, frames t>=1, plain black background; checkpoint {args.checkpoint}\n")
    print("| method | SSE/img | MSE | PSNR | SSIM |\n|---|---|---|---|---|")
    for m, s in result["colour"].items():
        print(f"| {m} | {s['sse']:.1f} | {s['mse']:.4f} | {s['psnr']:.2f} | {s['ssim']:.3f} |")
    print("\n| alpha | mean abs error | IoU opaque |\n|---|---|---|")
    for k, s in result["alpha"].items():
        print(f"| {k} | {s['alpha_mae']:.4f} | {s['iou']:.3f} |")
    print("\nsingle/rgba threshold sweep: " + ", ".join(
        f"{th}: mae {s['alpha_mae']:.4f} IoU {s['iou']:.3f}" for th, s in result["alpha_threshold_sweep"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
