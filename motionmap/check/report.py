"""Show the sheet doctor's findings: a terminal table, the ``--json`` form and a picture with flagged cells boxed."""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from PIL import Image, ImageDraw

from motionmap.check.detect import Flag
from motionmap.check.sheets import SheetReport
from motionmap.io.images import composite_over

# Box colours per kind (RGB), also used in the picture's labels.
KIND_COLOURS = {
    "hole": (230, 40, 40),
    "speck": (240, 140, 0),
    "shift": (40, 110, 240),
    "order": (170, 40, 220),
    "colour": (20, 170, 60),
}


def _names(report: SheetReport, fl: Flag):
    spec = report.layout.rows[fl.row]
    return spec.name, spec.facing


def table(reports: Sequence[SheetReport]) -> str:
    """One line per flag: sheet, row, frame, animation, facing, kind, score and a one-line explanation."""
    lines = []
    header = f"{'row':>3} {'frame':>5}  {'animation':<10} {'facing':<6} {'kind':<6} {'score':>5}  explanation"
    for rep in reports:
        lines.append(f"{rep.path}: " + (f"{len(rep.flags)} flagged" if rep.flags else "nothing flagged"))
        if rep.flags:
            lines.append(header)
        for fl in rep.flags:
            name, facing = _names(rep, fl)
            lines.append(f"{fl.row:>3} {fl.frame:>5}  {name:<10} {facing or '-':<6} {fl.kind:<6} {fl.score:>5.2f}  "
                         f"{fl.explanation}")
    return "\n".join(lines)


def to_json(reports: Sequence[SheetReport]) -> str:
    """``{"sheets": [{"path": ..., "flags": [{"row", "frame", "animation", "facing", "kind", "score"}, ...]}]}``
    (0-based grid indices; a flag on one layer of ``--layers`` also carries ``"layer"``)."""
    sheets = []
    for rep in reports:
        flags = []
        for fl in rep.flags:
            name, facing = _names(rep, fl)
            d = {"row": fl.row, "frame": fl.frame, "animation": name, "facing": facing, "kind": fl.kind,
                 "score": fl.score}
            if fl.layer is not None:
                d["layer"] = fl.layer
            flags.append(d)
        sheets.append({"path": rep.path, "flags": flags})
    return json.dumps({"sheets": sheets}, indent=2) + "\n"


def picture(report: SheetReport) -> np.ndarray:
    """The sheet over a light checkerboard, each flagged cell boxed in its kind's colour and labelled
    (``kind score``), flagged pixels circled. Returns ``uint8 [H,W,3]``, the sheet's size (2x for small cells)."""
    sheet = report.sheet
    h, w = sheet.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    checker = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 238, 250).astype(np.uint8)
    rgb = composite_over(sheet, np.repeat(checker, 3, axis=2))
    scale = 2 if report.layout.frame_width < 64 else 1
    img = Image.fromarray(rgb).resize((w * scale, h * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    fw, fh = report.layout.frame_width * scale, report.layout.frame_height * scale
    seen: dict = {}
    for fl in report.flags:
        colour = KIND_COLOURS[fl.kind]
        x0, y0 = fl.frame * fw, fl.row * fh
        draw.rectangle([x0, y0, x0 + fw - 1, y0 + fh - 1], outline=colour, width=2)
        k = seen.get((fl.row, fl.frame), 0)
        seen[(fl.row, fl.frame)] = k + 1
        label = fl.kind + (f":{fl.layer}" if fl.layer else "")
        draw.rectangle([x0 + 2, y0 + 2 + 10 * k, x0 + 2 + 6 * len(label), y0 + 11 + 10 * k], fill=colour)
        draw.text((x0 + 3, y0 + 1 + 10 * k), label, fill=(255, 255, 255))
        for y, x in fl.pixels[:64]:
            cx, cy = x0 + x * scale + scale // 2, y0 + y * scale + scale // 2
            draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], outline=colour)
    return np.asarray(img)
