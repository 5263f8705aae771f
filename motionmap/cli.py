"""The ``motionmap`` command line: one entry point, one module per subcommand under :mod:`motionmap.commands`.

Each command module exposes ``add_parser(subparsers)`` (registering its ``argparse`` parser and setting
``func=run`` on it) and ``run(args) -> int``. A :class:`~motionmap.errors.MotionmapError` anywhere below becomes a
one-line ``motionmap: error: ...`` on stderr and exit status 2, with no traceback; so does an ``OSError`` (a full
disk, no permission, a read-only filesystem, a name too long: :func:`~motionmap.errors.os_error_message`) and running
out of memory.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

from motionmap import __version__
from motionmap.errors import MotionmapError, os_error_message

# Subcommand modules, in the order `motionmap --help` lists them. A module that is not written yet is skipped.
COMMAND_MODULES = ("train", "retarget", "eval", "data", "check", "demo")


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


def _error(message: str, exit_code: int = MotionmapError.exit_code) -> int:
    print(f"motionmap: error: {message}", file=sys.stderr)
    return exit_code


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `motionmap train ...` hands everything after `train` to Lightning's own CLI parser.
    if argv[:1] == ["train"]:
        from motionmap.commands.train import run_lightning_cli

        command = lambda: run_lightning_cli(argv[1:])  # noqa: E731
    else:
        args = build_parser().parse_args(argv)
        command = lambda: args.func(args)  # noqa: E731
    # The one place where failures become one line: user errors, OS errors and memory. Anything else is a bug and
    # keeps its traceback.
    try:
        return int(command() or 0)
    except MotionmapError as e:
        return _error(str(e), e.exit_code)
    except BrokenPipeError:
        # The reader went away (`motionmap check ... | head`): stop quietly, as Unix tools do. Point stdout at
        # devnull so that the interpreter's final flush does not raise again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except OSError as e:
        return _error(os_error_message(e))
    except MemoryError:
        return _error("out of memory; use smaller or fewer frames, or close other programs")
    except KeyboardInterrupt:
        print("motionmap: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
