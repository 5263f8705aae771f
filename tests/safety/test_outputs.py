"""Outputs of every command: an input is never overwritten, an existing --out needs --overwrite, writes are atomic
(a failure or Ctrl-C part way leaves no output and no temp file), and the demo never writes outside its temp folder.

Each test drives ``motionmap.cli.main`` as a user would."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from motionmap.cli import main
from motionmap.io.animation import read_animation, write_gif
from motionmap.io.images import write_png


def _digest(path: Path) -> str:
    """Content hash of a file, or of a folder's files (names and bytes)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        h.update(str(p.relative_to(path)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _listing(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _retarget(src, tgt, ckpt, out, *extra):
    return main(["retarget", "--source", str(src), "--target", str(tgt), "--checkpoint", str(ckpt), "--out", str(out),
                 "--device", "cpu", *extra])


class TestRetarget:
    def test_existing_out_needs_overwrite(self, tmp_path, sprite_inputs, capsys):
        out = tmp_path / "out.gif"
        out.write_bytes(b"my earlier work")
        assert _retarget(*sprite_inputs, out) == 2
        assert "out.gif already exists; pass --overwrite or choose another --out" in capsys.readouterr().err
        assert out.read_bytes() == b"my earlier work"
        assert _retarget(*sprite_inputs, out, "--overwrite") == 0
        assert read_animation(out).frames.shape == (3, 16, 16, 4)

    @pytest.mark.parametrize("which", [0, 1, 2])
    def test_never_writes_onto_an_input_even_with_overwrite(self, sprite_inputs, capsys, which):
        before = [_digest(p) for p in sprite_inputs]
        out = sprite_inputs[which]
        assert _retarget(*sprite_inputs, out, "--overwrite", *(["--sheet"] if which == 1 else [])) == 2
        err = capsys.readouterr().err
        assert "is also an input" in err or (which == 2 and "cannot write .ckpt files" in err)
        assert [_digest(p) for p in sprite_inputs] == before

    def test_never_writes_through_a_link_to_an_input(self, tmp_path, sprite_inputs, capsys):
        src = sprite_inputs[0]
        link = tmp_path / "alias.gif"
        os.symlink(src, link)
        hard = tmp_path / "hard.gif"
        os.link(src, hard)
        before = _digest(src)
        for out in (link, hard):
            assert _retarget(*sprite_inputs, out, "--overwrite") == 2
            assert "is also an input" in capsys.readouterr().err
        assert _digest(src) == before

    def test_folder_out_holding_an_input_is_refused(self, sprite_inputs, capsys):
        folder = sprite_inputs[0].parent
        before = _digest(folder)
        assert _retarget(*sprite_inputs, folder, "--overwrite") == 2
        assert "contains the input" in capsys.readouterr().err
        assert _digest(folder) == before

    @pytest.mark.parametrize("out_name", ["out.gif", "out.png", "frames_out"])
    def test_failure_while_writing_leaves_nothing(self, tmp_path, sprite_inputs, monkeypatch, out_name):
        """The writer dies part way (Ctrl-C after writing half the bytes): no output and no temp file."""
        import imageio.v3 as iio

        real_imwrite, real_write_bytes = iio.imwrite, Path.write_bytes

        def imwrite_dies(path, image, *a, **k):
            real_imwrite(path, image, *a, **k)
            raise KeyboardInterrupt

        def write_bytes_dies(self, data):
            real_write_bytes(self, data[: len(data) // 2])
            raise KeyboardInterrupt

        monkeypatch.setattr(iio, "imwrite", imwrite_dies)
        monkeypatch.setattr(Path, "write_bytes", write_bytes_dies)
        out_dir = tmp_path / "results"
        out_dir.mkdir()
        (out_dir / "keep.txt").write_text("x")
        assert _retarget(*sprite_inputs, out_dir / out_name) == 130  # Ctrl-C: `motionmap: interrupted`
        assert _listing(out_dir) == ["keep.txt"]


class TestData:
    def test_synth_refuses_a_non_empty_out_and_an_existing_preview(self, tmp_path, capsys):
        out = tmp_path / "ds"
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        assert main(["data", "synth", "--out", str(out), "--characters", "2"]) == 2
        assert "ds" in capsys.readouterr().err
        assert _listing(out) == ["notes.txt"]
        preview = tmp_path / "p.gif"
        preview.write_bytes(b"old")
        assert main(["data", "synth", "--out", str(tmp_path / "new"), "--characters", "2", "--preview",
                     str(preview)]) == 2
        assert "p.gif already exists" in capsys.readouterr().err
        assert preview.read_bytes() == b"old" and not (tmp_path / "new").exists()

    def test_interrupted_build_leaves_no_dataset(self, tmp_path, monkeypatch):
        import motionmap.datasets.build as build  # where the builder looks the renderer up

        calls = []
        real = build.render_sheet

        def interrupted(spec):
            calls.append(spec)
            if len(calls) == 2:
                raise KeyboardInterrupt  # Ctrl-C while the second character renders
            return real(spec)

        monkeypatch.setattr(build, "render_sheet", interrupted)
        assert main(["data", "synth", "--out", str(tmp_path / "ds"), "--characters", "3"]) == 130
        assert _listing(tmp_path) == []  # neither the dataset nor its temp folder

    def test_preview_needs_overwrite(self, tmp_path, tiny_data, capsys):
        out = tmp_path / "p.gif"
        out.write_bytes(b"old")
        assert main(["data", "preview", "--data", str(tiny_data), "--out", str(out)]) == 2
        assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"old"
        before = _digest(tiny_data)
        assert main(["data", "preview", "--data", str(tiny_data), "--out", str(out), "--overwrite"]) == 0
        assert read_animation(out).frames.ndim == 4
        assert _digest(tiny_data) == before


class TestEval:
    def _eval(self, out, *extra):
        return main(["eval", "--set", "synth", "--cases", "1", "--no-cache", "--no-progress", "--grid-cases", "1",
                     "--out", str(out), *extra])

    def test_refuses_existing_out_and_inputs(self, tmp_path, tiny_checkpoint, capsys):
        out = tmp_path / "ev"
        out.mkdir()
        (out / "results.md").write_text("last week's numbers")
        assert self._eval(out) == 2
        assert "already exists; pass --overwrite" in capsys.readouterr().err
        assert (out / "results.md").read_text() == "last week's numbers"
        before = _digest(tiny_checkpoint)
        assert self._eval(tiny_checkpoint, "--checkpoint", str(tiny_checkpoint), "--overwrite") == 2
        assert "is also an input" in capsys.readouterr().err
        assert self._eval(tiny_checkpoint.parent, "--checkpoint", str(tiny_checkpoint), "--overwrite") == 2
        assert "contains the input" in capsys.readouterr().err
        assert _digest(tiny_checkpoint) == before

    def test_failure_while_writing_keeps_the_old_results(self, tmp_path, monkeypatch):
        import motionmap.eval.suite as suite  # where write_outputs looks the report up

        out = tmp_path / "ev"
        out.mkdir()
        (out / "results.md").write_text("last week's numbers")
        monkeypatch.setattr(suite, "json_report", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        assert self._eval(out, "--overwrite") == 130
        assert _listing(tmp_path) == ["ev", "ev/results.md"]
        assert (out / "results.md").read_text() == "last week's numbers"


def test_demo_downloads_are_in_memory_and_uploads_stay_in_its_temp_folder(tmp_path, monkeypatch, tiny_checkpoint):
    """The demo writes nothing outside its own temp folder (not the working folder, not a path named by an upload);
    downloads are attachments with fixed names; the temp folder is removed on close."""
    from motionmap.web import DemoApp, DemoConfig
    from motionmap.io.animation import encode_gif
    from motionmap.retarget import Retargeter
    from motionmap.synth import render_animation, sample_character

    monkeypatch.chdir(tmp_path)
    app = DemoApp(DemoConfig(port=0, max_frames=16, max_upload_mb=1), Retargeter.load(tiny_checkpoint))
    try:
        frames = render_animation(sample_character(1), "walk", "left")
        target = render_animation(sample_character(2), "walk", "left")[0]
        buf = io.BytesIO()
        from PIL import Image

        Image.fromarray(target).save(buf, format="PNG")
        names = ["../../escape.gif", str(tmp_path / "abs.png")]

        def ok(resp):
            assert resp.status == 200, resp.body[:300]
            return json.loads(resp.body)

        up = ok(app.handle("POST", "/api/upload", {"name": [names[0]]}, encode_gif(frames, 100)))
        tu = ok(app.handle("POST", "/api/upload", {"name": [names[1]]}, buf.getvalue()))
        src = ok(app.handle("POST", "/api/clip", {}, json.dumps({"role": "source", "upload": up["upload"]}).encode()))
        tgt = ok(app.handle("POST", "/api/clip", {}, json.dumps({"role": "target", "upload": tu["upload"]}).encode()))
        res = ok(app.handle("POST", "/api/transfer", {}, json.dumps({"source": src["clip"],
                                                                      "target": tgt["clip"]}).encode()))
        for fmt in ("gif", "sheet", "zip"):
            resp = app.handle("GET", f"/api/clips/{res['clip']}/download", {"format": [fmt]})
            assert resp.status == 200
            disposition = dict(resp.headers)["Content-Disposition"]
            assert disposition.startswith('attachment; filename="motionmap_result') and "/" not in disposition
            if fmt == "zip":
                with zipfile.ZipFile(io.BytesIO(resp.body)) as zf:
                    assert all(not n.startswith("/") and ".." not in n for n in zf.namelist())
        assert _listing(tmp_path) == ["tiny.ckpt"] or _listing(tmp_path) == []  # nothing written here
        assert not (tmp_path.parent.parent / "escape.gif").exists()
        written = [p for p in app.workdir.rglob("*") if p.is_file()]
        assert written and all(app.workdir in p.parents for p in written)
    finally:
        app.close()
    assert not app.workdir.exists()
