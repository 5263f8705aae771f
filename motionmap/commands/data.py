"""``motionmap data``: build datasets (synthetic, from LPC layers, or imported from a user's sprites) and preview them.

    motionmap data synth --out DIR [--characters 64] [--seed 0] [--preview FILE.gif]
    motionmap data lpc --layers DIR [--layers DIR2] --out DIR [--characters 64] [--seed 0] [--preview FILE.gif]
                       [--check | --drop-flagged]
    motionmap data import INPUT... --out DIR [--frame-size WxH] [--rows NAMES|FILE] [--seed 0] [--preview FILE.gif]
                          [--check | --drop-flagged]
    motionmap data preview --data DIR --out FILE.gif [--overwrite]

The format is documented in ``data/README.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from motionmap.errors import MotionmapError


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value}: need at least 2 characters (one goes to validation)")
    return value


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="build a training dataset (synthetic or LPC) or preview one",
        description="Build datasets in the motionmap-sprites format (see data/README.md), or preview one as a GIF.",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="{synth,lpc,import,preview}")
    sub.required = True

    synth = sub.add_parser("synth", help="generate the built-in synthetic sprite dataset (no download)")
    _add_build_options(synth)

    lpc = sub.add_parser("lpc", help="compose characters from LPC layer folders (body, hair, ...)")
    lpc.add_argument(
        "--layers", required=True, action="append", metavar="DIR",
        help="LPC layer folder (body/ bottomwear/ topwear/ hair/ ...) or Universal LPC tree (body/male, hair/female, "
             "...); repeat to mix libraries, the characters are shared out evenly",
    )
    _add_check_options(lpc)
    _add_build_options(lpc)

    imp = sub.add_parser(
        "import", help="import your own sprites: Aseprite exports, sheets, GIF/APNG, frame folders",
        description="One character per input: an Aseprite .json export (json-array or json-hash; tags are "
                    "animations), a composed LPC sheet, a grid sheet (--frame-size, --rows), a GIF/APNG, or a folder "
                    "of GIF/APNG files and PNG-frame folders. All inputs need one frame size, 8..256 px.",
    )
    imp.add_argument("inputs", nargs="+", metavar="INPUT", help="character files or folders (at least 2)")
    imp.add_argument("--out", required=True, metavar="DIR", help="new dataset folder (must not exist, or be empty)")
    imp.add_argument("--frame-size", metavar="WxH", help="frame size of grid sheets, e.g. 32x32")
    imp.add_argument("--rows", metavar="NAMES|FILE",
                     help="names of a grid sheet's rows, top to bottom: walk_down,walk_up,... (- skips a row), or a "
                          "text file with one per line or a JSON list; a _up/_left/_down/_right suffix is the facing")
    imp.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the split and backgrounds (default 0)")
    imp.add_argument("--preview", metavar="FILE.gif", help="also write a preview GIF of the dataset")
    _add_check_options(imp)
    imp.set_defaults(func=run)

    preview = sub.add_parser("preview", help="write a GIF of a dataset's characters animating over backgrounds")
    preview.add_argument("--data", required=True, metavar="DIR", help="dataset folder")
    preview.add_argument("--out", required=True, metavar="FILE.gif", help="GIF to write")
    preview.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    preview.set_defaults(func=run)


def _add_check_options(p: argparse.ArgumentParser) -> None:
    """--check / --drop-flagged: the sheet doctor (``motionmap check``) on every character before it is written."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true",
                       help="run the sheet doctor (motionmap check) on every character; report flagged frames")
    group.add_argument("--drop-flagged", action="store_true",
                       help="run the sheet doctor on every character and drop the frames it flags before training "
                            "(the row's later frames move up; the manifest records each character's own row lengths)")


def _add_build_options(p: argparse.ArgumentParser) -> None:
    """The options every dataset builder shares."""
    p.add_argument("--out", required=True, metavar="DIR", help="new dataset folder (must not exist, or be empty)")
    p.add_argument("--characters", type=_positive_count, default=64, metavar="N", help="characters (default 64)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--preview", metavar="FILE.gif", help="also write a preview GIF of the dataset")
    p.set_defaults(func=run)


def _check_preview_target(path: str) -> None:
    from motionmap.io.atomic import ensure_writable_output

    if Path(path).suffix.lower() != ".gif":
        raise MotionmapError(f"{path}: the preview is a GIF; give a file name ending in .gif")
    ensure_writable_output(path)


def run(args) -> int:
    from motionmap.datasets.build import build_lpc_dataset, build_synth_dataset, check_output_dir, dataset_summary
    from motionmap.datasets.preview import write_preview

    if args.data_command == "preview":
        out = write_preview(args.data, args.out, overwrite=args.overwrite)
        print(f"wrote preview {out}")
        return 0

    # Check every output before the (slow) build, so a bad path fails fast and writes nothing.
    check_output_dir(args.out)
    if args.preview:
        _check_preview_target(args.preview)
        if Path(args.preview).resolve().is_relative_to(Path(args.out).resolve()):
            raise MotionmapError(f"{args.preview}: the preview must not go inside the dataset folder {args.out}")
    screen = None
    if getattr(args, "check", False) or getattr(args, "drop_flagged", False):
        from motionmap.check.screen import FrameScreen

        screen = FrameScreen(drop=args.drop_flagged)
    if args.data_command == "import":
        from motionmap.datasets.build import build_import_dataset
        from motionmap.datasets.importer import parse_row_map

        rows = parse_row_map(args.rows) if args.rows is not None else None
        if args.rows is not None and args.frame_size is None:
            raise MotionmapError("--rows names the rows of a grid sheet: give its --frame-size WxH too")
        out = build_import_dataset(args.inputs, args.out, frame_size=args.frame_size, rows=rows, seed=args.seed,
                                   screen=screen)
    elif args.data_command == "synth":
        out = build_synth_dataset(args.out, characters=args.characters, seed=args.seed)
    else:
        layers = [Path(p) for p in args.layers]
        for folder in layers:
            if not folder.is_dir():
                raise MotionmapError(f"{folder}: no such folder; give --layers the folder holding body/, hair/, ...")
        out = build_lpc_dataset(layers, args.out, characters=args.characters, seed=args.seed, screen=screen)
    s = dataset_summary(out)
    print(f"wrote {args.data_command} dataset {out}: {s.n_train} train + {s.n_val} val characters, "
          f"{s.n_rows} animation rows, {s.n_frames} frames of {s.frame_size[0]}x{s.frame_size[1]} "
          "(manifest.json, characters/, backgrounds.png, frames.npy)")
    if args.preview:
        print(f"wrote preview {write_preview(out, args.preview)}")
    if screen is not None:
        from motionmap.datasets.format import character_id

        print(screen.summary([character_id(i) for i in range(len(screen.flags))]))
    return 0
