"""The demo cannot be exhausted or pushed into a 500: malformed JSON (deep nesting, huge integers) is a 400, padded
uploads are refused instead of stored, uploads on disk and clips in memory have byte caps, connections are served by a
bounded pool, and a non-loopback --host needs --allow-remote and keeps the Host check."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import zipfile

import numpy as np
import pytest

from demo_data import Client, frames_zip, png_bytes, walk_gif
from motionmap.cli import main
from motionmap.errors import MotionmapError
from motionmap.io.animation import encode_gif
from motionmap.web import DemoApp, DemoConfig, make_server, serve_in_thread
from test_demo_handlers import error_of, ok, post, upload


class TestMalformedJson:
    @pytest.mark.parametrize("body", [
        b"[" * 30000,  # RecursionError in the decoder
        b'{"source": ' + b"9" * 5001 + b"}",  # ValueError: over Python's int digit limit
        b'{"source": "\xff"}',
        b"{" * 100 + b"}" * 100,
    ])
    @pytest.mark.parametrize("path", ["/api/clip", "/api/transfer", "/api/jobs"])
    def test_is_a_bad_request_not_a_server_error(self, app, path, body):
        message = error_of(app.handle("POST", path, {}, body), 400)
        assert message.startswith("request: not valid JSON")


def _padded_png(frame: np.ndarray, padding: int) -> bytes:
    return png_bytes(frame) + b"\0" * padding  # decoders stop at IEND: the zeros pass as a valid PNG


class TestPaddedUploads:
    def test_zip_of_padded_pngs_is_refused_not_stored(self, app):
        frames = walk_gif()[1][:4]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, frame in enumerate(frames):
                zf.writestr(f"walk_{i}.png", _padded_png(frame, 4 * 2**20))
        data = buf.getvalue()
        assert len(data) < 100_000  # 16 MB of frames in under 100 kB
        message = error_of(upload(app, "padded.zip", data))
        assert "member 'walk_0.png'" in message and "padded or damaged" in message
        assert not any(f.is_file() for f in (app.workdir / "uploads").rglob("*"))

    def test_padded_png_upload_is_refused(self, app):
        frame = walk_gif()[1][0]
        message = error_of(upload(app, "hero.png", _padded_png(frame, 800_000)))
        assert "padded or damaged" in message

    def test_honest_zip_is_stored_at_its_size(self, app):
        frames = walk_gif()[1][:4]
        data = frames_zip(frames)
        ok(upload(app, "walk.zip", data))
        stored = sum(f.stat().st_size for f in (app.workdir / "uploads").rglob("*") if f.is_file())
        assert stored <= sum(len(png_bytes(f)) for f in frames) + 1024


class TestByteCaps:
    def test_uploads_on_disk_stay_under_the_cap(self, retargeter):
        gif = walk_gif()[0]
        cap_mb = 2.5 * len(gif) / 2**20  # room for two
        app = DemoApp(DemoConfig(port=0, max_stored_mb=cap_mb), retargeter)
        try:
            ids = [ok(upload(app, f"walk{i}.gif", gif))["upload"] for i in range(5)]
            on_disk = sum(f.stat().st_size for f in (app.workdir / "uploads").rglob("*") if f.is_file())
            assert on_disk <= cap_mb * 2**20
            assert error_of(post(app, "/api/clip", {"upload": ids[0]}), 404)  # the oldest went
            ok(post(app, "/api/clip", {"upload": ids[-1]}))
        finally:
            app.close()

    def test_clips_in_memory_stay_under_the_cap(self, retargeter):
        frames = walk_gif()[1]  # 8 frames of 64x64 RGBA: 128 kB decoded
        app = DemoApp(DemoConfig(port=0, max_clip_memory_mb=0.3), retargeter)
        try:
            uid = ok(upload(app, "walk.gif", walk_gif()[0]))["upload"]
            for _ in range(20):
                ok(post(app, "/api/clip", {"upload": uid}))
            held = sum(c.nbytes for c in app.session.clips.values())
            assert held <= 0.3 * 2**20 and len(app.session.clips) == 2
            assert held == 2 * frames.nbytes
        finally:
            app.close()

    def test_frames_over_the_models_limit_are_refused_at_upload(self, app):
        big = np.zeros((2, 300, 300, 3), np.uint8)
        message = error_of(upload(app, "big.gif", encode_gif(big, 100)))
        assert "frames of 300x300 are larger than this demo retargets (256 px a side)" in message


def _raw_connection(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


class TestBoundedPool:
    def test_connections_beyond_the_cap_get_503_and_threads_stay_bounded(self, retargeter):
        server = make_server(DemoConfig(port=0, max_connections=3, workers=2), retargeter)
        serve_in_thread(server)
        idle = []
        try:
            idle = [_raw_connection(server) for _ in range(3)]  # hold every slot: they never send a request
            time.sleep(0.3)
            with _raw_connection(server) as extra:
                answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503") and b"busy" in answer
            workers = [t for t in threading.enumerate() if t.name.startswith("motionmap-demo-http")]
            assert len(workers) <= 2
            for s in idle:
                s.close()
            idle = []
            deadline = time.monotonic() + 10
            while True:  # the slots free up as the workers see the closed connections
                status, body, _ = Client(server.url).request("GET", "/api/info")
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert status == 200, body
        finally:
            for s in idle:
                s.close()
            server.shutdown()
            server.server_close()


class TestRemoteHost:
    def test_non_loopback_host_needs_allow_remote(self):
        with pytest.raises(MotionmapError, match=r"--host 0.0.0.0: not a loopback address.*add --allow-remote"):
            DemoConfig(host="0.0.0.0")
        DemoConfig(host="0.0.0.0", allow_remote=True)
        DemoConfig(host="127.0.0.2")

    def test_cli_refuses_before_loading_the_model(self, capsys, tmp_path):
        assert main(["demo", "--host", "0.0.0.0", "--port", "0", "--checkpoint", str(tmp_path / "missing.ckpt")]) == 2
        assert "--host 0.0.0.0: not a loopback address" in capsys.readouterr().err

    def test_allowed_remote_server_keeps_the_host_check(self, retargeter):
        server = make_server(DemoConfig(host="0.0.0.0", port=0, allow_remote=True), retargeter)
        serve_in_thread(server)
        try:
            client = Client(f"http://127.0.0.1:{server.port}")
            status, body, _ = client.request("GET", "/api/info", headers={"Host": "evil.example"})
            assert status == 403 and "not allowed" in body["error"]
            status, _, _ = client.request("GET", "/api/info", headers={"Host": f"127.0.0.1:{server.port}"})
            assert status == 200
        finally:
            server.shutdown()
            server.server_close()


class TestCrashLeftovers:
    def test_next_demo_removes_the_uploads_of_a_killed_one(self, retargeter, tmp_path, monkeypatch):
        import subprocess
        import sys
        import tempfile

        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()  # its pid is now a dead demo's
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        dead = tmp_path / f"motionmap-demo-{child.pid}-k1ll3d"
        (dead / "uploads" / "0123456789abcdef").mkdir(parents=True)
        (dead / "uploads" / "0123456789abcdef" / "walk.gif").write_bytes(b"GIF89a" + b"\0" * 1000)
        running = tmp_path / f"motionmap-demo-{os.getppid()}-running"
        running.mkdir()
        app = DemoApp(DemoConfig(port=0), retargeter)
        try:
            assert not dead.exists() and running.is_dir()
            assert app.workdir.parent == tmp_path and app.workdir.name.startswith(f"motionmap-demo-{os.getpid()}-")
        finally:
            app.close()
