"""The demo's routes: :class:`DemoApp` maps one request to one :class:`~motionmap.web.responses.Response`.

It is independent of the socket layer (:mod:`motionmap.web.server`) and is what the tests call directly. Uploads are
checked by :mod:`~motionmap.web.uploads`, clips resolved by :mod:`~motionmap.web.clips`, everything kept in a
:class:`~motionmap.web.state.Session`; transfers go through the retargeting core (:mod:`motionmap.core`) on the
one model thread (:class:`~motionmap.web.model_thread.SerialRetargeter`).
"""

from __future__ import annotations

import io
import json
import secrets
import sys
import time
import traceback
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from motionmap import __version__
from motionmap.core import check_target_size, load_facing_targets, retarget_animation, retarget_lpc_sheet
from motionmap.errors import MotionmapError
from motionmap.io.animation import Animation, encode_gif
from motionmap.io.images import encode_png, read_image
from motionmap.io.names import safe_display_name
from motionmap.io.sheets import frames_strip, slice_sheet
from motionmap.layout import FACINGS, LPC_LAYOUT
from motionmap.palette import DEFAULT_PALETTE, check_palette
from motionmap.web.clips import resolve_clip, target_image
from motionmap.web.config import DemoConfig
from motionmap.web.examples import example_catalog
from motionmap.web.model_thread import SerialRetargeter
from motionmap.web.responses import HttpError, Response, error_response, json_response
from motionmap.web.state import Clip, Job, Session, layout_json
from motionmap.web.uploads import receive_upload

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The only files served from disk: fixed names, never a path built from the request.
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
MAX_JSON_BYTES = 64 * 1024


def _palette(spec: Mapping[str, Any]) -> str:
    """The request's ``"palette"`` option (:mod:`motionmap.palette`): ``target`` (default) or ``off``."""
    return check_palette(spec.get("palette", DEFAULT_PALETTE), "palette")  # a JSON list is no palette here


class DemoApp:
    """The demo's state and request handling, independent of the socket layer.

    retargeter: a :class:`~motionmap.retarget.Retargeter` (wrapped in :class:`SerialRetargeter` here).
    ``handle(method, path, query, body)`` -> :class:`Response`; :meth:`close` deletes the temp folder
    (``workdir``, the :class:`~motionmap.web.state.Session` 's).
    """

    def __init__(self, config: DemoConfig, retargeter, checkpoint_name: str = "default model"):
        self.config = config
        self.retargeter = SerialRetargeter(retargeter)
        self.checkpoint_name = checkpoint_name
        self.session = Session(config)
        self.workdir = self.session.workdir
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
        self.session.close()

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
            return error_response(400, self.session.public_message(str(e)))
        except Exception as e:  # noqa: BLE001 - a bug must not kill the server; log it, say so in one line
            traceback.print_exc(file=sys.stderr)
            return error_response(500, f"internal error ({type(e).__name__}); see the terminal running motionmap demo")

    def _too_large_message(self, path: str, size: int) -> str:
        if path == "/api/upload":
            return (f"upload of {size / 2**20:.1f} MB is over this demo's limit of {self.config.max_upload_mb:g} MB; "
                    "use a smaller file, or restart the demo with a larger --max-upload-mb")
        return f"request body of {size} bytes is too large for {path}"

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
            clip = self.session.get(self.session.clips, parts[2], "clip")
            if parts[3] == "strip.png":
                image = clip.sheet if clip.sheet is not None else frames_strip(clip.frames)
                return Response(200, "image/png", encode_png(image), (("Cache-Control", "no-store"),))
            if parts[3] == "download":
                return self.download(clip, (query.get("format") or ["gif"])[0])
        if len(parts) == 3 and parts[:2] == ["api", "jobs"] and method == "GET":
            with self.session.lock:
                job = self.session.get(self.session.jobs, parts[2], "job")
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

    # -- endpoints --------------------------------------------------------------------------------------------------
    def api_info(self) -> Response:
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
        upload = receive_upload(self.session, safe_display_name((query.get("name") or ["upload"])[0]), body)
        return json_response(upload.to_json())

    def api_clip(self, spec: Mapping[str, Any]) -> Response:
        clip = resolve_clip(self.session, spec)
        self.session.put(self.session.clips, clip, self.config.keep_clips)
        return json_response(clip.to_json())

    def api_transfer(self, spec: Mapping[str, Any]) -> Response:
        source = self.session.get(self.session.clips, spec.get("source"), "clip")
        target = self.session.get(self.session.clips, spec.get("target"), "clip")
        if source.sheet is not None:
            raise MotionmapError("source: is a whole-sheet result; pick one animation as the source")
        palette = _palette(spec)
        started = time.perf_counter()
        result = retarget_animation(self.retargeter, Animation(source.frames, source.durations_ms), target.frames[0],
                                    palette=palette)
        seconds = time.perf_counter() - started
        clip = Clip(secrets.token_hex(8), "result", result.frames, result.durations_ms,
                    info={"seconds": round(seconds, 3), "palette": palette})
        self.session.put(self.session.clips, clip, self.config.keep_clips)
        return json_response(clip.to_json())

    def download(self, clip: Clip, fmt: str) -> Response:
        """The clip as ``gif`` (looping, source durations), ``sheet`` (PNG) or ``zip`` (PNG frames) attachment."""
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
        palette = _palette(spec)
        source = self.session.get(self.session.uploads, spec.get("source"), "upload")
        if source.layout is not LPC_LAYOUT:
            lw, lh = LPC_LAYOUT.size
            raise MotionmapError(f"{source.name}: {source.width}x{source.height} is not an LPC sheet ({lw}x{lh}); "
                                 "the whole-sheet transfer needs an LPC source sheet")
        targets_spec = spec.get("targets")
        if targets_spec is not None:
            if not isinstance(targets_spec, dict) or sorted(targets_spec) != sorted(FACINGS):
                raise MotionmapError(f"targets: need one image per facing ({', '.join(FACINGS)})")
            uploads = [self.session.get(self.session.uploads, targets_spec[f], "upload") for f in FACINGS]
            targets = {}
            for f, up in zip(FACINGS, uploads):
                image, _ = target_image(up, None, f, None)
                check_target_size(image, (LPC_LAYOUT.frame_height, LPC_LAYOUT.frame_width), name=f"{up.name} ({f})")
                targets[f] = image
        else:
            target = self.session.get(self.session.uploads, spec.get("target"), "upload")
            if target.kind != "sheet":
                raise MotionmapError(f"{target.name}: give an LPC sheet as the target, or one image per facing")
            targets = load_facing_targets(target.path)
        sheet = read_image(source.path)
        job = Job(secrets.token_hex(8), palette=palette)
        self.session.add_job(job)
        self._executor.submit(self._run_job, job, source.name, sheet, targets)
        return json_response(job.to_json(), 202)

    def _run_job(self, job: Job, name: str, sheet: np.ndarray, targets: Dict[str, np.ndarray]) -> None:
        def on_row(done: int, total: int) -> None:
            with self.session.lock:
                job.done, job.total = int(done), int(total)

        with self.session.lock:
            job.state, job.started = "running", time.monotonic()
        try:
            # progress: called as on_row(rows_done, rows_total) after each facing's rows (a bool only turns a tqdm bar
            # on/off).
            result = retarget_lpc_sheet(self.retargeter, sheet, targets, progress=on_row, palette=job.palette)
            frames = result[: LPC_LAYOUT.frame_height, : LPC_LAYOUT.frame_width][None]  # a stand-in first frame
            clip = Clip(secrets.token_hex(8), f"{name} (all animations)", np.ascontiguousarray(frames), (100,),
                        sheet=result, layout=LPC_LAYOUT, info={"palette": job.palette})
            self.session.put(self.session.clips, clip, self.config.keep_clips)
            with self.session.lock:
                job.state, job.clip, job.done = "done", clip.id, job.total
        except MotionmapError as e:
            with self.session.lock:
                job.state, job.error = "error", self.session.public_message(str(e))
        except Exception as e:  # noqa: BLE001 - report a bug in the page rather than hang the progress bar
            traceback.print_exc(file=sys.stderr)
            with self.session.lock:
                job.state, job.error = "error", f"internal error ({type(e).__name__}); see the terminal"
        finally:
            with self.session.lock:
                job.seconds = round(time.monotonic() - job.started, 2)

