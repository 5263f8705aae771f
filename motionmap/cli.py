"""The ``motionmap`` command line: one entry point, one module per subcommand under :mod:`motionmap.commands`.

Each command module exposes ``add_parser(subparsers)`` (registering its ``argparse`` parser and setting
``func=run`` on it) and ``run(args) -> int``. A :class:`~motionmap.errors.MotionmapError` anywhere below becomes a
one-line ``motionmap: error: ...`` on stderr and exit status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from motionmap import __version__
from motionmap.errors import MotionmapError

# Subcommand modules, in the order `motionmap --help` lists them. A module that is not written yet is skipped.
COMMAND_MODULES = ("train", "retarget", "eval", "data", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motionmap",
        description="Self-supervised sprite motion transfer: replay one character's animation with another's look.",
    )
    parser.add_argument("--version", action="version", version=f"motionmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"motionmap.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"motionmap.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `motionmap train ...` hands everything after `train` to Lightning's own CLI parser.
    if argv[:1] == ["train"]:
        from motionmap.commands.train import run_lightning_cli

        try:
            return run_lightning_cli(argv[1:])
        except MotionmapError as e:
            print(f"motionmap: error: {e}", file=sys.stderr)
            return e.exit_code
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MotionmapError as e:
        print(f"motionmap: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("motionmap: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
