"""Small synthetic sprites and hand-made Aseprite exports for the reader, importer and writer tests.

``export_aseprite`` writes what Aseprite's "Export Sprite Sheet" writes, in either JSON form, optionally trimmed
(each frame cut to its opaque bounding box and packed, with ``spriteSourceSize`` saying where it came from).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image


def moving_square(t: int = 4, w: int = 16, h: int = 16, colour=(200, 60, 30), step: int = 2, seed: int = 0) -> np.ndarray:
    """A square moving right ``step`` px per frame on a transparent background, each frame with a distinct stripe:
    ``uint8 [T,h,w,4]``."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((t, h, w, 4), np.uint8)
    side = max(3, min(w, h) // 3)
    for i in range(t):
        x = 1 + step * i
        y = h // 3
        frames[i, y:y + side, x:x + side] = (*colour, 255)
        frames[i, y, x:x + side, :3] = rng.integers(0, 255, 3)  # frame-specific top stripe
    return frames


def export_aseprite(
    folder: Path,
    stem: str,
    frames: np.ndarray,
    durations: Sequence[int],
    tags: Sequence[Dict] = (),
    form: str = "array",
    trim: bool = False,
    image_name: Optional[str] = None,
) -> Path:
    """Write ``stem.png`` + ``stem.json`` like Aseprite does; frames ``uint8 [T,h,w,4]`` packed left to right.

    ``form``: ``"array"`` (json-array) or ``"hash"`` (json-hash). ``trim``: store each frame's opaque bounding box
    only. Returns the JSON path.
    """
    folder = Path(folder)
    t, h, w, _ = frames.shape
    sheet = np.zeros((h, w * t, 4), np.uint8)
    records: List[Dict] = []
    for i, f in enumerate(frames):
        x0, y0, x1, y1 = 0, 0, w, h
        if trim and f[..., 3].any():
            ys, xs = np.nonzero(f[..., 3])
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        fw, fh = x1 - x0, y1 - y0
        sheet[:fh, i * w:i * w + fw] = f[y0:y1, x0:x1]
        records.append({
            "filename": f"{stem} {i}.aseprite",
            "frame": {"x": i * w, "y": 0, "w": fw, "h": fh},
            "rotated": False,
            "trimmed": trim,
            "spriteSourceSize": {"x": x0, "y": y0, "w": fw, "h": fh},
            "sourceSize": {"w": w, "h": h},
            "duration": durations[i],
        })
    png = folder / (image_name or f"{stem}.png")
    Image.fromarray(sheet).save(png)
    frames_json = records if form == "array" else {r.pop("filename"): r for r in records}
    doc = {"frames": frames_json,
           "meta": {"app": "https://www.aseprite.org/", "version": "1.3", "image": png.name, "format": "RGBA8888",
                    "size": {"w": w * t, "h": h}, "scale": "1", "frameTags": list(tags), "layers": [], "slices": []}}
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def tag(name: str, start: int, end: int, direction: str = "forward") -> Dict:
    return {"name": name, "from": start, "to": end, "direction": direction, "color": "#000000ff"}
