"""Image decoding (every mode to RGBA, bad files refused with one line) and compositing."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from motionmap.errors import MotionmapError
from motionmap.io import images
from motionmap.io.images import alpha_over, composite_over, read_image, to_rgba, write_png


def _png_header_only(path, width, height):
    """A PNG whose header claims ``width x height`` but has almost no data (a decompression-bomb shape)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b""))


class TestReadImage:
    def test_rgba_round_trip_exact(self, tmp_path, sprite_frames):
        img = sprite_frames[0].copy()
        img[0, 0] = (10, 20, 30, 77)  # partial alpha survives
        write_png(tmp_path / "a.png", img)
        out = read_image(tmp_path / "a.png")
        assert out.dtype == np.uint8 and out.shape == img.shape
        np.testing.assert_array_equal(out, img)

    def test_rgb_gets_opaque_alpha(self, tmp_path):
        rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
        write_png(tmp_path / "a.png", rgb)
        out = read_image(tmp_path / "a.png")
        np.testing.assert_array_equal(out[..., :3], rgb)
        assert (out[..., 3] == 255).all()

    def test_grey_and_grey_alpha(self, tmp_path):
        grey = np.arange(20, dtype=np.uint8).reshape(4, 5)
        Image.fromarray(grey).save(tmp_path / "l.png")
        out = read_image(tmp_path / "l.png")
        assert out.shape == (4, 5, 4)
        np.testing.assert_array_equal(out[..., 0], grey)
        np.testing.assert_array_equal(out[..., 2], grey)
        Image.fromarray(grey).convert("LA").save(tmp_path / "la.png")
        assert read_image(tmp_path / "la.png").shape == (4, 5, 4)

    def test_palette_with_transparency(self, tmp_path):
        im = Image.new("P", (3, 2))
        im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
        im.putpixel((1, 0), 1)
        im.info["transparency"] = 0
        im.save(tmp_path / "p.png", transparency=0)
        out = read_image(tmp_path / "p.png")
        assert out[0, 1].tolist() == [0, 255, 0, 255]
        assert out[0, 0, 3] == 0

    def test_16_bit_grey_is_scaled(self, tmp_path):
        grey16 = np.array([[0, 65535], [32768, 257]], np.uint16)
        Image.fromarray(grey16).save(tmp_path / "g16.png")
        out = read_image(tmp_path / "g16.png")
        assert out[..., 0].tolist() == [[0, 255], [128, 1]]

    def test_animated_file_gives_first_frame(self, tmp_path, sprite_frames):
        from motionmap.io.animation import write_apng

        write_apng(tmp_path / "a.png", sprite_frames, 50)
        np.testing.assert_array_equal(read_image(tmp_path / "a.png"), sprite_frames[0])


class TestBadImages:
    def test_missing(self, tmp_path):
        with pytest.raises(MotionmapError, match=r"nope\.png: no such file"):
            read_image(tmp_path / "nope.png")

    def test_folder(self, tmp_path):
        with pytest.raises(MotionmapError, match="is a folder"):
            read_image(tmp_path)

    def test_not_an_image(self, tmp_path):
        (tmp_path / "notes.png").write_text("these are my notes, not a picture\n")
        with pytest.raises(MotionmapError, match=r"notes\.png: not an image file"):
            read_image(tmp_path / "notes.png")

    def test_empty_file(self, tmp_path):
        (tmp_path / "empty.png").write_bytes(b"")
        with pytest.raises(MotionmapError, match=r"empty\.png: not an image"):
            read_image(tmp_path / "empty.png")

    def test_truncated(self, tmp_path, make_sprites):
        noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 4), dtype=np.uint8)
        write_png(tmp_path / "full.png", noisy)
        data = (tmp_path / "full.png").read_bytes()
        (tmp_path / "x.png").write_bytes(data[: len(data) // 2])
        with pytest.raises(MotionmapError) as e:
            read_image(tmp_path / "x.png")
        assert str(e.value) == f"{tmp_path / 'x.png'}: not a readable image (truncated or corrupt); re-export it as PNG"

    def test_corrupt_data(self, tmp_path):
        noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 4), dtype=np.uint8)
        write_png(tmp_path / "full.png", noisy)
        data = bytearray((tmp_path / "full.png").read_bytes())
        start = data.index(b"IDAT") + 40
        data[start : start + 200] = bytes(200)  # zero a stretch of compressed pixels
        (tmp_path / "c.png").write_bytes(bytes(data))
        with pytest.raises(MotionmapError, match=r"c\.png: not a readable image \(truncated or corrupt\)"):
            read_image(tmp_path / "c.png")

    def test_over_our_pixel_cap_refused_before_decoding(self, tmp_path, monkeypatch):
        _png_header_only(tmp_path / "big.png", 7000, 7000)  # 49 MP: over MAX_PIXELS, under Pillow's own guard

        def no_decoding(*args, **kwargs):
            raise AssertionError("decoded a too-large image")

        monkeypatch.setattr(images.iio, "imread", no_decoding)
        with pytest.raises(MotionmapError, match=r"big\.png: 7000x7000 is too large to decode safely"):
            read_image(tmp_path / "big.png")

    def test_huge_header(self, tmp_path):
        _png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
        with pytest.raises(MotionmapError, match=r"bomb\.png: .*too large to decode safely"):
            read_image(tmp_path / "bomb.png")

    def test_error_is_one_line(self, tmp_path):
        (tmp_path / "x.gif").write_bytes(b"GIF89a\x00")
        with pytest.raises(MotionmapError) as e:
            read_image(tmp_path / "x.gif")
        assert "\n" not in str(e.value)


class TestWritePng:
    def test_refuses_existing_then_overwrites(self, tmp_path, sprite_frames):
        path = tmp_path / "a.png"
        write_png(path, sprite_frames[0])
        with pytest.raises(MotionmapError, match="already exists"):
            write_png(path, sprite_frames[1])
        np.testing.assert_array_equal(read_image(path), sprite_frames[0])
        write_png(path, sprite_frames[1], overwrite=True)
        np.testing.assert_array_equal(read_image(path), sprite_frames[1])

    def test_bad_array(self, tmp_path):
        with pytest.raises(ValueError, match="expected uint8"):
            write_png(tmp_path / "a.png", np.zeros((4, 4, 4), np.float32))
        with pytest.raises(ValueError, match=r"got shape \(4, 4\)"):
            write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
        assert os.listdir(tmp_path) == []


class TestCompositing:
    def test_to_rgba(self):
        rgb = np.full((2, 3, 3), 7, np.uint8)
        out = to_rgba(rgb)
        assert out.shape == (2, 3, 4) and (out[..., 3] == 255).all() and (out[..., :3] == 7).all()
        rgba = np.zeros((2, 3, 4), np.uint8)
        assert to_rgba(rgba) is rgba

    def test_composite_known_answers(self):
        rgba = np.array([[[200, 100, 0, 255], [200, 100, 0, 0], [200, 100, 0, 128]]], np.uint8)  # (1, 3, 4)
        bg = np.array([[[0, 0, 255]]], np.uint8)
        out = composite_over(rgba, bg)
        assert out.shape == (1, 3, 3) and out.dtype == np.uint8
        assert out[0, 0].tolist() == [200, 100, 0]
        assert out[0, 1].tolist() == [0, 0, 255]
        # 128/255 of the sprite: 200*128/255 = 100.4, 255*127/255 = 127
        assert out[0, 2].tolist() == [100, 50, 127]

    def test_composite_broadcasts_one_background_under_frames(self, sprite_frames):
        bg = np.random.default_rng(1).integers(0, 256, sprite_frames.shape[1:3] + (3,), dtype=np.uint8)
        out = composite_over(sprite_frames, bg)
        assert out.shape == sprite_frames.shape[:3] + (3,)
        opaque = sprite_frames[..., 3] == 255
        np.testing.assert_array_equal(out[opaque], sprite_frames[..., :3][opaque])
        clear = sprite_frames[..., 3] == 0
        np.testing.assert_array_equal(out[clear], np.broadcast_to(bg, out.shape)[clear])

    def test_composite_rejects_bad_input(self):
        with pytest.raises(ValueError, match="expected rgba"):
            composite_over(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            composite_over(np.zeros((2, 2, 4), np.float32), np.zeros((2, 2, 3), np.uint8))

    def test_alpha_over(self):
        bottom = np.array([[[0, 0, 255, 255], [0, 0, 255, 255], [0, 0, 255, 255], [9, 9, 9, 0]]], np.uint8)
        top = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [255, 0, 0, 51], [255, 0, 0, 51]]], np.uint8)
        out = alpha_over(top, bottom)
        assert out[0, 0].tolist() == [255, 0, 0, 255]
        assert out[0, 1].tolist() == [0, 0, 255, 255]
        assert out[0, 2].tolist() == [51, 0, 204, 255]  # 20% red over opaque blue
        assert out[0, 3].tolist() == [255, 0, 0, 51]  # over nothing: the top pixel itself

    def test_alpha_over_then_composite_matches_composite_twice(self, make_sprites):
        a, b = make_sprites(1, seed=1, partial_alpha=True)[0], make_sprites(1, seed=2, partial_alpha=True)[0]
        bg = np.full(a.shape[:2] + (3,), 40, np.uint8)
        once = composite_over(alpha_over(a, b), bg).astype(int)
        twice = composite_over(a, composite_over(b, bg)).astype(int)
        assert np.abs(once - twice).max() <= 1
