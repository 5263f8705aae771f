"""``motionmap eval``: the analogy benchmark (test set, baselines, checkpoints) -> results.md, results.json, grid PNG.

Example::

    motionmap eval --set lpc --track plain --out runs/eval_plain
    motionmap eval --set lpc --track scene --checkpoint runs/model.ckpt --out runs/eval_scene
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from motionmap.commands.options import (add_appear, add_palette, add_precision, add_refine_steps, add_scale,
                                       add_threads)

SETS = ("lpc", "synth", "ulpc")
TRACKS = ("plain", "scene")


def parse_size(text: str):
    """``N`` or ``WxH`` -> ``(width, height)``; a one-line error otherwise (range checked by EvalConfig)."""
    from motionmap.errors import MotionmapError

    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise MotionmapError(f"--size {text!r}: give N (square) or WxH, e.g. 32 or 40x56")
    return (values[0], values[-1])


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="run the analogy benchmark (baselines and checkpoints) and write tables and a picture grid",
        description=(
            "Analogy benchmark: for a source character's animation a0..aT and a target character shown only as b0, "
            "predict b1..bT; score SSE/img, MSE, char-MSE, PSNR, SSIM and the palette share (character pixels in a "
            "colour of b0) over frames t>=1 against the target's own animation, for the identity, pixel-analogy and "
            "optical-flow baselines and each --checkpoint."
        ),
    )
    # --set and --track are checked in run() so that a wrong value is a one-line error (exit 2).
    p.add_argument("--set", dest="set_name", default="lpc", metavar="{lpc,ulpc,synth,DIR}",
                   help="test set: characters composed from LPC layers (default), from a Universal LPC tree (two "
                        "body types, held-out hair styles/outfits/skin), synthetic characters, or a dataset folder "
                        "(e.g. from motionmap data import): pairs of its validation characters")
    p.add_argument("--layers", type=Path, default=None, metavar="DIR",
                   help="layer folder of --set lpc (default: $MOTIONMAP_LPC_LAYERS, else ../shared/data/lpc beside "
                        "the repo) or --set ulpc ($MOTIONMAP_ULPC_LAYERS, else ../shared/data/ulpc)")
    p.add_argument("--size", default=None, metavar="N|WxH",
                   help="resample every case to this frame size (nearest neighbour, 8-256 px) before running; SSE "
                        "stays per 64x64x3 image so sizes compare")
    p.add_argument("--track", default="plain", metavar="{plain,scene}",
                   help="plain: black background (default); scene: procedural backgrounds, kept by the prediction")
    p.add_argument("--checkpoint", type=Path, action="extend", nargs="+", default=[], metavar="CKPT",
                   help="model checkpoint(s) to score through Retargeter (several after one flag, or repeat it)")
    p.add_argument("--cases", type=int, default=None, metavar="N",
                   help="number of cases, the first N of the set (default: 10 character pairs = 210 LPC / 200 synth cases)")
    p.add_argument("--seed", type=int, default=0, help="test-set seed (default 0, the published test set)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="test-set cache folder (default ~/.cache/motionmap/eval)")
    p.add_argument("--no-cache", action="store_true", help="build the test set without reading or writing a cache")
    add_refine_steps(p)
    add_scale(p)
    add_palette(p)
    add_precision(p)
    add_appear(p)
    add_threads(p, "runs are compared")
    p.add_argument("--rgba", action="store_true",
                   help="plain track only: give the checkpoints the transparent source and target (RGBA output, "
                        "scored over black) and report the share of alpha values that are 0 or 255")
    p.add_argument("--device", default="auto", help="device for checkpoints: auto (default), cpu or cuda")
    p.add_argument("--grid-cases", type=int, default=4, metavar="N", help="cases shown in the grid PNG (default 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output folder for results.md, results.json and grid_<track>.png")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from motionmap.errors import MotionmapError
    from motionmap.eval.suite import EvalConfig, evaluate, write_outputs
    from motionmap.eval.report import ceiling_line, overall_table, per_action_table, per_group_table
    from motionmap.eval.testsets import check_set_layers, default_cache_dir, is_dataset_dir
    from motionmap.io.atomic import ensure_writable_output

    dataset = is_dataset_dir(args.set_name)
    if args.set_name not in SETS and not dataset:
        raise MotionmapError(f"--set {args.set_name!r}: unknown test set; choose one of {', '.join(SETS)}, "
                             "or a dataset folder (one with a manifest.json)")
    if args.track not in TRACKS:
        raise MotionmapError(f"--track {args.track!r}: unknown track; choose one of {', '.join(TRACKS)}")
    if args.cases is not None and args.cases < 1:
        raise MotionmapError(f"--cases {args.cases}: need a positive number of cases")
    if args.grid_cases < 0:
        raise MotionmapError(f"--grid-cases {args.grid_cases}: must be >= 0")
    cache = None if args.no_cache else (args.cache or default_cache_dir())
    config = EvalConfig(
        set=args.set_name,
        track=args.track,
        cases=args.cases,
        layers=args.layers,
        checkpoints=tuple(args.checkpoint),
        cache=cache,
        seed=args.seed,
        device=args.device,
        refine_steps=args.refine_steps,
        grid_cases=args.grid_cases,
        progress=not args.no_progress,
        size=parse_size(args.size) if args.size is not None else None,
        scale=args.scale,
        precision=args.precision,
        appear=args.appear,
        threads=args.threads,
        palette=args.palette,
        rgba=args.rgba,
    )
    # Fail fast, before minutes of work: the output, the layer folder, the checkpoints (loaded in evaluate first).
    inputs = list(args.checkpoint) + ([config.layers_dir] if config.layers_dir is not None else [])
    inputs += [Path(args.set_name)] if dataset else []
    ensure_writable_output(args.out, inputs=inputs, overwrite=args.overwrite)
    check_set_layers(config.set, config.layers_dir)

    output = evaluate(config)
    command = "motionmap " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["eval"] else None
    paths = write_outputs(args.out, output, overwrite=args.overwrite, command=command)
    result = output.result
    w, h = result.bset.frame_size
    print(f"## {config.set} / {config.track}: {len(result.bset.cases)} cases, {w}x{h} frames\n")
    print(overall_table(result))
    print(f"\n{ceiling_line(result)}")
    print("\nSSE/img per action:\n")
    print(per_action_table(result, "sse"))
    if result.bset.case_groups():
        print("\nSSE/img and SSIM per body-type pair (source->target):\n")
        print(per_group_table(result))
    for note in output.notes:
        print(f"\nnote: {note}")
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0
