"""``motionmap check``: the sheet doctor. Find the frames of sprite sheets that an artist got wrong.

    motionmap check SHEET.png [SHEET2.png ...] [--frame-size WxH] [--json OUT.json] [--picture OUT.png]
    motionmap check --layers DIR [--json OUT.json] [--picture OUT.png]

Kinds: hole, speck, shift, order, colour (see motionmap/check/detect.py). Exit status 0 when nothing is flagged,
1 when something is (for an asset repository's CI), 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path

from motionmap.errors import MotionmapError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="find frames of sprite sheets that do not fit the rest (holes, specks, shifts, order, colours)",
        description="Check every frame of every animation row and report the ones that do not fit the rest of the "
                    "sheet. Exit status: 0 nothing flagged, 1 something flagged, 2 bad input.",
    )
    p.add_argument("sheets", nargs="*", metavar="SHEET", help="sprite sheet images (PNG...)")
    p.add_argument("--frame-size", metavar="WxH",
                   help="frame size of a grid sheet (default: the LPC layout for 832x1344 sheets)")
    p.add_argument("--layers", action="append", default=[], metavar="DIR",
                   help="a folder of layer sheets composing one character (body/, hair/... or body.png, hair.png); "
                        "also checks each layer against the body; repeatable")
    p.add_argument("--json", metavar="OUT.json", help="also write the findings as JSON")
    p.add_argument("--picture", metavar="OUT.png",
                   help="also write a picture of the sheet with flagged cells boxed (one sheet: this name; several: "
                        "OUT-1.png, OUT-2.png, ...)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --json / --picture files")
    p.set_defaults(func=run)


def _picture_paths(base: str, n: int):
    path = Path(base)
    if n == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i + 1}{path.suffix}") for i in range(n)]


def run(args) -> int:
    from motionmap.check.report import picture, table, to_json
    from motionmap.check.sheets import check_file, check_layer_folder
    from motionmap.io.atomic import atomic_file, ensure_writable_output
    from motionmap.io.images import write_png
    from motionmap.io.sheets import parse_frame_size

    if not args.sheets and not args.layers:
        raise MotionmapError("nothing to check; give one or more SHEET images or --layers DIR")
    if args.frame_size is not None:
        parse_frame_size(args.frame_size)
    if args.layers and args.frame_size is not None:
        raise MotionmapError("--layers takes LPC layer sheets (832x1344); leave out --frame-size")
    inputs = list(args.sheets) + list(args.layers)
    n_reports = len(inputs)
    if args.json:
        if Path(args.json).suffix.lower() != ".json":
            raise MotionmapError(f"{args.json}: --json writes JSON; give a file name ending in .json")
        ensure_writable_output(args.json, args.sheets, overwrite=args.overwrite)
    pictures = []
    if args.picture:
        if Path(args.picture).suffix.lower() != ".png":
            raise MotionmapError(f"{args.picture}: --picture writes a PNG; give a file name ending in .png")
        pictures = _picture_paths(args.picture, n_reports)
        for p in pictures:
            ensure_writable_output(p, args.sheets, overwrite=args.overwrite)
    for s in args.sheets:
        if not Path(s).is_file():
            raise MotionmapError(f"{s}: no such file; give the path of a sprite sheet image")
    reports = [check_file(s, args.frame_size) for s in args.sheets]
    reports += [check_layer_folder(d) for d in args.layers]
    print(table(reports))
    if args.json:
        with atomic_file(args.json, overwrite=args.overwrite) as tmp:
            Path(tmp).write_text(to_json(reports), encoding="utf-8")
        print(f"wrote {args.json}")
    for rep, path in zip(reports, pictures):
        write_png(path, picture(rep), overwrite=args.overwrite)
        print(f"wrote {path}")
    return 1 if any(rep.flags for rep in reports) else 0
