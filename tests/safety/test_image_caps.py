"""Hostile images: file size, pixel count and frame count caps, all refused before (or instead of) decoding."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import motionmap.io.animation as animation_mod
import motionmap.io.images as images_mod
from motionmap.errors import MotionmapError
from motionmap.io.animation import encode_gif, read_animation, read_frame_folder, write_apng
from motionmap.io.images import MAX_FRAMES, MAX_PIXELS, check_image_file, read_image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width x height`` RGBA, with one tiny IDAT: a classic decompression bomb header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


# 10x12 GIFs (encoded at import: the tests below forbid decoding once they start).
ONE_FRAME_GIF = encode_gif(np.full((1, 12, 10, 4), 255, np.uint8), 100)
TWO_FRAME_GIF = encode_gif(np.stack([np.full((12, 10, 4), 255, np.uint8), np.zeros((12, 10, 4), np.uint8) + 255 // 2]),
                           100)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if Pillow is asked to decode pixels."""
    def refuse(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "convert", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)


class TestPixels:
    @pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 3_000), (7_000, 7_000)])
    def test_bomb_header_is_refused_before_decoding(self, tmp_path, size, no_decoding):
        path = tmp_path / "bomb.png"
        path.write_bytes(_png_header_only(*size))
        assert path.stat().st_size < 200
        started = time.perf_counter()
        with pytest.raises(MotionmapError, match=r"too large to decode safely"):
            read_image(path)
        assert time.perf_counter() - started < 1.0

    def test_largest_allowed_size_is_not_refused_by_the_header_check(self, tmp_path):
        path = tmp_path / "ok.png"
        path.write_bytes(_png_header_only(MAX_PIXELS // 5000, 5000))
        assert check_image_file(path) == (MAX_PIXELS // 5000, 5000)

    def test_gif_frame_growing_the_canvas_is_refused(self, tmp_path):
        """A 10x12 GIF whose second frame descriptor says 6000x6000: Pillow would grow the canvas to 36 MP and
        decode it (found by the fuzzer as a 10 s stall); the reader refuses the frame before decoding it."""
        frames = np.zeros((2, 12, 10, 4), np.uint8)
        frames[..., 3] = 255
        frames[1, 2:5, 3:6, 0] = 200
        data = bytearray(encode_gif(frames, 100))
        descriptor = b",\x00\x00\x00\x00\x0a\x00\x0c\x00"
        second = data.index(descriptor, data.index(descriptor) + 1)
        data[second + 5 : second + 9] = struct.pack("<HH", 6000, 6000)
        path = tmp_path / "grow.gif"
        path.write_bytes(bytes(data))
        started = time.perf_counter()
        with pytest.raises(MotionmapError, match=r"frame 1 is 6000x6000, outside the file's 10x12 canvas"):
            read_animation(path)
        assert time.perf_counter() - started < 2.0


    def test_gif_first_frame_outside_the_header_canvas_is_refused(self, tmp_path, no_decoding):
        """A 10x12 GIF whose frame sits at x=65280: Pillow would grow the canvas to 65290x12 (the fuzzer found a
        1.2 kB file of this kind taking seconds); refused from the header, nothing decoded."""
        data = bytearray(ONE_FRAME_GIF)
        first = data.index(b",\x00\x00\x00\x00\x0a\x00\x0c\x00")
        data[first + 1 : first + 3] = struct.pack("<H", 65280)
        path = tmp_path / "far.gif"
        path.write_bytes(bytes(data))
        with pytest.raises(MotionmapError, match=r"first frame lies outside the 10x12 canvas its header declares"):
            read_image(path)

    def test_animation_with_huge_frames_is_refused_before_decoding(self, tmp_path, no_decoding):
        """A 1 kB two-frame GIF declaring a 4000x2000 screen (8 MP a frame, under the still-image cap): animations
        are capped at MAX_ANIMATION_FRAME_PIXELS a frame, checked before the first frame is decoded."""
        data = bytearray(TWO_FRAME_GIF)
        data[6:10] = struct.pack("<HH", 4000, 2000)
        path = tmp_path / "wide.gif"
        path.write_bytes(bytes(data))
        assert 4000 * 2000 > images_mod.MAX_ANIMATION_FRAME_PIXELS and path.stat().st_size < 2000
        with pytest.raises(MotionmapError, match=r"animation frames of 4000x2000 are too large to decode safely"):
            read_animation(path)


class TestFileSize:
    def test_file_over_the_cap_is_refused_from_its_size_alone(self, tmp_path, monkeypatch, no_decoding):
        monkeypatch.setattr(images_mod, "MAX_FILE_BYTES", 1000)
        opened = []
        monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
        path = tmp_path / "big.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000)
        with pytest.raises(MotionmapError, match=r"big.png: file is 0 MiB, more than motionmap opens"):
            read_image(path)
        with pytest.raises(MotionmapError, match=r"more than motionmap opens"):
            read_animation(path)
        assert opened == []

    def test_default_cap_is_well_above_real_sprite_files(self):
        assert images_mod.MAX_FILE_BYTES >= 64 * 2**20


class TestFrameCount:
    def test_gif_with_more_than_max_frames_is_refused(self, tmp_path):
        """A real GIF of MAX_FRAMES + 1 tiny frames (no monkeypatching): refused, and quickly."""
        n = MAX_FRAMES + 1
        frames = np.zeros((n, 1, 1, 3), np.uint8)
        frames[::2, ..., 0] = 255
        path = tmp_path / "many.gif"
        path.write_bytes(encode_gif(frames, 10))
        assert path.stat().st_size < 200_000
        started = time.perf_counter()
        with pytest.raises(MotionmapError, match=rf"more than {MAX_FRAMES} frames of 1x1 is too large"):
            read_animation(path)
        assert time.perf_counter() - started < 10

    def test_apng_declaring_too_many_frames_is_refused_from_its_header(self, tmp_path, monkeypatch, no_decoding):
        monkeypatch.undo()
        path = write_apng(tmp_path / "a.png", np.random.default_rng(0).integers(0, 255, (6, 4, 4, 4), np.uint8))
        monkeypatch.setattr(images_mod, "MAX_FRAMES", 5)
        monkeypatch.setattr(Image.Image, "convert", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
        with pytest.raises(MotionmapError, match=r"declares 6 frames, more than motionmap decodes \(limit 5\)"):
            read_animation(path)

    def test_frame_folder_with_too_many_frames_is_refused_before_reading(self, tmp_path, monkeypatch, no_decoding):
        monkeypatch.setattr(animation_mod, "MAX_FRAMES", 3)
        for i in range(4):
            (tmp_path / f"frame_{i}.png").write_bytes(b"not even read")
        with pytest.raises(MotionmapError, match=r"4 PNG frames, more than motionmap loads as one animation"):
            read_frame_folder(tmp_path)
