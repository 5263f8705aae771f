"""Draw real findings of `motionmap check` as zoomed sheet crops with the flagged cells outlined (README pictures).

    python demo/make_check_pictures.py --root ULPC_TREE/.. --out docs/images/check_findings.png \\
        ulpc/hair/female/ponytail/blonde.png:17:11 ulpc/torso/shirts/sleeveless/female/white_pirate.png:13:4

Each FINDING is ``SHEET:ROW:FRAME`` (0-based, as ``motionmap check --json`` prints them) or ``SHEET:ROW:FRAME:BODY``:
the sheet is checked again (with a BODY sheet: as worn over it, :func:`motionmap.check.sheets.check_worn`, the way
``benchmarks/check_ulpc_tree.py`` checks layers, and drawn over it) and the crop shows frames FRAME-1..FRAME+1 of that row, 4x, over magenta (so that see-through pixels show), the
flagged cell outlined in its kind's colour and the flagged pixels circled, with a caption line (a cell with no flag,
shown for comparison, is captioned "not flagged"). Pictures made from
Universal LPC sheets carry its artists' credits: docs/ULPC_AUTHORS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw

from motionmap.check.grid import sheet_grid
from motionmap.check.report import KIND_COLOURS
from motionmap.check.sheets import SheetReport, check_file, check_worn
from motionmap.io.images import composite_over, write_png
from motionmap.layout import LPC_LAYOUT
from motionmap.lpc import compose_layers, load_layer_sheet

SCALE = 4
MAGENTA = (255, 0, 255)
CAPTION = 14


def crop(path: Path, label: str, row: int, frame: int, body: Optional[Path] = None) -> Image.Image:
    """Frames frame-1..frame+1 of ``row`` of the sheet at ``path`` (worn over ``body`` when given), the flagged cell
    outlined; an RGB image."""
    if body is None:
        report = check_file(path)
        sheet, layout, found = report.sheet, report.layout, report.flags
    else:
        layer, under = load_layer_sheet(path), load_layer_sheet(body)
        sheet, layout, found = compose_layers([under, layer]), LPC_LAYOUT, check_worn(layer, under, path.stem)
    flags = [fl for fl in found if (fl.row, fl.frame) == (row, frame)]
    report = SheetReport(str(path), layout, sheet, flags)
    grid = sheet_grid(report.sheet, report.layout)
    frames = [g for g in (frame - 1, frame, frame + 1) if 0 <= g < grid.row_frames(row)]
    fw, fh = report.layout.frame_width, report.layout.frame_height
    strip = np.concatenate([grid.cells[row, g] for g in frames], axis=1)  # (h, n*w, 4)
    rgb = composite_over(strip, np.broadcast_to(np.array(MAGENTA, np.uint8), strip.shape[:2] + (3,)).copy())
    img = Image.new("RGB", (rgb.shape[1] * SCALE, rgb.shape[0] * SCALE + CAPTION), (255, 255, 255))
    img.paste(Image.fromarray(rgb).resize((rgb.shape[1] * SCALE, rgb.shape[0] * SCALE), Image.NEAREST), (0, CAPTION))
    draw = ImageDraw.Draw(img)
    x0 = frames.index(frame) * fw * SCALE
    for fl in flags:
        colour = KIND_COLOURS[fl.kind]
        draw.rectangle([x0, CAPTION, x0 + fw * SCALE - 1, CAPTION + fh * SCALE - 1], outline=colour, width=3)
        for y, x in fl.pixels[:64]:
            cx, cy = x0 + x * SCALE + SCALE // 2, CAPTION + y * SCALE + SCALE // 2
            draw.ellipse([cx - 6, cy - 6, cx + 6, cy + 6], outline=colour, width=2)
    spec = report.layout.rows[row]
    kinds = "+".join(sorted({fl.kind for fl in flags})) or "not flagged"
    draw.text((2, 1), f"{label}  {spec.name}-{spec.facing or ''} frame {frame}: {kinds}", fill=(0, 0, 0))
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("findings", nargs="+", metavar="SHEET:ROW:FRAME")
    ap.add_argument("--root", type=Path, default=Path("."), help="folder the SHEET paths are relative to")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
    tiles = []
    for item in args.findings:
        sheet, row, frame, *body = item.split(":")
        tiles.append(crop(args.root / sheet, sheet + (" worn" if body else ""), int(row), int(frame),
                          args.root / body[0] if body else None))
    width = max(t.width for t in tiles)
    canvas = Image.new("RGB", (width, sum(t.height + 6 for t in tiles)), (255, 255, 255))
    y = 0
    for t in tiles:
        canvas.paste(t, (0, y))
        y += t.height + 6
    write_png(args.out, np.asarray(canvas), overwrite=args.overwrite)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
