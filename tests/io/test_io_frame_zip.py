"""A zip of PNG frames from someone else (motionmap.io.frame_zip), and user file names made safe to show (io.names)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io.animation import read_animation
from motionmap.io.frame_zip import extract_frame_zip
from motionmap.io.images import encode_png
from motionmap.io.names import natural_key, safe_display_name


def zip_of(frames, names) -> bytes:
    """A zip whose members ``names`` hold the PNGs of ``frames`` ``uint8 [H,W,4]`` in turn."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, frame in zip(names, frames):
            zf.writestr(name, encode_png(frame))
    return buf.getvalue()


class TestNames:
    @pytest.mark.parametrize("raw, shown", [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("/abs/path/hero.gif", "hero.gif"),
        ("hero<script>.gif", "hero_script_.gif"),
        ("....hidden.png", "hidden.png"),
        ("", "upload"),
        ("..", "upload"),
    ])
    def test_safe_display_name(self, raw, shown):
        assert safe_display_name(raw) == shown

    def test_long_names_keep_their_suffix(self):
        shown = safe_display_name("x" * 300 + ".gif")
        assert len(shown) <= 80 and shown.endswith(".gif")

    def test_natural_order(self):
        assert sorted(["f10.png", "F2.png", "f1.png"], key=natural_key) == ["f1.png", "F2.png", "f10.png"]


class TestZip:
    def test_frames_in_natural_order(self, tmp_path, make_sprites):
        frames = make_sprites(10, 16, 16)
        names = [f"f{i}.png" for i in range(1, 11)] + ["notes.txt", "__MACOSX/._f1.png"]
        data = zip_of(list(frames) + [frames[0], frames[0]], names)
        n = extract_frame_zip(data, tmp_path / "out", "walk.zip", max_frames=16, max_total_bytes=2**20)
        assert n == 10
        np.testing.assert_array_equal(read_animation(tmp_path / "out").frames, frames)

    @pytest.mark.parametrize("evil", ["../evil.png", "frames/../../evil.png", "/etc/evil.png", "C:/evil.png",
                                      "..\\evil.png"])
    def test_path_tricks_are_refused(self, tmp_path, evil):
        data = zip_of([np.zeros((8, 8, 4), np.uint8)], [evil])
        with pytest.raises(MotionmapError, match="unsafe path"):
            extract_frame_zip(data, tmp_path / "out", "evil.zip", 16, 2**20)
        assert not (tmp_path / "out").exists() and not (tmp_path / "evil.png").exists()

    def test_symlink_member_is_refused(self, tmp_path):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            info = zipfile.ZipInfo("link.png")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
        with pytest.raises(MotionmapError, match="symbolic link"):
            extract_frame_zip(buf.getvalue(), tmp_path / "out", "l.zip", 16, 2**20)

    def test_zip_bomb_stops_at_the_budget(self, tmp_path):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("big.png", b"\0" * (4 * 2**20))  # 4 MB of zeros deflate to ~4 KB
        assert len(buf.getvalue()) < 20_000
        with pytest.raises(MotionmapError, match="unpack to more than 1 MB"):
            extract_frame_zip(buf.getvalue(), tmp_path / "out", "bomb.zip", 16, 2**20)

    def test_padded_png_is_refused(self, tmp_path):
        padded = encode_png(np.zeros((8, 8, 4), np.uint8)) + b"\0" * (128 * 1024)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("f1.png", padded)
        with pytest.raises(MotionmapError, match="padded or damaged"):
            extract_frame_zip(buf.getvalue(), tmp_path / "out", "pad.zip", 16, 2**20)

    def test_too_many_frames(self, tmp_path):
        data = zip_of([np.zeros((8, 8, 4), np.uint8)] * 5, [f"f{i}.png" for i in range(5)])
        with pytest.raises(MotionmapError, match="5 frames is more than this demo's limit of 4"):
            extract_frame_zip(data, tmp_path / "out", "many.zip", 4, 2**20)

    def test_not_a_zip(self, tmp_path):
        with pytest.raises(MotionmapError, match="not a readable zip"):
            extract_frame_zip(b"PK\x03\x04garbage", tmp_path / "out", "bad.zip", 4, 2**20)
