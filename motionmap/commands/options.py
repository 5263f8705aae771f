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
