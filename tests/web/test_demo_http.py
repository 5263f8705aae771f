"""The demo over real sockets on loopback: size limits before reading, Host/Origin checks, 16 concurrent transfers,
the --all job with progress, and an offline page (no external URL in any asset)."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from demo_data import Client, frames_zip, lpc_walk_frame, png_bytes, synth_lpc_sheet
from motionmap.core import retarget_animation, retarget_lpc_sheet
from motionmap.io.animation import Animation, encode_gif
from motionmap.layout import FACINGS, LPC_LAYOUT
from motionmap.synth import render_animation, sample_character
from motionmap.web.routes import STATIC_DIR


def raw_request(server, head: str, body: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send a raw HTTP request (head without the blank line) and return everything the server answers."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head.encode() + b"\r\n\r\n" + body)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_oversize_upload_is_refused_before_the_body_is_read(live_server):
    limit = live_server.config.max_upload_bytes
    started = time.monotonic()
    # Claim 64 MB and send none of it: a server that read the body first would wait for the socket timeout.
    answer = raw_request(live_server, f"POST /api/upload?name=big.gif HTTP/1.1\r\nHost: 127.0.0.1:{live_server.port}"
                                      f"\r\nContent-Length: {64 * 2**20}")
    assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.0 413") and b"over this demo's limit of 8 MB" in answer
    assert limit == 8 * 2**20


def test_length_required_and_truncated_body(live_server):
    host = f"Host: 127.0.0.1:{live_server.port}"
    assert raw_request(live_server, f"POST /api/clip HTTP/1.1\r\n{host}").startswith(b"HTTP/1.0 411")
    answer = raw_request(live_server, f"POST /api/clip HTTP/1.1\r\n{host}\r\nContent-Length: 100", b"{}", timeout=1)
    # The server waits for the rest of the body (up to its 60 s timeout); our client gave up first. Either way no
    # request was answered with a result built from a partial body.
    assert answer == b"" or answer.startswith(b"HTTP/1.0 400")


def test_dns_rebinding_host_and_foreign_origin_are_refused(live_server, client):
    status, body, _ = client.request("GET", "/api/info", headers={"Host": "evil.example:80"})
    assert status == 403 and "not allowed" in body["error"]
    status, body, _ = client.request("POST", "/api/clip", b"{}", {"Origin": "http://evil.example",
                                                                   "Content-Type": "application/json"})
    assert status == 403 and "evil.example" in body["error"]
    status, body, _ = client.request("POST", "/api/clip", b'{"example": {"character": "synth-1"}}',
                                     {"Origin": client.url, "Content-Type": "application/json"})
    assert status == 200, body


def test_security_headers_and_offline_page(client):
    status, _, page = client.get("/")
    assert status == 200
    for path in ("/", "/api/info"):
        req = client.request("GET", path)
        assert req[0] == 200
    import urllib.request

    with urllib.request.urlopen(client.url + "/") as r:
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    # No asset names another host: no absolute URLs, no protocol-relative ones, no @import of remote fonts.
    for f in STATIC_DIR.iterdir():
        text = f.read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), f.name
        assert "@import" not in text and "fonts.googleapis" not in text


def expected_result(retargeter, frames, target):
    return retarget_animation(retargeter, Animation.uniform(frames), target).frames


def test_16_concurrent_transfers_all_complete_correctly(live_server, retargeter):
    """16 clients at once, each with its own source and target, each uploading, transferring and downloading: every
    result equals the one computed alone (the model lock keeps results exact under load)."""
    n = 16
    cases = []
    for i in range(n):
        facing = FACINGS[i % 4]
        src = render_animation(sample_character(i), ("walk", "run", "cast", "attack")[i // 4], facing)
        tgt = render_animation(sample_character(100 + i), "walk", facing)[0].copy()
        if i % 8:
            tgt[..., 3] = 255  # opaque (one model pass); cases 0 and 8 keep the transparent-background path
        cases.append((src, tgt))
    start = threading.Barrier(n)

    def one(i):
        src, tgt = cases[i]
        c = Client(live_server.url)
        src_data = encode_gif(src, 100) if i % 2 else frames_zip(src)
        st, up, _ = c.upload(f"src{i}.gif" if i % 2 else f"src{i}.zip", src_data)
        assert st == 200, up
        st, tu, _ = c.upload(f"tgt{i}.png", png_bytes(tgt))
        assert st == 200, tu
        st, sc, _ = c.post("/api/clip", {"role": "source", "upload": up["upload"]})
        st2, tc, _ = c.post("/api/clip", {"role": "target", "upload": tu["upload"]})
        assert st == st2 == 200, (sc, tc)
        start.wait(timeout=60)  # all 16 transfers start together
        st, res, _ = c.post("/api/transfer", {"source": sc["clip"], "target": tc["clip"]})
        assert st == 200, res
        st, _, gif = c.get(res["downloads"]["zip"])
        assert st == 200
        import zipfile

        with zipfile.ZipFile(io.BytesIO(gif)) as zf:
            names = sorted(zf.namelist())
            return np.stack([np.asarray(Image.open(io.BytesIO(zf.read(nm))).convert("RGBA")) for nm in names])

    started = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    seconds = time.perf_counter() - started
    for (src, tgt), got in zip(cases, results):
        np.testing.assert_array_equal(got, expected_result(retargeter, src, tgt))
    print(f"\n16 concurrent upload+transfer+download round trips: {seconds:.2f} s")


def test_whole_sheet_job_with_progress(live_server, client, retargeter):
    src_sheet = synth_lpc_sheet(1)
    tgt_sheet = synth_lpc_sheet(2)
    st, src, _ = client.upload("hero.png", png_bytes(src_sheet))
    st2, tgt, _ = client.upload("knight.png", png_bytes(tgt_sheet))
    assert st == st2 == 200 and src["layout"]["animations"][2]["name"] == "walk"
    # The four-facings form, with opaque targets (faster: no transparency pass).
    ups = {}
    for f in FACINGS:
        frame = lpc_walk_frame(tgt_sheet, f).copy()
        frame[..., 3] = 255
        ups[f] = client.upload(f"{f}.png", png_bytes(frame))[1]["upload"]
    st, job, _ = client.post("/api/jobs", {"source": src["upload"], "targets": ups})
    assert st == 202 and job["state"] in ("queued", "running")
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job['job']}")[1]
        seen.append(job["done"])
        if job["state"] in ("done", "error"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert seen == sorted(seen) and seen[-1] == job["total"] == len(LPC_LAYOUT.rows)
    st, _, png = client.get(f"/api/clips/{job['clip']}/download?format=sheet")
    sheet = np.asarray(Image.open(io.BytesIO(png)))
    assert sheet.shape == (1344, 832, 4)
    targets = {f: np.asarray(Image.open(io.BytesIO(png_bytes(lpc_walk_frame(tgt_sheet, f))))).copy()
               for f in FACINGS}
    for t in targets.values():
        t[..., 3] = 255
    np.testing.assert_array_equal(sheet, retarget_lpc_sheet(retargeter, src_sheet, targets, progress=False))
    assert not sheet[:64, 7 * 64 :, 3].any()  # unused cells stay transparent (spellcast has 7 frames)
    st, _, z = client.get(f"/api/clips/{job['clip']}/download?format=zip")
    import zipfile

    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        assert "walk_left/frame_000.png" in zf.namelist() and "hurt_down/frame_005.png" in zf.namelist()
    print(f"\n--all job: {job['seconds']} s for {job['total']} rows")


def test_whole_sheet_errors(client):
    st, gif_up, _ = client.upload("walk.gif", encode_gif(render_animation(sample_character(1), "walk", "up"), 100))
    st, body, _ = client.post("/api/jobs", {"source": gif_up["upload"], "target": gif_up["upload"]})
    assert st == 400 and "is not an LPC sheet (832x1344)" in body["error"]
    st, sheet_up, _ = client.upload("hero.png", png_bytes(synth_lpc_sheet(3)))
    st, body, _ = client.post("/api/jobs", {"source": sheet_up["upload"], "targets": {"up": sheet_up["upload"]}})
    assert st == 400 and "need one image per facing" in body["error"]
    st, body, _ = client.get("/api/jobs/0123456789abcdef")
    assert st == 404 and "unknown" in body["error"]
