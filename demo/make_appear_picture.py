"""Regenerate the README picture of appearing pixels: source, truth, ``--appear off``, the default, zoomed.

    python demo/make_appear_picture.py                  # the shipped model -> docs/images/appear.png
    python demo/make_appear_picture.py --checkpoint CKPT --out appear.png --layers ../shared/data/lpc

Rows, top to bottom: the source character's animation, the held-out target character's own animation (the truth),
motionmap with ``--appear off`` (what comes into view is left to the model), and the default ``--appear source``
(what comes into view drawn from the source's frame in the target's colours; :mod:`motionmap.appear`). Same
characters, frames and zoom as ``make_palette_picture.py``. The LPC art is CC-BY-SA 3.0 (README, Credits).
"""

from __future__ import annotations

from make_palette_picture import picture_args, source_and_target, write_rows
from motionmap.palette import target_palette
from motionmap.retarget import Retargeter


def main() -> None:
    args = picture_args(__doc__.splitlines()[0], "appear.png", frames=5, zoom=5)
    target, a, truth = source_and_target(args)
    colours = target_palette(target)  # a sheet target: the sheet's colours
    off = Retargeter.load(args.checkpoint, appear="off").retarget(a, truth[0], palette=colours)
    on = Retargeter.load(args.checkpoint).retarget(a, truth[0], palette=colours)
    write_rows(args, (a, truth, off, on))


if __name__ == "__main__":
    main()
