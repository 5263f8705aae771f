"""``motionmap demo`` as a user runs it: prints its URL, serves, stops cleanly; bad options are one-line errors."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from motionmap.cli import main


def test_serves_on_a_free_port_and_stops_on_sigterm(demo_checkpoint):
    proc = subprocess.Popen(
        [sys.executable, "-m", "motionmap", "demo", "--port", "0", "--checkpoint", str(demo_checkpoint),
         "--max-frames", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.match(r"motionmap demo: serving (http://127\.0\.0\.1:(\d+)/) \(Ctrl\+C to stop\)", line)
        assert m, line + proc.stderr.read() if proc.poll() is not None else line
        with urllib.request.urlopen(m.group(1) + "api/info", timeout=30) as r:
            info = json.loads(r.read())
        assert info["limits"]["max_frames"] == 20 and info["checkpoint"] == demo_checkpoint.name
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["demo", "--checkpoint", "/nonexistent/model.ckpt", "--port", "0"], "checkpoint not found"),
    (["demo", "--port", "70000"], "not a port number"),
    (["demo", "--max-frames", "0", "--port", "0"], "--max-frames 0: must be >= 1"),
    (["demo", "--device", "tpu", "--port", "0"], "--device 'tpu': use cpu or cuda"),
    (["demo", "--threads", "0", "--port", "0"], "--threads 0: need an integer >= 1"),
])
def test_bad_options_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("motionmap: error: ") and message in err and err.count("\n") == 1


def test_port_in_use(demo_checkpoint, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["demo", "--port", str(port), "--checkpoint", str(demo_checkpoint)]) == 2
    assert f"--port {port}: already in use" in capsys.readouterr().err


def test_the_page_keeps_the_motion_of_the_last_sources(demo_checkpoint):
    """Trying targets and palettes on one animation recomputes only the target's part (motionmap.motion_cache)."""
    from motionmap.web import DemoConfig, make_server
    from motionmap.web.server import DEMO_MOTION_CACHE

    server = make_server(DemoConfig(port=0, checkpoint=demo_checkpoint))
    try:
        assert server.app.retargeter._inner.motion_cache.capacity == DEMO_MOTION_CACHE >= 1
    finally:
        server.server_close()
