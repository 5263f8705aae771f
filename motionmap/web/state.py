"""The demo's session state: uploads on disk, decoded clips and ``--all`` jobs in memory, bounded, behind one lock.

Uploads live in one private ``mkdtemp`` folder (named by pid, so the next demo removes the folder of one killed with
SIGKILL) and are deleted with it; every store keeps at most a count and a byte budget of items (oldest dropped
first). Items are found by server-chosen random ids only.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from motionmap.io.atomic import remove_stale_temps
from motionmap.layout import LPC_LAYOUT, SheetLayout
from motionmap.palette import DEFAULT_PALETTE
from motionmap.web.config import DemoConfig
from motionmap.web.responses import HttpError

_ID = re.compile(r"^[0-9a-f]{16}$")
DEMO_WORKDIR_PATTERN = re.compile(r"^motionmap-demo-(\d+)-[^/]+$")


@dataclass
class Upload:
    """A stored upload. kind: ``animation`` (GIF/APNG/zip of frames), ``sheet`` (a sprite sheet, ``layout`` set when
    known) or ``image`` (one frame). ``path``: the server-named file (or frame folder) in the temp folder."""

    id: str
    name: str
    path: Path
    kind: str
    width: int
    height: int
    frames: int
    layout: Optional[SheetLayout] = None
    nbytes: int = 0  # bytes on disk

    def to_json(self) -> dict:
        return {
            "upload": self.id,
            "name": self.name,
            "kind": self.kind,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "layout": None if self.layout is None else layout_json(self.layout),
            "needs_frame_size": self.kind == "sheet" and self.layout is None,
        }


@dataclass
class Clip:
    """Decoded frames ``uint8 [T,H,W,4]`` with durations; ``sheet``/``layout`` set for a whole-sheet result."""

    id: str
    name: str
    frames: np.ndarray
    durations_ms: Tuple[int, ...]
    sheet: Optional[np.ndarray] = None
    layout: Optional[SheetLayout] = None
    info: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        t, h, w = self.frames.shape[:3]
        base = f"/api/clips/{self.id}"
        out = {
            "clip": self.id,
            "name": self.name,
            "frames": int(t),
            "width": int(w),
            "height": int(h),
            "durations_ms": list(self.durations_ms),
            "strip": f"{base}/strip.png",
            "downloads": {fmt: f"{base}/download?format={fmt}" for fmt in self.formats()},
        }
        if self.sheet is not None:
            out["sheet"] = {"width": int(self.sheet.shape[1]), "height": int(self.sheet.shape[0])}
        out.update(self.info)
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of decoded pixels this clip holds in memory."""
        return int(self.frames.nbytes) + (0 if self.sheet is None else int(self.sheet.nbytes))

    def formats(self) -> Tuple[str, ...]:
        return ("sheet", "zip") if self.sheet is not None else ("gif", "sheet", "zip")


@dataclass
class Job:
    """A ``--all`` sheet job: ``state`` queued -> running -> done | error; ``done``/``total`` rows."""

    id: str
    state: str = "queued"
    done: int = 0
    total: int = len(LPC_LAYOUT.rows)
    clip: Optional[str] = None
    error: Optional[str] = None
    started: float = field(default_factory=time.monotonic)
    seconds: Optional[float] = None
    palette: str = DEFAULT_PALETTE

    def to_json(self) -> dict:
        return {"job": self.id, "state": self.state, "done": self.done, "total": self.total, "clip": self.clip,
                "error": self.error, "seconds": self.seconds, "palette": self.palette}


def layout_json(layout: SheetLayout) -> dict:
    """``{frame_width, frame_height, animations: [{name, facings, frames}]}`` for the page's pickers."""
    animations = []
    for name in layout.animation_names:
        rows = [r for r in layout.rows if r.name == name]
        animations.append({"name": name, "facings": [r.facing for r in rows if r.facing is not None],
                           "frames": max(r.frames for r in rows)})
    return {"frame_width": layout.frame_width, "frame_height": layout.frame_height, "animations": animations}


class Session:
    """The stores of one demo app: ``uploads``, ``clips`` and ``jobs`` (``OrderedDict`` s by id, oldest first) and the
    temp folder ``workdir``; ``lock`` guards the stores and the jobs' fields. :meth:`close` deletes the folder."""

    def __init__(self, config: DemoConfig):
        self.config = config
        # Named by pid, so that a demo killed with SIGKILL (no cleanup) has its uploads removed by the next one.
        remove_stale_temps(tempfile.gettempdir(), DEMO_WORKDIR_PATTERN)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"motionmap-demo-{os.getpid()}-"))
        self.lock = threading.RLock()
        self.uploads: "OrderedDict[str, Upload]" = OrderedDict()
        self.clips: "OrderedDict[str, Clip]" = OrderedDict()
        self.jobs: "OrderedDict[str, Job]" = OrderedDict()

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def public_message(self, message: str) -> str:
        """``message`` without the temp folder: the I/O layer names the server's paths; the artist knows the file by
        its own name."""
        return re.sub(re.escape(str(self.workdir)) + r"/?(uploads/[0-9a-f]{16}/?)?", "", message)

    def get(self, store: "OrderedDict[str, Any]", key: object, what: str):
        """The item ``key`` of ``store`` (marked as recently used); 404 for a malformed, unknown or dropped id."""
        if not isinstance(key, str) or not _ID.match(key):
            raise HttpError(404, f"{what} {str(key)[:40]!r}: no such {what}; upload or pick it again")
        with self.lock:
            item = store.get(key)
            if item is None:
                raise HttpError(404, f"{what} {key}: expired or unknown; upload or pick it again")
            store.move_to_end(key)
            return item

    def put(self, store: "OrderedDict[str, Any]", item, keep: int) -> None:
        """Store ``item``; drop the oldest items beyond ``keep``, and beyond the byte caps (uploads on disk:
        ``max_stored_mb``; clips in memory: ``max_clip_memory_mb``). The newest item always stays."""
        cap = (self.config.max_stored_mb if isinstance(item, Upload) else self.config.max_clip_memory_mb) * 2**20
        with self.lock:
            store[item.id] = item
            total = sum(x.nbytes for x in store.values())
            while len(store) > 1 and (len(store) > keep or total > cap):
                _, old = store.popitem(last=False)
                total -= old.nbytes
                if isinstance(old, Upload):
                    shutil.rmtree(old.path.parent, ignore_errors=True)

    def add_job(self, job: Job) -> None:
        """Register a new ``--all`` job; 429 when ``max_pending_jobs`` are already queued or running."""
        with self.lock:
            pending = sum(j.state in ("queued", "running") for j in self.jobs.values())
            if pending >= self.config.max_pending_jobs:
                raise HttpError(429, f"{pending} sheet transfers are already running or waiting; "
                                     "try again when one finishes")
            self.jobs[job.id] = job
            while len(self.jobs) > self.config.keep_clips:
                self.jobs.popitem(last=False)
