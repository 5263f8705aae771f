"""Does the model's lead over the optical-flow warp travel? One table over the rows that decide it.

    python benchmarks/travel.py --checkpoint motionmap/assets/default.ckpt [other.ckpt ...] [--cases N] [--threads N]

Rows (each a full ``motionmap eval`` run, 210 cases unless ``--cases``): ``lpc`` plain and scene at 64x64, ``ulpc``
plain at 64x64 (two body types, held-out hair styles, outfits and skin), ``lpc`` plain resampled to 32x32 and to
128x128 (nearest). For every checkpoint it prints SSE per 64x64x3 image / SSIM beside the flow warp's, the ratio
flow SSE / model SSE (the bar is 1.25) and whether SSIM beats the warp. ``--json`` also writes every number.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = (
    ("lpc plain 64", dict(set="lpc", track="plain")),
    ("lpc scene 64", dict(set="lpc", track="scene")),
    ("ulpc plain 64", dict(set="ulpc", track="plain")),
    ("lpc plain 32", dict(set="lpc", track="plain", size=(32, 32))),
    ("lpc plain 128", dict(set="lpc", track="plain", size=(128, 128))),
)


def main() -> None:
    from motionmap.eval.suite import EvalConfig, evaluate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, nargs="+", required=True)
    p.add_argument("--cases", type=int, default=None, help="first N cases of each set (default: all 210)")
    p.add_argument("--rows", nargs="+", default=None, help="row names to run (default: all)")
    p.add_argument("--json", type=Path, default=None, help="also write every number here")
    p.add_argument("--threads", type=int, default=None,
                   help="the checkpoints' CPU threads (default: the free cores when each row starts, which the "
                        "previous row's load lowers; scores move in their last digits between counts)")
    args = p.parse_args()

    table = []
    for name, kw in ROWS:
        if args.rows and name not in args.rows:
            continue
        out = evaluate(EvalConfig(checkpoints=tuple(args.checkpoint), cases=args.cases, baselines=("flow",),
                                  grid_cases=0, progress=False, threads=args.threads, **kw))
        overall = {m.name: m.overall() for m in out.result.methods}
        flow = overall["flow"]
        for m in out.result.methods:
            if m.kind != "checkpoint":
                continue
            s = overall[m.name]
            table.append({"row": name, "method": m.name, "sse": s["sse"], "ssim": s["ssim"], "flow_sse": flow["sse"],
                          "flow_ssim": flow["ssim"], "ratio": flow["sse"] / s["sse"],
                          "frames_per_s": m.frames / m.seconds if m.seconds else None})
        print(f"done: {name} ({out.seconds:.0f} s, {out.threads} thread(s))", flush=True)

    print("\n| row | method | flow warp SSE / SSIM | model SSE / SSIM | flow SSE / model SSE | SSIM beats warp |")
    print("|---|---|---:|---:|---:|:-:|")
    for r in table:
        print(f"| {r['row']} | {r['method']} | {r['flow_sse']:.1f} / {r['flow_ssim']:.3f} | {r['sse']:.1f} / "
              f"{r['ssim']:.3f} | {r['ratio']:.2f} | {'yes' if r['ssim'] > r['flow_ssim'] else 'no'} |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
