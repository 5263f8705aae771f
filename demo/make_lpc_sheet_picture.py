"""Regenerate the README picture of `motionmap retarget --all`: a whole LPC sheet for a held-out character.

    python demo/make_lpc_sheet_picture.py                         # the shipped model -> docs/images/retarget_all_sheet.png
    python demo/make_lpc_sheet_picture.py --checkpoint CKPT --out sheet.png --layers ../shared/data/lpc

The source is an LPC character composed from the layers; the target is a character wearing a held-out layer (body 5,
topwear 5 or hair 7: never in training data), given only as its four walk frames (one per facing), exactly what an
artist passes to `--all`. The picture is the command's output sheet. The LPC art is CC-BY-SA 3.0 (README, Credits).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from motionmap.io.images import write_png
from motionmap.layout import FACINGS, LPC_LAYOUT
from motionmap.lpc import LpcLayers, compose_character, sample_recipes

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=Path, default=REPO.parent / "shared" / "data" / "lpc")
    ap.add_argument("--checkpoint", default=None, help="default: the model shipped with motionmap")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "retarget_all_sheet.png")
    ap.add_argument("--seed", type=int, default=3, help="which source/target characters to draw")
    args = ap.parse_args()

    lib = LpcLayers(args.layers)
    source = compose_character(lib, sample_recipes(lib, 1, seed=args.seed, held_out="exclude")[0])
    target = compose_character(lib, sample_recipes(lib, 1, seed=args.seed + 1, held_out="require")[0])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_png(tmp / "source.png", source)
        targets = []
        for facing in FACINGS:
            row = LPC_LAYOUT.row_index("walk", facing)
            targets += ["--target", str(write_png(tmp / f"{facing}.png", target[row * 64 : row * 64 + 64, :64]))]
        cmd = [sys.executable, "-m", "motionmap", "retarget", "--all", "--source", str(tmp / "source.png"), *targets,
               "--out", str(args.out), "--overwrite"]
        if args.checkpoint:
            cmd += ["--checkpoint", args.checkpoint]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
