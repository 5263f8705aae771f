"""Command-line options that several subcommands share, defined once."""

from __future__ import annotations

import argparse


def add_refine_steps(parser: argparse.ArgumentParser) -> None:
    """``--refine-steps N``: test-time flow refinement of flow models (None: the default of
    :class:`motionmap.model.refine.RefineConfig`)."""
    parser.add_argument(
        "--refine-steps", type=int, default=None, metavar="N",
        help="flow refinement steps per frame for flow models (default 30; 0 turns it off: about 3x faster, less "
             "accurate; see motionmap/model/refine.py)",
    )


def add_scale(parser: argparse.ArgumentParser) -> None:
    """``--scale auto|native``: at which pixel scale the model runs (:mod:`motionmap.scale`)."""
    parser.add_argument(
        "--scale", choices=("auto", "native"), default="auto",
        help="auto (default): pixel art exported k-times upscaled (every art pixel a k x k block) runs at its art "
             "size and the result is blown up again, so a 2x export gives exactly the 1x result; native: run every "
             "input at its own size",
    )


def add_palette(parser: argparse.ArgumentParser) -> None:
    """``--palette target|off``: palette lock of the output (:mod:`motionmap.palette`); checked by the command so a
    wrong value is the one-line error (:func:`motionmap.palette.check_palette`)."""
    parser.add_argument(
        "--palette", default="target", metavar="{target,off}",
        help="target (default): only the target's own colours and hard alpha (0 or 255), as pixel art is drawn; "
             "off: the model's soft output (blended colours and alpha edges)",
    )


def add_appear(parser: argparse.ArgumentParser) -> None:
    """``--appear source|off``: pixels that come into view in the source, in the target's colours
    (:mod:`motionmap.appear`)."""
    parser.add_argument(
        "--appear", choices=("source", "off"), default="source",
        help="source (default): pixels that come into view in the source's frames (a limb from behind the body), "
             "which the target has no pixels for, are drawn in the target's colours for the source's colours there; "
             "off: left to the model",
    )


def add_precision(parser: argparse.ArgumentParser) -> None:
    """``--precision auto|bf16|fp32``: numeric precision of the model's passes (:mod:`motionmap.model.precision`)."""
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto",
        help="auto (default): bfloat16 convolutions on a CPU that computes them natively (Intel AMX / AVX512-BF16: "
             "faster, same scores), float32 elsewhere; bf16 or fp32 force one",
    )


def add_threads(parser: argparse.ArgumentParser, what: str = "results are compared") -> None:
    """``--threads N``: CPU threads for the model (None: :func:`motionmap.retarget.auto_threads`); checked by
    :func:`motionmap.retarget.check_threads`."""
    parser.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="CPU threads for the model (default: the free cores, at most 4, and 1 on a busy machine, where extra "
             "threads slow it down many times; see benchmarks/speed.py). Outputs are the same bit for bit for the "
             f"same N; between thread counts a few pixels can differ, so pass it where {what}",
    )

