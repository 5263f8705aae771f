"""The artist preview page's HTTP layer: stdlib ``http.server`` around a :class:`~motionmap.web.routes.DemoApp`.

Fully offline, no new dependency. :class:`DemoServer` is an ``HTTPServer`` with a bounded worker pool that enforces
the transport-level rules (upload size checked from ``Content-Length`` *before* the body is read, Host/Origin checks,
socket timeouts, at most ``max_connections`` connections at once); everything else is the app's
(:meth:`DemoApp.handle <motionmap.web.routes.DemoApp.handle>`).

The demo package, by job:

- :mod:`~motionmap.web.config`: :class:`DemoConfig` (the command-line options) and loopback hosts;
- this module: HTTP (sockets, the worker pool, Host/Origin checks), :func:`make_server`, :func:`serve_in_thread`;
- :mod:`~motionmap.web.routes`: :class:`DemoApp`, one request to one :class:`~motionmap.web.responses.Response`;
- :mod:`~motionmap.web.state`: the session state (uploads, clips, jobs; bounded; one lock; the temp folder);
- :mod:`~motionmap.web.uploads` and :mod:`~motionmap.web.clips`: upload checks, and the frames of one side of a
  transfer (targets through the retargeting core, :mod:`motionmap.core`);
- :mod:`~motionmap.web.model_thread`: the one model thread (:class:`SerialRetargeter`).

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
the user's file name is only shown, after sanitising (:func:`motionmap.io.names.safe_display_name`). Zip members are
validated (no absolute paths, no ``..``, no links, count/size caps; :mod:`motionmap.io.frame_zip`) and written as
``frame_000.png``... Inference runs under one model thread (:class:`SerialRetargeter`): requests are served in
parallel, the model one call at a time, so results do not depend on how many requests are in flight.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from motionmap.core import load_retargeter
from motionmap.errors import MotionmapError
from motionmap.web.config import LOOPBACK_HOSTS, WILDCARD_HOSTS, DemoConfig
from motionmap.web.responses import Response, error_response
from motionmap.web.routes import DemoApp

# Everything the page loads comes from this server; inline scripts and other origins are refused by the browser.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


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
    names = set(LOOPBACK_HOSTS) | {host.lower().strip("[]")}
    if host in WILDCARD_HOSTS:
        for name in (socket.gethostname(), socket.getfqdn()):
            names.add(name.lower())
            try:
                names.update(info[4][0] for info in socket.getaddrinfo(name, None))
            except OSError:
                pass
    return frozenset(n for n in names if n)


DEMO_MOTION_CACHE = 4  # source animations whose motion the page keeps


def make_server(config: DemoConfig, retargeter=None) -> DemoServer:
    """Load the model (unless given) and bind the server; does not start serving. Raises :class:`MotionmapError`
    for a bad checkpoint or a port in use."""
    if retargeter is None:
        # An artist tries targets and palettes on one animation: its motion is computed once (motionmap.motion_cache).
        retargeter = load_retargeter(config.checkpoint, device=config.device, refine_steps=config.refine_steps,
                                     threads=config.threads, motion_cache=DEMO_MOTION_CACHE)
    name = Path(config.checkpoint).name if config.checkpoint is not None else "default model"
    return DemoServer(DemoApp(config, retargeter, checkpoint_name=name))


def serve_in_thread(server: DemoServer) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread (tests, notebooks); stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="motionmap-demo")
    thread.start()
    return thread

