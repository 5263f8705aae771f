"""Test inputs for the demo, all drawn by motionmap's own synthetic generator (no LPC art in the repository)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from typing import Any, Optional, Tuple

import numpy as np
from PIL import Image

from motionmap.io.animation import encode_gif
from motionmap.io.sheets import assemble_sheet
from motionmap.layout import LPC_LAYOUT
from motionmap.synth import render_animation, sample_character

# Synthetic actions standing in for the LPC animations, row by row (cut to each LPC row's length).
LPC_STAND_INS = {"spellcast": "cast", "thrust": "attack", "walk": "walk", "slash": "attack", "shoot": "cast",
                 "hurt": "jump"}


def synth_lpc_sheet(seed: int) -> np.ndarray:
    """An LPC-layout sheet ``uint8 [1344,832,4]`` of synthetic character ``seed``."""
    spec = sample_character(seed)
    rows = [render_animation(spec, LPC_STAND_INS[r.name], r.facing or "down")[: r.frames] for r in LPC_LAYOUT.rows]
    return assemble_sheet(rows, LPC_LAYOUT)


def lpc_walk_frame(sheet: np.ndarray, facing: str) -> np.ndarray:
    """The first walk frame of ``facing`` from an LPC sheet: ``uint8 [64,64,4]``."""
    row = LPC_LAYOUT.row_index("walk", facing)
    return np.ascontiguousarray(sheet[row * 64 : (row + 1) * 64, :64])


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


def walk_gif(seed: int = 1, facing: str = "left") -> Tuple[bytes, np.ndarray]:
    """GIF bytes of synthetic character ``seed`` walking (8 frames, 100 ms) and the frames ``uint8 [8,64,64,4]``."""
    frames = render_animation(sample_character(seed), "walk", facing)
    return encode_gif(frames, 100), frames


def frames_zip(frames: np.ndarray, names=None) -> bytes:
    """A zip of PNG frames named ``names`` (default ``walk_1.png``... so natural order matters past 9)."""
    names = names or [f"walk_{i + 1}.png" for i in range(len(frames))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, frame in zip(names, frames):
            zf.writestr(name, png_bytes(frame))
    return buf.getvalue()


def target_frame(seed: int = 2, action: str = "walk", facing: str = "left") -> np.ndarray:
    return render_animation(sample_character(seed), action, facing)[0]


class Client:
    """A tiny HTTP client for the demo's JSON API on loopback."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def request(self, method: str, path: str, data: Optional[bytes] = None,
                headers: Optional[dict] = None) -> Tuple[int, Any, bytes]:
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, ctype, body = r.status, r.headers.get_content_type(), r.read()
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers.get_content_type(), e.read()
        parsed = json.loads(body) if ctype == "application/json" else None
        return status, parsed, body

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, obj: Any):
        return self.request("POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    def upload(self, name: str, data: bytes):
        return self.request("POST", "/api/upload?name=" + urllib.request.quote(name), data,
                            {"Content-Type": "application/octet-stream"})

