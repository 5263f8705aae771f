"""``motionmap retarget``: replay a source animation with a target character's look.

    motionmap retarget --source walk.gif --target hero.png --out hero_walk.gif
    motionmap retarget --source knight.png --animation slash --facing left --target hero_sheet.png --out slash/
    motionmap retarget --all --source knight.png --target up.png --target left.png --target down.png \\
        --target right.png --out hero_sheet.png

Everything is read and checked before the model runs, and the output is written atomically at the end: bad input is
one ``motionmap: error: ...`` line, exit status 2, and nothing written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from motionmap.commands.options import (add_appear, add_palette, add_precision, add_refine_steps, add_scale,
                                       add_threads)
from motionmap.errors import MotionmapError

DEVICES = ("auto", "cpu", "cuda")

EPILOG = """\
sources: an animated GIF or APNG, a folder of numbered PNG frames, an Aseprite export (.json; --animation picks a
  tag), or a sprite sheet (LPC 832x1344, or a grid with --frame-size WxH) with --animation NAME (and --facing for LPC).
targets: an image of the target character in the pose of the source's first frame (its first frame, for a GIF), or
  a sheet: the first frame of the same animation and facing is taken (walk, the LPC standing pose, when the sheet
  lacks that row). A target with a transparent background gives output with a transparent background.
outputs (by --out):
  NAME.gif         animated GIF (alpha below 50% becomes transparent; GIF has no partial alpha)
  NAME.png/.apng   animated PNG (lossless, keeps alpha); with --sheet, a one-row sprite sheet PNG instead
  NAME (no suffix) a folder of PNG frames frame_000.png, frame_001.png, ...
  NAME.json        an Aseprite export (json-array): NAME.png plus NAME.json with one tag and every frame's duration,
                   which Aseprite, Godot and Unity importers load as is
--all: every animation and facing of an LPC source sheet onto a target given as one image per facing (repeat
  --target four times, in the order up, left, down, right) or as a sheet (its first walk frame of each facing).
  Each image shows the character in the source's first walk frame pose of that facing. Writes one 832x1344 LPC
  sheet, --out NAME.png.
Frame durations are the source's (sheets and frame folders: 100 ms); --fps sets them all.
--palette target (default): every output pixel takes a colour of the target (of the whole sheet, for a sheet
  target; transparent pixels do not count) and alpha is 0 or 255, as pixel art is drawn. --palette off: the
  model's soft output (blended colours, soft alpha edges), for your own post-processing.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "retarget",
        help="replay a source animation with a target character's look (GIF, frames, APNG, or whole LPC sheets)",
        description="Replay a source animation (character A) with the look of a target character B drawn in one pose.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--source", metavar="ANIM", help="GIF/APNG, PNG frame folder, or sprite sheet")
    p.add_argument("--target", action="append", metavar="IMAGE",
                   help="target image or sheet (with --all: four images in FACINGS order, or one sheet)")
    p.add_argument("--out", required=True, metavar="OUT",
                   help="NAME.gif, NAME.png (APNG or sheet), NAME.json (Aseprite export + NAME.png), or a folder")
    p.add_argument("--animation", default=None, metavar="NAME", help="animation row of a source sheet, e.g. walk")
    p.add_argument("--facing", default=None, metavar="F", help="facing of an LPC sheet: up, left, down or right")
    p.add_argument("--frame-size", default=None, metavar="WxH", help="frame size of grid sheets, e.g. 48x48")
    p.add_argument("--checkpoint", default=None, metavar="CKPT",
                   help="model checkpoint from `motionmap train` (default: the model shipped with motionmap)")
    p.add_argument("--device", default="auto", metavar="{auto,cpu,cuda}", help="auto (default: cuda if available)")
    add_refine_steps(p)
    add_scale(p)
    add_palette(p)
    add_precision(p)
    add_appear(p)
    add_threads(p)
    p.add_argument("--fps", type=float, default=None, metavar="N", help="frames per second (default: the source's)")
    p.add_argument("--all", dest="all_animations", action="store_true",
                   help="every animation and facing of an LPC source sheet -> one LPC sheet")
    p.add_argument("--sheet", action="store_true", help="with a .png --out: write a one-row sprite sheet, not an APNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (--all)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--example", action="store_true",
                   help="no --source/--target: retarget a built-in synthetic example (one character's walk onto "
                        "another) and write a side-by-side GIF: source | target | result")
    p.set_defaults(func=run)
    return p


def _check_device(device: str) -> str:
    from motionmap.core import is_device

    if not is_device(device):
        raise MotionmapError(f"--device {device!r}: unknown device; use one of {', '.join(DEVICES)}")
    return device


def _output_kind(out: str, all_animations: bool, sheet: bool) -> str:
    """'gif', 'apng', 'sheet', 'aseprite' or 'frames', from the --out suffix (and --all/--sheet)."""
    from motionmap.io.animation import animation_format

    suffix = Path(out).suffix.lower()
    if all_animations:
        if suffix != ".png":
            raise MotionmapError(f"--out {out}: --all writes one LPC sheet; give a file name ending in .png")
        return "sheet"
    if suffix == ".json":
        if sheet:
            raise MotionmapError(f"--out {out}: an Aseprite export already is a sheet; drop --sheet")
        return "aseprite"
    kind = animation_format(out)
    if kind is None:
        raise MotionmapError(f"--out {out}: cannot write {suffix} files; use .gif, .png, .apng, .json or a folder name")
    if sheet and suffix == ".png":
        return "sheet"
    if sheet and kind != "apng":
        raise MotionmapError(f"--out {out}: --sheet writes a PNG sheet; give a file name ending in .png")
    return kind


def _durations(source_durations, fps):
    if fps is None:
        return source_durations
    if not fps > 0 or fps > 1000:
        raise MotionmapError(f"--fps {fps:g}: must be between 0 and 1000 frames per second")
    return (max(1, int(round(1000.0 / fps))),) * len(source_durations)


def run(args: argparse.Namespace) -> int:
    from motionmap.io.atomic import ensure_writable_output
    from motionmap.palette import check_palette
    from motionmap.retarget import check_threads

    if args.fps is not None:
        _durations((1,), args.fps)  # validate early
    check_palette(args.palette)
    check_threads(args.threads, flag=True)
    _check_device(args.device)
    if args.example:
        return _run_example(args)
    if args.source is None or not args.target:
        raise MotionmapError("give --source ANIM and --target IMAGE (or --example to try a built-in one)")
    kind = _output_kind(args.out, args.all_animations, args.sheet)
    if args.all_animations and (args.animation or args.facing):
        raise MotionmapError("--all retargets every animation and facing; drop --animation and --facing")
    if not args.all_animations and len(args.target) != 1:
        raise MotionmapError(f"--target: got {len(args.target)} targets; give one (several are for --all)")
    inputs = [args.source, *args.target] + ([args.checkpoint] if args.checkpoint else [])
    ensure_writable_output(args.out, inputs=inputs, overwrite=args.overwrite)
    if kind == "aseprite":  # its image goes beside it: check that one before the work too
        ensure_writable_output(Path(args.out).with_suffix(".png"), inputs=inputs, overwrite=args.overwrite)
    if args.all_animations:
        return _run_all(args)
    return _run_one(args, kind)


def _load_retargeter(args):
    """The model of --checkpoint, --device, --refine-steps, --scale, --threads, --precision and --appear
    (:func:`motionmap.core.load_retargeter`)."""
    from motionmap.core import load_retargeter

    return load_retargeter(args.checkpoint, device=args.device, refine_steps=args.refine_steps, scale=args.scale,
                           threads=args.threads, precision=args.precision, appear=args.appear)


def _tag_name(args: argparse.Namespace) -> str:
    """The Aseprite tag of a result: the source's animation (``walk_left``), else the source file's name."""
    if args.animation:
        return f"{args.animation}_{args.facing}" if args.facing else args.animation
    return Path(args.source).stem or "animation"


def _run_one(args: argparse.Namespace, kind: str) -> int:
    from motionmap.io import Animation, write_animation, write_png
    from motionmap.io.aseprite import NamedAnimation, write_aseprite
    from motionmap.io.sheets import frames_strip
    from motionmap.core import load_animation_inputs, palette_for_target, retarget_animation

    inputs = load_animation_inputs(args.source, args.target[0], animation=args.animation, facing=args.facing,
                                   frame_size=args.frame_size, scale=args.scale)  # all checked before the model loads
    result = retarget_animation(_load_retargeter(args), inputs.source, inputs.target.image, reference=inputs.reference,
                                palette=palette_for_target(args.palette, inputs.target))
    result = Animation(result.frames, _durations(result.durations_ms, args.fps))
    out = args.out
    if kind == "aseprite":
        png, _ = write_aseprite(out, [NamedAnimation(_tag_name(args), result)], overwrite=args.overwrite)
        out = f"{png} + {out}"
    elif kind == "sheet":  # one row, as wide as the animation
        write_png(out, frames_strip(result.frames), overwrite=args.overwrite)
    else:  # gif, apng, frames: by the suffix
        write_animation(out, result, overwrite=args.overwrite)
    channels = "RGBA" if result.frames.shape[-1] == 4 and (result.frames[..., 3] < 255).any() else "RGB"
    print(f"wrote {out} ({len(result)} frames, {result.frames.shape[2]}x{result.frames.shape[1]}, {channels})")
    return 0


EXAMPLE_SOURCE = ("synth-1", "walk", "down")  # (character, action, facing) from motionmap.web.examples
EXAMPLE_TARGET = "synth-0"


def _run_example(args: argparse.Namespace) -> int:
    """A built-in example: synthetic character A's walk replayed with B's look, as source | target | result."""
    import numpy as np

    from motionmap.web.examples import example_animation, example_target
    from motionmap.io import composite_over, ensure_writable_output, write_gif
    from motionmap.core import retarget_animation

    if args.source or args.target or args.all_animations:
        raise MotionmapError("--example brings its own source and target; drop --source, --target and --all")
    if Path(args.out).suffix.lower() != ".gif":
        raise MotionmapError(f"--out {args.out}: --example writes a GIF; give a file name ending in .gif")
    ensure_writable_output(args.out, inputs=[args.checkpoint] if args.checkpoint else [], overwrite=args.overwrite)
    character, action, facing = EXAMPLE_SOURCE
    source = example_animation(character, action, facing)
    target = example_target(EXAMPLE_TARGET, action, facing)
    result = retarget_animation(_load_retargeter(args), source, target, palette=args.palette)
    grey = np.full((64, 64, 3), 96, np.uint8)

    def on_grey(frames):  # uint8 [T,64,64,3|4] -> uint8 [T,64,64,3]
        return composite_over(frames, grey) if frames.shape[-1] == 4 else frames

    t = len(source)
    panels = [on_grey(source.frames), on_grey(np.repeat(target[None], t, axis=0)), on_grey(result.frames)]
    frames = np.concatenate(panels, axis=2).repeat(3, axis=1).repeat(3, axis=2)  # (T, 192, 576, 3), 3x nearest
    write_gif(args.out, frames, _durations(source.durations_ms, args.fps), overwrite=args.overwrite)
    print(f"wrote {args.out}: {character} {action} ({facing}) replayed by {EXAMPLE_TARGET}: source | target | result")
    return 0


def _run_all(args: argparse.Namespace) -> int:
    from motionmap.io import write_png
    from motionmap.core import load_lpc_inputs, retarget_lpc_sheet

    inputs = load_lpc_inputs(args.source, args.target, frame_size=args.frame_size, palette=args.palette)
    out = retarget_lpc_sheet(_load_retargeter(args), inputs.sheet, inputs.targets, progress=not args.no_progress,
                             palette=inputs.palette)
    write_png(args.out, out, overwrite=args.overwrite)
    print(f"wrote {args.out} (LPC sheet {out.shape[1]}x{out.shape[0]})")
    return 0
