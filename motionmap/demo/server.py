"""The artist preview page's server: stdlib ``http.server`` + a JSON API, fully offline, no new dependency.

:class:`DemoApp` holds the model, the uploads (on disk, in one private temp folder), the decoded clips (in memory)
and the ``--all`` sheet jobs; its :meth:`DemoApp.handle` maps one request to one :class:`Response` and is what the
tests call directly. :class:`DemoServer` is an ``HTTPServer`` with a bounded worker pool around it that enforces the
transport-level rules (upload size checked from ``Content-Length`` *before* the body is read, Host/Origin checks,
socket timeouts, at most ``max_connections`` connections at once).

API (all JSON answers; errors are ``{"error": "<one line>"}`` with a 4xx status):

==========  ==================================  ============================================================
method      path                                does
==========  ==================================  ============================================================
GET         ``/``, ``/app.js``, ``/style.css``  the page (local files only; no external URL anywhere)
GET         ``/api/info``                       limits, built-in examples, facings
POST        ``/api/upload?name=FILE``           raw bytes of a GIF/APNG/PNG/zip -> ``{upload, kind, layout...}``
POST        ``/api/clip``                       pick frames from an upload or an example -> ``{clip, frames...}``
POST        ``/api/transfer``                   ``{source: clip, target: clip}`` -> the result clip
GET         ``/api/clips/ID/strip.png``         a clip's frames side by side, ``uint8 [H, T*W, 4]`` (or its sheet)
GET         ``/api/clips/ID/download?format=``  ``gif``, ``sheet`` (PNG) or ``zip`` (PNG frames), as an attachment
POST        ``/api/jobs``                       ``--all``: an LPC source sheet onto a target sheet / 4 facings
GET         ``/api/jobs/ID``                    ``{state, done, total, clip, error}`` (the page polls it)
==========  ==================================  ============================================================

Safety: uploads are stored under server-chosen names (``upload.gif``...) in a ``mkdtemp`` folder removed on close;
the user's file name is only shown, after sanitising (:func:`safe_display_name`). Zip members are validated
(no absolute paths, no ``..``, no links, count/size caps) and written as ``frame_000.png``... Inference runs under
one model thread (:class:`SerialRetargeter`): requests are served in parallel, the model one call at a time, so
results do not depend on how many requests are in flight.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.io.atomic import remove_stale_temps
from motionmap.lpc import natural_key
from motionmap.layout import FACINGS, LPC_LAYOUT, MAX_FRAME_SIDE, SheetLayout
from motionmap.palette import DEFAULT_PALETTE, check_palette

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The only files served from disk: fixed names, never a path built from the request.
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# Everything the page loads comes from this server; inline scripts and other origins are refused by the browser.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
MAX_JSON_BYTES = 64 * 1024
_ID = re.compile(r"^[0-9a-f]{16}$")
DEMO_WORKDIR_PATTERN = re.compile(r"^motionmap-demo-(\d+)-[^/]+$")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a --host value) only listens on this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``motionmap demo`` (its command-line options)."""

    host: str = "127.0.0.1"  # loopback: the page is for the artist at this machine, not the network
    port: int = 7860  # Gradio's habit, so artists' bookmarks carry over; 0 picks a free port
    checkpoint: Optional[Path] = None  # None: the model shipped with the package
    device: str = "cpu"
    refine_steps: Optional[int] = None  # test-time flow refinement (None: the default, 30 steps; 0: off)
    threads: Optional[int] = None  # CPU threads of the model (None: automatic, motionmap.retarget.auto_threads)
    max_upload_mb: float = 8.0  # an LPC sheet PNG is ~0.1-0.5 MB; 8 MB leaves room for long GIFs
    max_frames: int = 64  # LPC's longest row is 13 frames; 64 keeps one CPU transfer under a few seconds
    # Largest frame side retargeted: the model's limit (motionmap.model.budget: its global correlation grows with the
    # square of the pixel count; one 512x512 x 8 transfer asked for 9.4 GB).
    max_frame_side: int = MAX_FRAME_SIDE
    # Largest upload side decoded (a sheet): an 8192 px tall LPC "universal" sheet is the biggest in common use.
    max_image_side: int = 8192
    max_zip_bytes: int = 64 * 1024 * 1024  # uncompressed total of a zip of frames (a zip bomb is refused early)
    keep_uploads: int = 64  # uploads kept on disk; the oldest are deleted beyond this
    max_stored_mb: float = 256.0  # all uploads on disk together; the oldest are deleted beyond this
    keep_clips: int = 256  # decoded clips kept in memory
    # Decoded frames kept in memory, all clips together (one clip is at most 64 frames of 256x256 RGBA, 16 MB; an LPC
    # sheet result 4.5 MB); the oldest clips are dropped beyond this.
    max_clip_memory_mb: float = 512.0
    max_connections: int = 128  # connections served or waiting at once; more get 503 at once
    workers: int = 32  # threads serving connections (a bounded pool, not a thread per connection)
    allow_remote: bool = False  # a non-loopback --host needs this, said explicitly
    max_pending_jobs: int = 4  # --all jobs queued or running at once
    quiet: bool = True  # no per-request log lines

    def __post_init__(self) -> None:
        if not 0 <= int(self.port) <= 65535:
            raise MotionmapError(f"--port {self.port}: not a port number; use 1-65535, or 0 for any free port")
        if not self.max_upload_mb > 0:
            raise MotionmapError(f"--max-upload-mb {self.max_upload_mb}: must be > 0")
        if int(self.max_frames) < 1:
            raise MotionmapError(f"--max-frames {self.max_frames}: must be >= 1")
        if not is_loopback(self.host) and not self.allow_remote:
            raise MotionmapError(f"--host {self.host}: not a loopback address, so anyone who can reach this machine "
                                 "could use the page and its model; add --allow-remote to mean it, or use --host "
                                 "127.0.0.1")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class Response(NamedTuple):
    """One HTTP answer: status code, content type, body bytes and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: Tuple[Tuple[str, str], ...] = ()

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class HttpError(Exception):
    """A request the server refuses (status + one-line message); MotionmapError is the 400 case."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, "application/json", json.dumps(obj).encode("utf-8"), (("Cache-Control", "no-store"),))


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


# ------------------------------------------------------------------------------------------------ names and files


def safe_display_name(name: object, default: str = "upload") -> str:
    """The user's file name reduced to something safe to show and log: its last path part, characters from
    ``[A-Za-z0-9._ -]`` (others become ``_``), no leading dots, at most 80 characters. Never used as a path.

    >>> safe_display_name("../../etc/passwd"), safe_display_name("C:\\\\x\\\\hero<1>.gif"), safe_display_name("")
    ('passwd', 'hero_1_.gif', 'upload')
    """
    text = str(name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = re.sub(r"[^A-Za-z0-9._ -]", "_", text).strip().lstrip(".")
    if len(text) > 80:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: 70] + dot + suffix[:9]) if dot and len(suffix) < 10 else text[:80]
    return text or default


def sniff_kind(head: bytes) -> Optional[str]:
    """File type from its first bytes: ``"gif"``, ``"png"`` or ``"zip"``; ``None`` for anything else."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


# Bytes of chunks a PNG may carry beyond its pixels (palette, colour profile, text) before it counts as padded.
PNG_SLACK_BYTES = 64 * 1024


def honest_size(width: int, height: int, frames: int = 1) -> int:
    """The most bytes an image file of ``frames`` frames of ``width x height`` needs: its pixels stored uncompressed at
    16 bits per RGBA channel, plus :data:`PNG_SLACK_BYTES`. Anything longer is padding (zeros after the image end),
    which would sit on the server's disk for nothing."""
    return frames * (width * height * 8 + height) + PNG_SLACK_BYTES


def check_png_size(data: bytes, what: str) -> None:
    """Refuse a PNG (``data``) longer than :func:`honest_size` of the width and height in its header (IHDR)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise MotionmapError(f"{what}: not a PNG file; zip the PNG frames themselves")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if len(data) > honest_size(width, height):
        raise MotionmapError(f"{what}: {len(data)} bytes for one {width}x{height} frame: padded or damaged; "
                             "re-export the frames")


def extract_frame_zip(data: bytes, out_dir: Path, display: str, max_frames: int, max_total_bytes: int) -> int:
    """Write the PNG frames of a zip as ``out_dir/frame_000.png``... in the natural order of their names.

    Refuses (:class:`MotionmapError`, naming the member) absolute names, ``..`` parts, drive letters, symlinks,
    more than ``max_frames`` PNGs, and an uncompressed total over ``max_total_bytes`` (checked while reading, so a
    lying header does not help). Non-PNG members (``__MACOSX/``, ``Thumbs.db``, text) are ignored. Returns the
    frame count.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise MotionmapError(f"{display}: not a readable zip ({e}); zip the PNG frames again") from None
    frames = []
    for info in infos:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise MotionmapError(
                f"{display}: member {safe_display_name(name)!r} has an unsafe path ({name[:60]!r}); "
                "zip the frames without absolute or '..' paths"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise MotionmapError(f"{display}: member {name[:60]!r} is a symbolic link; zip the frame files themselves")
        if info.is_dir() or parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue
        if parts[-1].lower().endswith(".png"):
            frames.append(info)
    if not frames:
        raise MotionmapError(f"{display}: no PNG frames in this zip; zip numbered frames (frame_000.png, ...)")
    if len(frames) > max_frames:
        raise MotionmapError(
            f"{display}: {len(frames)} frames is more than this demo's limit of {max_frames}; "
            "use fewer frames, or restart the demo with a larger --max-frames"
        )
    frames.sort(key=lambda i: natural_key(i.filename))
    out_dir.mkdir(parents=True, exist_ok=False)
    budget = max_total_bytes
    digits = max(3, len(str(len(frames) - 1)))
    for k, info in enumerate(frames):
        if info.file_size > budget:
            raise MotionmapError(f"{display}: frames unpack to more than {max_total_bytes // 2**20} MB; zip smaller frames")
        try:
            with zf.open(info) as src:
                chunk = src.read(budget + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as e:
            raise MotionmapError(f"{display}: cannot unpack {info.filename[:60]!r} ({e}); zip the frames again") from None
        if len(chunk) > budget:
            raise MotionmapError(f"{display}: frames unpack to more than {max_total_bytes // 2**20} MB; zip smaller frames")
        check_png_size(chunk, f"{display}: member {safe_display_name(info.filename)!r}")
        budget -= len(chunk)
        (out_dir / f"frame_{k:0{digits}d}.png").write_bytes(chunk)
    return len(frames)


# ------------------------------------------------------------------------------------------------ model


class SerialRetargeter:
    """A :class:`~motionmap.retarget.Retargeter` whose ``retarget`` calls all run, one at a time, on one long-lived
    worker thread.

    One at a time: torch on 2-16 CPU cores gains nothing from parallel forward passes of one small model, memory stays
    bounded, and results are bit-identical however many requests arrive together. One long-lived thread rather than
    a lock around calls from each connection's fresh thread: torch's OpenMP pool belongs to the calling thread. The
    thread is shared by every demo app in the process. Other attributes pass through.
    """

    _shared_worker: Optional[ThreadPoolExecutor] = None
    _shared_lock = threading.Lock()

    def __init__(self, retargeter):
        self._inner = retargeter
        with SerialRetargeter._shared_lock:
            if SerialRetargeter._shared_worker is None:
                SerialRetargeter._shared_worker = ThreadPoolExecutor(max_workers=1,
                                                                     thread_name_prefix="motionmap-demo-model")
        self._worker = SerialRetargeter._shared_worker

    def _run(self, source_frames, target, args, kwargs):
        import torch

        with torch.inference_mode():
            return self._inner.retarget(source_frames, target, *args, **kwargs)

    def retarget(self, source_frames: np.ndarray, target: np.ndarray, *args, **kwargs) -> np.ndarray:
        """Same contract as :meth:`Retargeter.retarget`; blocks until this call's turn has run."""
        return self._worker.submit(self._run, source_frames, target, args, kwargs).result()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


# ------------------------------------------------------------------------------------------------ state


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


def encode_png(image: np.ndarray) -> bytes:
    """``uint8 [H,W,3|4]`` -> PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


def frames_strip(frames: np.ndarray) -> np.ndarray:
    """``uint8 [T,H,W,C]`` -> one row ``uint8 [H,T*W,C]`` (a one-animation sprite sheet)."""
    t, h, w, c = frames.shape
    return np.ascontiguousarray(frames.transpose(1, 0, 2, 3).reshape(h, t * w, c))


def _palette(spec: Mapping[str, Any]) -> str:
    """The request's ``"palette"`` option (:mod:`motionmap.palette`): ``target`` (default) or ``off``."""
    return check_palette(spec.get("palette", DEFAULT_PALETTE), "palette")  # a JSON list is no palette here


def _str(spec: Mapping[str, Any], key: str, required: bool = False) -> Optional[str]:
    value = spec.get(key)
    if value in (None, ""):
        if required:
            raise MotionmapError(f"request: missing {key!r}; choose one in the page")
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise MotionmapError(f"request: {key!r} must be a short text, got {str(value)[:40]!r}")
    return value


# ------------------------------------------------------------------------------------------------ the app


class DemoApp:
    """The demo's state and request handling, independent of the socket layer.

    retargeter: a :class:`~motionmap.retarget.Retargeter` (wrapped in :class:`SerialRetargeter` here).
    ``handle(method, path, query, body)`` -> :class:`Response`; :meth:`close` deletes the temp folder.
    """

    def __init__(self, config: DemoConfig, retargeter, checkpoint_name: str = "default model"):
        self.config = config
        self.retargeter = SerialRetargeter(retargeter)
        self.checkpoint_name = checkpoint_name
        # Named by pid, so that a demo killed with SIGKILL (no cleanup) has its uploads removed by the next one.
        remove_stale_temps(tempfile.gettempdir(), DEMO_WORKDIR_PATTERN)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"motionmap-demo-{os.getpid()}-"))
        self._lock = threading.RLock()  # guards the three stores below and the jobs' fields
        self._uploads: "OrderedDict[str, Upload]" = OrderedDict()
        self._clips: "OrderedDict[str, Clip]" = OrderedDict()
        self._jobs: "OrderedDict[str, Job]" = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motionmap-demo-job")
        self._routes: Dict[Tuple[str, str], Callable[..., Response]] = {
            ("GET", "/api/info"): self.api_info,
            ("POST", "/api/upload"): self.api_upload,
            ("POST", "/api/clip"): self.api_clip,
            ("POST", "/api/transfer"): self.api_transfer,
            ("POST", "/api/jobs"): self.api_jobs,
        }

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- dispatch ---------------------------------------------------------------------------------------------------
    def body_limit(self, method: str, path: str) -> int:
        """Largest request body accepted for ``path`` (bytes); checked against Content-Length before reading."""
        if method == "POST" and path == "/api/upload":
            return self.config.max_upload_bytes
        return MAX_JSON_BYTES

    def handle(self, method: str, path: str, query: Optional[Mapping[str, List[str]]] = None,
               body: bytes = b"") -> Response:
        """Answer one request. Never raises: bad input is a 4xx JSON error, a bug a 500 with a short message."""
        query = query or {}
        try:
            if len(body) > self.body_limit(method, path):
                raise HttpError(413, self._too_large_message(path, len(body)))
            return self._route(method, path, query, body)
        except HttpError as e:
            return error_response(e.status, str(e))
        except MotionmapError as e:
            return error_response(400, self._public_message(str(e)))
        except Exception as e:  # noqa: BLE001 - a bug must not kill the server; log it, say so in one line
            traceback.print_exc(file=sys.stderr)
            return error_response(500, f"internal error ({type(e).__name__}); see the terminal running motionmap demo")

    def _too_large_message(self, path: str, size: int) -> str:
        if path == "/api/upload":
            return (f"upload of {size / 2**20:.1f} MB is over this demo's limit of {self.config.max_upload_mb:g} MB; "
                    "use a smaller file, or restart the demo with a larger --max-upload-mb")
        return f"request body of {size} bytes is too large for {path}"

    def _public_message(self, message: str) -> str:
        # Messages from the I/O layer name the server's temp path; the artist knows the file by its own name.
        return re.sub(re.escape(str(self.workdir)) + r"/?(uploads/[0-9a-f]{16}/?)?", "", message)

    def _route(self, method: str, path: str, query: Mapping[str, List[str]], body: bytes) -> Response:
        if path in STATIC_FILES:
            if method != "GET":
                raise HttpError(405, f"{method} not allowed on {path}")
            filename, ctype = STATIC_FILES[path]
            return Response(200, ctype, (STATIC_DIR / filename).read_bytes(), (("Cache-Control", "no-cache"),))
        if path == "/favicon.ico":
            return Response(204, "image/x-icon", b"")
        handler = self._routes.get((method, path))
        if handler is not None:
            if method == "POST" and path != "/api/upload":
                return handler(self._parse_json(body))
            if path == "/api/upload":
                return handler(query, body)
            return handler()
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["api", "clips"] and method == "GET":
            clip = self._get(self._clips, parts[2], "clip")
            if parts[3] == "strip.png":
                image = clip.sheet if clip.sheet is not None else frames_strip(clip.frames)
                return Response(200, "image/png", encode_png(image), (("Cache-Control", "no-store"),))
            if parts[3] == "download":
                return self.download(clip, (query.get("format") or ["gif"])[0])
        if len(parts) == 3 and parts[:2] == ["api", "jobs"] and method == "GET":
            with self._lock:
                job = self._get(self._jobs, parts[2], "job")
                return json_response(job.to_json())
        if any(path == p for (_, p) in self._routes):
            raise HttpError(405, f"{method} not allowed on {path}")
        raise HttpError(404, f"{path}: no such page or API endpoint")

    @staticmethod
    def _parse_json(body: bytes) -> Mapping[str, Any]:
        try:
            obj = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            # ValueError: malformed JSON, and integers over Python's digit limit; RecursionError: deep nesting
            # ("[[[[..."). All are bad requests, not server errors.
            raise MotionmapError(f"request: not valid JSON ({e.__class__.__name__}); reload the page") from None
        if not isinstance(obj, dict):
            raise MotionmapError("request: expected a JSON object; reload the page")
        return obj

    def _get(self, store: "OrderedDict[str, Any]", key: object, what: str):
        if not isinstance(key, str) or not _ID.match(key):
            raise HttpError(404, f"{what} {str(key)[:40]!r}: no such {what}; upload or pick it again")
        with self._lock:
            item = store.get(key)
            if item is None:
                raise HttpError(404, f"{what} {key}: expired or unknown; upload or pick it again")
            store.move_to_end(key)
            return item

    def _put(self, store: "OrderedDict[str, Any]", item, keep: int) -> None:
        """Store ``item``; drop the oldest items beyond ``keep``, and beyond the byte caps (uploads on disk:
        ``max_stored_mb``; clips in memory: ``max_clip_memory_mb``). The newest item always stays."""
        cap = (self.config.max_stored_mb if isinstance(item, Upload) else self.config.max_clip_memory_mb) * 2**20
        with self._lock:
            store[item.id] = item
            total = sum(x.nbytes for x in store.values())
            while len(store) > 1 and (len(store) > keep or total > cap):
                _, old = store.popitem(last=False)
                total -= old.nbytes
                if isinstance(old, Upload):
                    shutil.rmtree(old.path.parent, ignore_errors=True)

    # -- endpoints --------------------------------------------------------------------------------------------------
    def api_info(self) -> Response:
        from motionmap import __version__
        from motionmap.demo.examples import example_catalog

        return json_response({
            "version": __version__,
            "checkpoint": self.checkpoint_name,
            "limits": {"max_upload_mb": self.config.max_upload_mb, "max_frames": self.config.max_frames,
                       "max_frame_side": self.config.max_frame_side},
            "examples": example_catalog(),
            "facings": list(FACINGS),
            "lpc": layout_json(LPC_LAYOUT),
        })

    def api_upload(self, query: Mapping[str, List[str]], body: bytes) -> Response:
        name = safe_display_name((query.get("name") or ["upload"])[0])
        if not body:
            raise MotionmapError(f"{name}: empty file; pick the file again")
        kind = sniff_kind(body[:16])
        if kind is None:
            raise MotionmapError(f"{name}: not a GIF, PNG or zip file; upload an animation (GIF/APNG), "
                                 "a sprite sheet or image (PNG), or a zip of PNG frames")
        uid = secrets.token_hex(8)
        folder = self.workdir / "uploads" / uid
        folder.mkdir(parents=True)
        try:
            upload = self._inspect_upload(uid, name, folder, kind, body)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        upload.nbytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        self._put(self._uploads, upload, self.config.keep_uploads)
        return json_response(upload.to_json())

    def _inspect_upload(self, uid: str, name: str, folder: Path, kind: str, body: bytes) -> Upload:
        from PIL import Image

        from motionmap.io.animation import read_animation, read_frame_folder
        from motionmap.io.images import check_image_file, read_image

        cfg = self.config
        if kind == "zip":
            frames_dir = folder / name_without_suffix(name)
            n = extract_frame_zip(body, frames_dir, name, cfg.max_frames, cfg.max_zip_bytes)
            anim = read_frame_folder(frames_dir)
            t, h, w = anim.frames.shape[:3]
            self._check_frame_size(name, w, h)
            return Upload(uid, name, frames_dir, "animation", w, h, n)
        path = folder / f"upload.{kind}"
        path.write_bytes(body)
        width, height = check_image_file(path)  # header only: refuses decompression bombs before decoding

        path = path.rename(folder / _named_like(name, kind))  # so the I/O layer's messages show the artist's name
        if max(width, height) > cfg.max_image_side:
            raise MotionmapError(f"{name}: {width}x{height} is larger than this demo accepts "
                                 f"({cfg.max_image_side} px a side); crop or split it")
        try:
            with Image.open(path) as im:
                n_frames = int(getattr(im, "n_frames", 1))
        except Exception as e:  # noqa: BLE001 - any decoder failure means an unreadable file
            raise MotionmapError(f"{name}: not a readable image ({type(e).__name__}); re-export it") from None
        if len(body) > honest_size(width, height, min(n_frames, cfg.max_frames)):  # never kept on disk padded
            raise MotionmapError(f"{name}: {len(body) / 2**20:.1f} MB for {n_frames} frame(s) of {width}x{height}: "
                                 "padded or damaged; re-export it")
        if n_frames > 1:
            if n_frames > cfg.max_frames:
                raise MotionmapError(
                    f"{name}: {n_frames} frames is more than this demo's limit of {cfg.max_frames}; "
                    "trim the animation, or restart the demo with a larger --max-frames"
                )
            self._check_frame_size(name, width, height)
            read_animation(path)  # decode once now, so a truncated file is reported at upload, not later
            return Upload(uid, name, path, "animation", width, height, n_frames)
        read_image(path)
        layout = auto_layout(width, height)
        if layout is not None:
            return Upload(uid, name, path, "sheet", width, height, 1, layout)
        if max(width, height) <= cfg.max_frame_side:
            return Upload(uid, name, path, "image", width, height, 1)
        return Upload(uid, name, path, "sheet", width, height, 1)  # a grid sheet: the page asks for the frame size

    def _check_frame_size(self, name: str, width: int, height: int) -> None:
        side = self.config.max_frame_side
        if max(width, height) > side:
            raise MotionmapError(f"{name}: frames of {width}x{height} are larger than this demo retargets "
                                 f"({side} px a side); scale the animation down")

    def _check_frame_count(self, name: str, n: int) -> None:
        if n > self.config.max_frames:
            raise MotionmapError(
                f"{name}: {n} frames is more than this demo's limit of {self.config.max_frames}; "
                "trim the animation, or restart the demo with a larger --max-frames"
            )

    def api_clip(self, spec: Mapping[str, Any]) -> Response:
        clip = self.resolve_clip(spec)
        self._put(self._clips, clip, self.config.keep_clips)
        return json_response(clip.to_json())

    def resolve_clip(self, spec: Mapping[str, Any]) -> Clip:
        """Frames for one side of a transfer.

        spec: ``{"role": "source"|"target", "upload": ID | "example": {"character", "action", "facing"},
        "animation": NAME, "facing": F, "frame_size": "WxH"}``. A target is one frame: an image, the first frame of
        an animation, or from a sheet the first frame of ``animation`` (default the reference walk) in ``facing``.
        """
        from motionmap.io.animation import DEFAULT_DURATION_MS, Animation

        role = _str(spec, "role") or "source"
        if role not in ("source", "target"):
            raise MotionmapError(f"request: role {role!r} must be 'source' or 'target'")
        animation, facing, frame_size = _str(spec, "animation"), _str(spec, "facing"), _str(spec, "frame_size")
        if facing is not None and facing not in FACINGS:
            raise MotionmapError(f"facing {facing!r}: unknown; choose one of {', '.join(FACINGS)}")
        example = spec.get("example")
        if example is not None:
            if not isinstance(example, dict):
                raise MotionmapError("request: 'example' must be an object {character, action, facing}")
            return self._example_clip(role, example)
        upload = self._get(self._uploads, spec.get("upload"), "upload")
        if role == "source":
            anim = self._source_animation(upload, animation, facing, frame_size)
            label = upload.name + (f" · {animation}" + (f"/{facing}" if facing else "") if animation else "")
        else:
            image, label = self._target_image(upload, animation, facing, frame_size)
            anim = Animation(image[None], (DEFAULT_DURATION_MS,))
        self._check_frame_count(upload.name, len(anim))
        h, w = anim.frames.shape[1:3]
        self._check_frame_size(upload.name, w, h)
        return Clip(secrets.token_hex(8), label, anim.frames, anim.durations_ms)

    def _example_clip(self, role: str, example: Mapping[str, Any]) -> Clip:
        from motionmap.demo.examples import EXAMPLE_CHARACTERS, example_animation, example_target
        from motionmap.io.animation import DEFAULT_DURATION_MS

        character = _str(example, "character", required=True)
        action = _str(example, "action") or "walk"
        facing = _str(example, "facing") or "down"
        names = {c.id: c.name for c in EXAMPLE_CHARACTERS}
        if role == "source":
            anim = example_animation(character, action, facing)
            return Clip(secrets.token_hex(8), f"{names[character]} · {action}/{facing}", anim.frames,
                        anim.durations_ms)
        image = example_target(character, action, facing)
        return Clip(secrets.token_hex(8), f"{names[character]} ({action}/{facing} pose)", image[None],
                    (DEFAULT_DURATION_MS,))

    def _source_animation(self, upload: Upload, animation: Optional[str], facing: Optional[str],
                          frame_size: Optional[str]):
        from motionmap.io.animation import Animation, read_animation
        from motionmap.io.images import read_image
        from motionmap.io.sheets import animation_from_sheet

        if upload.kind == "animation":
            return read_animation(upload.path)
        if upload.kind == "image" and animation is None:
            return Animation.uniform(read_image(upload.path)[None])
        layout = self._sheet_layout(upload, frame_size)
        if animation is None:
            raise MotionmapError(f"{upload.name}: is a sprite sheet; pick an animation "
                                 f"({', '.join(layout.animation_names[:12])})")
        sheet = read_image(upload.path)
        frames = animation_from_sheet(sheet, layout, animation, facing, name_for_errors=upload.name)
        return Animation.uniform(frames)

    def _sheet_layout(self, upload: Upload, frame_size: Optional[str]) -> SheetLayout:
        from motionmap.io.sheets import detect_layout

        if frame_size is None and upload.layout is not None:
            return upload.layout
        if frame_size is None:
            raise MotionmapError(f"{upload.name}: {upload.width}x{upload.height} is not an LPC sheet; "
                                 "give the frame size of this grid sheet, e.g. 64x64")
        return detect_layout(upload.width, upload.height, frame_size, name_for_errors=upload.name)

    def _target_image(self, upload: Upload, animation: Optional[str], facing: Optional[str],
                      frame_size: Optional[str]) -> Tuple[np.ndarray, str]:
        from motionmap.io.animation import read_animation
        from motionmap.io.images import read_image
        from motionmap.io.sheets import first_frame
        from motionmap.transfer import load_target_frame

        if upload.kind == "animation":
            return read_animation(upload.path).frames[0], f"{upload.name} (first frame)"
        if upload.kind == "image" and frame_size is None:
            return read_image(upload.path), upload.name
        layout = self._sheet_layout(upload, frame_size)  # a readable error when a grid sheet has no frame size
        if layout is not LPC_LAYOUT and layout.rows[0].facing is not None:
            # A known layout with facings (motionmap's synthetic sheet): the source's animation, else the first row.
            names = layout.animation_names
            wanted = animation if animation in names else names[0]
            facings = layout.facings_of(wanted)
            row = layout.row_index(wanted, facing if facing in facings else facings[0])
            image = first_frame(read_image(upload.path), layout, row)
            return image, f"{upload.name} · {wanted}/{layout.rows[row].facing} frame 1"
        picked = load_target_frame(upload.path, facing=facing or "down", frame_size=frame_size, animation=animation)
        where = "/".join(p for p in (picked.animation, picked.facing) if p)
        return picked.image, f"{upload.name} · {where} frame 1" if where else upload.name

    def api_transfer(self, spec: Mapping[str, Any]) -> Response:
        from motionmap.transfer import retarget_animation
        from motionmap.io.animation import Animation

        source = self._get(self._clips, spec.get("source"), "clip")
        target = self._get(self._clips, spec.get("target"), "clip")
        if source.sheet is not None:
            raise MotionmapError("source: is a whole-sheet result; pick one animation as the source")
        palette = _palette(spec)
        started = time.perf_counter()
        result = retarget_animation(self.retargeter, Animation(source.frames, source.durations_ms), target.frames[0],
                                    palette=palette)
        seconds = time.perf_counter() - started
        clip = Clip(secrets.token_hex(8), "result", result.frames, result.durations_ms,
                    info={"seconds": round(seconds, 3), "palette": palette})
        self._put(self._clips, clip, self.config.keep_clips)
        return json_response(clip.to_json())

    def download(self, clip: Clip, fmt: str) -> Response:
        """The clip as ``gif`` (looping, source durations), ``sheet`` (PNG) or ``zip`` (PNG frames) attachment."""
        from motionmap.io.animation import encode_gif

        stem = "motionmap_result"
        if fmt not in clip.formats():
            raise MotionmapError(f"format {fmt[:20]!r}: this result downloads as {' or '.join(clip.formats())}")
        if fmt == "gif":
            body, ctype, filename = encode_gif(clip.frames, clip.durations_ms), "image/gif", f"{stem}.gif"
        elif fmt == "sheet":
            image = clip.sheet if clip.sheet is not None else frames_strip(clip.frames)
            body, ctype, filename = encode_png(image), "image/png", f"{stem}_sheet.png"
        else:
            body, ctype, filename = self._zip(clip), "application/zip", f"{stem}_frames.zip"
        return Response(200, ctype, body, (("Content-Disposition", f'attachment; filename="{filename}"'),
                                           ("Cache-Control", "no-store")))

    @staticmethod
    def _zip(clip: Clip) -> bytes:
        from motionmap.io.sheets import slice_sheet

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            if clip.sheet is not None and clip.layout is not None:
                for spec, frames in zip(clip.layout.rows, slice_sheet(clip.sheet, clip.layout)):
                    if not frames[..., 3].any():
                        continue  # a row the source sheet does not have
                    folder = spec.name + (f"_{spec.facing}" if spec.facing else "")
                    for i, frame in enumerate(frames):
                        zf.writestr(f"{folder}/frame_{i:03d}.png", encode_png(frame))
            else:
                for i, frame in enumerate(clip.frames):
                    zf.writestr(f"frame_{i:03d}.png", encode_png(frame))
        return buf.getvalue()

    # -- --all jobs -------------------------------------------------------------------------------------------------
    def api_jobs(self, spec: Mapping[str, Any]) -> Response:
        """Start ``--all``: ``{"source": UPLOAD (LPC sheet), "target": UPLOAD (sheet)}`` or
        ``{"source": UPLOAD, "targets": {"up": UPLOAD, "left": ..., "down": ..., "right": ...}}``, with an optional
        ``"palette": "target"|"off"`` (palette lock, default target)."""
        from motionmap.io.images import read_image
        from motionmap.transfer import check_target_size, load_facing_targets

        palette = _palette(spec)
        source = self._get(self._uploads, spec.get("source"), "upload")
        if source.layout is not LPC_LAYOUT:
            lw, lh = LPC_LAYOUT.size
            raise MotionmapError(f"{source.name}: {source.width}x{source.height} is not an LPC sheet ({lw}x{lh}); "
                                 "the whole-sheet transfer needs an LPC source sheet")
        targets_spec = spec.get("targets")
        if targets_spec is not None:
            if not isinstance(targets_spec, dict) or sorted(targets_spec) != sorted(FACINGS):
                raise MotionmapError(f"targets: need one image per facing ({', '.join(FACINGS)})")
            uploads = [self._get(self._uploads, targets_spec[f], "upload") for f in FACINGS]
            targets = {}
            for f, up in zip(FACINGS, uploads):
                image, _ = self._target_image(up, None, f, None)
                check_target_size(image, (LPC_LAYOUT.frame_height, LPC_LAYOUT.frame_width), name=f"{up.name} ({f})")
                targets[f] = image
        else:
            target = self._get(self._uploads, spec.get("target"), "upload")
            if target.kind != "sheet":
                raise MotionmapError(f"{target.name}: give an LPC sheet as the target, or one image per facing")
            targets = load_facing_targets(target.path)
        sheet = read_image(source.path)
        with self._lock:
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= self.config.max_pending_jobs:
                raise HttpError(429, f"{pending} sheet transfers are already running or waiting; "
                                     "try again when one finishes")
            job = Job(secrets.token_hex(8), palette=palette)
            self._jobs[job.id] = job
            while len(self._jobs) > self.config.keep_clips:
                self._jobs.popitem(last=False)
        self._executor.submit(self._run_job, job, source.name, sheet, targets)
        return json_response(job.to_json(), 202)

    def _run_job(self, job: Job, name: str, sheet: np.ndarray, targets: Dict[str, np.ndarray]) -> None:
        from motionmap.transfer import retarget_lpc_sheet

        def on_row(done: int, total: int) -> None:
            with self._lock:
                job.done, job.total = int(done), int(total)

        with self._lock:
            job.state, job.started = "running", time.monotonic()
        try:
            # progress: called as on_row(rows_done, rows_total) after each row (a bool only turns a tqdm bar on/off).
            result = retarget_lpc_sheet(self.retargeter, sheet, targets, progress=on_row, palette=job.palette)
            frames = result[: LPC_LAYOUT.frame_height, : LPC_LAYOUT.frame_width][None]  # a stand-in first frame
            clip = Clip(secrets.token_hex(8), f"{name} (all animations)", np.ascontiguousarray(frames), (100,),
                        sheet=result, layout=LPC_LAYOUT, info={"palette": job.palette})
            self._put(self._clips, clip, self.config.keep_clips)
            with self._lock:
                job.state, job.clip, job.done = "done", clip.id, job.total
        except MotionmapError as e:
            with self._lock:
                job.state, job.error = "error", self._public_message(str(e))
        except Exception as e:  # noqa: BLE001 - report a bug in the page rather than hang the progress bar
            traceback.print_exc(file=sys.stderr)
            with self._lock:
                job.state, job.error = "error", f"internal error ({type(e).__name__}); see the terminal"
        finally:
            with self._lock:
                job.seconds = round(time.monotonic() - job.started, 2)


def name_without_suffix(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return safe_display_name(stem, default="frames")


def _named_like(name: str, kind: str) -> str:
    """A file name for the upload: the artist's (sanitised) stem with the sniffed type's suffix."""
    suffix = {"gif": ".gif", "png": ".png"}[kind]
    return name_without_suffix(name)[:60] + suffix


def auto_layout(width: int, height: int) -> Optional[SheetLayout]:
    """The layout of a sheet recognised by size alone: LPC (832x1344 and taller) or motionmap's synthetic sheet."""
    from motionmap.io.sheets import is_lpc_size
    from motionmap.synth import SYNTH_LAYOUT

    if is_lpc_size(width, height):
        return LPC_LAYOUT
    if (width, height) == SYNTH_LAYOUT.size:
        return SYNTH_LAYOUT
    return None


# ------------------------------------------------------------------------------------------------ HTTP layer


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Thin socket layer: Host/Origin checks, body size from Content-Length, then :meth:`DemoApp.handle`."""

    server_version = "motionmap-demo"
    sys_version = ""
    timeout = 60  # seconds a client may stall mid-request before the thread gives up on it
    server: "DemoServer"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._send(error_response(405, "PUT not allowed"))

    do_DELETE = do_PATCH = do_PUT

    def _serve(self, method: str) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        refusal = self._check_origin(method)
        if refusal is not None:
            self.close_connection = True
            self._send(error_response(403, refusal))
            return
        body = b""
        if method == "POST":
            length_text = self.headers.get("Content-Length")
            if length_text is None or not length_text.strip().isdigit():
                self.close_connection = True
                self._send(error_response(411, "request needs a Content-Length header; upload the file from the page"))
                return
            length = int(length_text)
            if length > app.body_limit(method, path):
                # Refuse before reading the body, and close: the unread bytes must not be parsed as a request.
                self.close_connection = True
                self._send(error_response(413, app._too_large_message(path, length)))
                return
            body = self.rfile.read(length)
            if len(body) != length:
                self.close_connection = True
                self._send(error_response(400, "request body ended early; try the upload again"))
                return
        self._send(app.handle(method, path, query, body))

    def _check_origin(self, method: str) -> Optional[str]:
        """Refuse other sites' pages (Origin) and DNS-rebinding names (Host): only the names this server answers to
        (:attr:`DemoServer.allowed_hosts`), also when it listens beyond loopback."""
        host = (self.headers.get("Host") or "").strip()
        try:
            hostname = (urlsplit(f"//{host}").hostname or "").lower()
        except ValueError:  # "[" and other unparsable names
            hostname = ""
        if hostname not in self.server.allowed_hosts:
            return f"Host {host[:60]!r} not allowed; open the page at {self.server.url}"
        origin = self.headers.get("Origin")
        if origin is not None and method != "GET" and urlsplit(origin).netloc != host:
            return f"requests from {origin[:60]!r} are not allowed; use the page served by motionmap demo"
        return None

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in response.headers:
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        if not self.server.config.quiet:
            super().log_message(format, *args)


class DemoServer(HTTPServer):
    """``HTTPServer`` serving a :class:`DemoApp` from a bounded pool of ``config.workers`` threads.

    At most ``config.max_connections`` connections are served or waiting for a worker at once; one more is answered
    503 at once and closed (a flood of connections cannot grow threads or memory without bound). Requests on one
    keep-alive connection are served by one worker in turn.
    """

    request_queue_size = 64  # a burst of parallel requests must queue in the kernel, not be refused

    def __init__(self, app: DemoApp):
        import socket

        self.app = app
        self.config = app.config
        host = app.config.host
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, int(app.config.port)), DemoRequestHandler)
        except OSError as e:
            app.close()
            if e.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise MotionmapError(f"--port {app.config.port}: already in use; pick another with --port, "
                                     "or --port 0 for any free port") from None
            raise MotionmapError(f"--host {host}: cannot listen there ({e.strerror or e}); "
                                 "use --host 127.0.0.1") from None
        self.port = int(self.server_address[1])
        self.allowed_hosts = allowed_host_names(host)
        self._slots = threading.BoundedSemaphore(int(app.config.max_connections))
        self._pool = ThreadPoolExecutor(max_workers=int(app.config.workers), thread_name_prefix="motionmap-demo-http")

    def process_request(self, request, client_address) -> None:
        """Hand the connection to the pool, or answer 503 when ``max_connections`` are already in."""
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: 58\r\n\r\n"
                                b'{"error": "the demo is busy; try again in a few seconds."}')
            except OSError:
                pass
            self.shutdown_request(request)
            return
        self._pool.submit(self._serve_connection, request, client_address)

    def _serve_connection(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one broken connection must not stop the worker
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    def server_close(self) -> None:
        super().server_close()
        pool = getattr(self, "_pool", None)  # absent when binding failed in __init__
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.app.close()


def allowed_host_names(host: str) -> frozenset:
    """Names a browser may send in ``Host`` to this server: the loopback names, the ``--host`` given, and for a
    wildcard ``--host`` (0.0.0.0, ::) this machine's own names and addresses. Any other name (``evil.example``
    resolving to this machine: DNS rebinding) is refused."""
    import socket

    names = set(LOOPBACK_HOSTS) | {host.lower().strip("[]")}
    if host in WILDCARD_HOSTS:
        for name in (socket.gethostname(), socket.getfqdn()):
            names.add(name.lower())
            try:
                names.update(info[4][0] for info in socket.getaddrinfo(name, None))
            except OSError:
                pass
    return frozenset(n for n in names if n)


def make_server(config: DemoConfig, retargeter=None) -> DemoServer:
    """Load the model (unless given) and bind the server; does not start serving. Raises :class:`MotionmapError`
    for a bad checkpoint or a port in use."""
    if retargeter is None:
        from motionmap.transfer import load_retargeter

        retargeter = load_retargeter(config.checkpoint, device=config.device, refine_steps=config.refine_steps,
                                     threads=config.threads)
    name = Path(config.checkpoint).name if config.checkpoint is not None else "default model"
    return DemoServer(DemoApp(config, retargeter, checkpoint_name=name))


def serve_in_thread(server: DemoServer) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread (tests, notebooks); stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="motionmap-demo")
    thread.start()
    return thread
