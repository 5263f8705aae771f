"""Animations: GIF / APNG / frame folders / sheets / LPC layer folders, read and written, and bad input."""

from __future__ import annotations

import os
import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io import animation as animation_mod
from motionmap.io.animation import (
    DEFAULT_DURATION_MS,
    Animation,
    read_animation,
    read_sheet,
    write_animation,
    write_apng,
    write_frames,
    write_gif,
    write_sheet,
)
from motionmap.io.images import read_image, write_png
from motionmap.io.sheets import assemble_sheet, slice_sheet
from motionmap.layout import LPC_LAYOUT, grid_layout


class TestAnimation:
    def test_validates(self, sprite_frames):
        with pytest.raises(ValueError, match="got 2 frame durations for 6 frames"):
            Animation(sprite_frames, (100, 100))
        with pytest.raises(ValueError, match="positive"):
            Animation(sprite_frames, (0,) * 6)
        with pytest.raises(ValueError, match=r"expected uint8 \[T,H,W,4\]"):
            Animation(sprite_frames[0], (100,))

    def test_rgb_becomes_rgba(self, sprite_frames):
        anim = Animation.uniform(sprite_frames[..., :3], 40)
        assert anim.frames.shape[-1] == 4 and anim.durations_ms == (40,) * 6 and len(anim) == 6


class TestGif:
    def test_round_trip_rgba_durations_loop(self, tmp_path, sprite_frames):
        frames = sprite_frames.copy()
        frames[3] = frames[2]  # a held pose: kept as its own frame
        durations = (100, 200, 30, 40, 500, 70)
        write_gif(tmp_path / "a.gif", frames, durations, loop=0)
        anim = read_animation(tmp_path / "a.gif")
        assert anim.frames.shape == frames.shape
        assert anim.durations_ms == durations
        np.testing.assert_array_equal(anim.frames, frames)  # few colours, binary alpha: lossless
        assert iio.immeta(tmp_path / "a.gif", index=0)["loop"] == 0

    def test_partial_alpha_is_thresholded(self, tmp_path, make_sprites):
        frames = make_sprites(3, partial_alpha=True)
        write_gif(tmp_path / "a.gif", frames, 100)
        back = read_animation(tmp_path / "a.gif").frames
        np.testing.assert_array_equal(back[..., 3], np.where(frames[..., 3] >= 128, 255, 0))

    def test_rgb_many_colours(self, tmp_path):
        frames = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        write_gif(tmp_path / "noise.gif", frames, [20, 30, 40])
        anim = read_animation(tmp_path / "noise.gif")
        assert anim.frames.shape == (3, 32, 32, 4) and (anim.frames[..., 3] == 255).all()
        assert anim.durations_ms == (20, 30, 40)
        assert np.abs(anim.frames[..., :3].astype(int) - frames).mean() < 20  # quantised to 255 colours

    def test_durations_round_to_gif_units(self, tmp_path, sprite_frames):
        write_gif(tmp_path / "a.gif", sprite_frames[:2], [33, 4])
        assert read_animation(tmp_path / "a.gif").durations_ms == (30, 10)

    def test_truncated_gif(self, tmp_path, make_sprites):
        frames = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
        write_gif(tmp_path / "a.gif", frames, 100)
        data = (tmp_path / "a.gif").read_bytes()
        (tmp_path / "cut.gif").write_bytes(data[: len(data) // 2])
        with pytest.raises(MotionmapError, match=r"cut\.gif: not a readable image \(truncated or corrupt\)"):
            read_animation(tmp_path / "cut.gif")


class TestApng:
    def test_round_trip_exact(self, tmp_path, make_sprites):
        frames = make_sprites(5, partial_alpha=True)
        frames[2] = frames[1]  # repeated frames are kept
        frames[3] = frames[1]
        durations = (7, 33, 1000, 16, 250)
        write_apng(tmp_path / "a.png", frames, durations)
        anim = read_animation(tmp_path / "a.png")
        np.testing.assert_array_equal(anim.frames, frames)
        assert anim.durations_ms == durations

    def test_rgb_and_apng_suffix(self, tmp_path, sprite_frames):
        rgb = np.ascontiguousarray(sprite_frames[..., :3])
        write_apng(tmp_path / "a.apng", rgb, 80)
        anim = read_animation(tmp_path / "a.apng")
        np.testing.assert_array_equal(anim.frames[..., :3], rgb)
        assert (anim.frames[..., 3] == 255).all() and anim.durations_ms == (80,) * 6

    def test_single_frame(self, tmp_path, sprite_frames):
        write_apng(tmp_path / "one.png", sprite_frames[:1], 100)
        anim = read_animation(tmp_path / "one.png")
        np.testing.assert_array_equal(anim.frames, sprite_frames[:1])
        assert anim.durations_ms == (DEFAULT_DURATION_MS,)


class TestFrameFolder:
    def test_round_trip(self, tmp_path, sprite_frames):
        write_frames(tmp_path / "walk", sprite_frames)
        assert sorted(os.listdir(tmp_path / "walk"))[:2] == ["frame_000.png", "frame_001.png"]
        anim = read_animation(tmp_path / "walk")
        np.testing.assert_array_equal(anim.frames, sprite_frames)
        assert anim.durations_ms == (DEFAULT_DURATION_MS,) * len(sprite_frames)

    def test_natural_order_and_other_files_ignored(self, tmp_path, make_sprites):
        frames = make_sprites(11)
        folder = tmp_path / "f"
        folder.mkdir()
        for i, frame in enumerate(frames):
            write_png(folder / f"walk{i + 1}.png", frame)  # walk1 .. walk11: lexical order would put 10 after 1
        (folder / "notes.txt").write_text("not a frame")
        (folder / ".DS_Store").write_bytes(b"\0")
        np.testing.assert_array_equal(read_animation(folder).frames, frames)

    def test_empty_folder(self, tmp_path):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "readme.txt").write_text("x")
        with pytest.raises(MotionmapError, match=r"empty: no PNG frames in this folder"):
            read_animation(tmp_path / "empty")

    def test_mismatched_frame_sizes(self, tmp_path, make_sprites):
        folder = tmp_path / "f"
        folder.mkdir()
        write_png(folder / "0.png", make_sprites(1, 24, 20)[0])
        write_png(folder / "1.png", make_sprites(1, 30, 20)[0])
        with pytest.raises(MotionmapError, match=r"1\.png: frame is 20x30 but 0\.png is 20x24; all frames need"):
            read_animation(folder)

    def test_corrupt_frame_named(self, tmp_path, sprite_frames):
        write_frames(tmp_path / "f", sprite_frames)
        (tmp_path / "f" / "frame_003.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        with pytest.raises(MotionmapError, match=r"frame_003\.png: not"):
            read_animation(tmp_path / "f")

    def test_animation_flag_on_frame_folder(self, tmp_path, sprite_frames):
        write_frames(tmp_path / "f", sprite_frames)
        with pytest.raises(MotionmapError, match="is a folder of frames, not a sprite sheet"):
            read_animation(tmp_path / "f", animation="walk")


class TestSheets:
    @pytest.fixture
    def lpc_rows(self, make_sprites):
        return [make_sprites(r.frames, 64, 64, seed=i) for i, r in enumerate(LPC_LAYOUT.rows)]

    def test_lpc_sheet_by_name(self, tmp_path, lpc_rows):
        write_sheet(tmp_path / "hero.png", lpc_rows, LPC_LAYOUT)
        anim = read_animation(tmp_path / "hero.png", animation="walk", facing="left")
        np.testing.assert_array_equal(anim.frames, lpc_rows[9])
        assert anim.durations_ms == (DEFAULT_DURATION_MS,) * 9

    def test_sheet_round_trip_via_write_sheet(self, tmp_path, lpc_rows):
        write_sheet(tmp_path / "hero.png", lpc_rows, LPC_LAYOUT)
        back = slice_sheet(read_sheet(tmp_path / "hero.png"), LPC_LAYOUT)
        for a, b in zip(lpc_rows, back):
            np.testing.assert_array_equal(a, b)

    def test_unknown_animation_and_facing(self, tmp_path, lpc_rows):
        write_sheet(tmp_path / "hero.png", lpc_rows, LPC_LAYOUT)
        with pytest.raises(MotionmapError, match=r"hero\.png: unknown animation 'dance'"):
            read_animation(tmp_path / "hero.png", animation="dance")
        with pytest.raises(MotionmapError, match=r"hero\.png: animation 'slash' has no facing 'north'"):
            read_animation(tmp_path / "hero.png", animation="slash", facing="north")

    def test_sheet_without_animation(self, tmp_path, lpc_rows):
        write_sheet(tmp_path / "hero.png", lpc_rows, LPC_LAYOUT)
        with pytest.raises(MotionmapError, match=r"hero\.png: is a sprite sheet; pick an animation with --animation"):
            read_animation(tmp_path / "hero.png")

    def test_sheet_size_not_multiple(self, tmp_path):
        write_png(tmp_path / "hero.png", np.zeros((1344, 830, 4), np.uint8))
        with pytest.raises(MotionmapError, match=r"hero\.png: 830x1344 is not an LPC sheet"):
            read_animation(tmp_path / "hero.png", animation="walk", facing="left")
        with pytest.raises(MotionmapError, match=r"hero\.png: 830x1344 is not a multiple of the 64x64 frame size"):
            read_animation(tmp_path / "hero.png", animation="row0", frame_size="64x64")

    def test_generic_grid(self, tmp_path, make_sprites):
        layout = grid_layout(20, 24, 5, 2, names=["idle", "run"])
        rows = [make_sprites(3, seed=1), make_sprites(5, seed=2)]
        write_sheet(tmp_path / "grid.png", rows, layout)
        run = read_animation(tmp_path / "grid.png", animation="run", frame_size=(20, 24), names=["idle", "run"])
        np.testing.assert_array_equal(run.frames, rows[1])
        idle = read_animation(tmp_path / "grid.png", animation="row0", frame_size="20x24")
        assert len(idle) == 3  # trailing empty cells trimmed
        capped = read_animation(tmp_path / "grid.png", animation="row1", frame_size="20x24", frame_counts=[3, 2])
        np.testing.assert_array_equal(capped.frames, rows[1][:2])


class TestLpcLayerFolders:
    @pytest.fixture
    def character(self, lpc_root, tmp_path):
        from motionmap.lpc import LpcLayers, LpcRecipe, compose_character

        recipe = LpcRecipe(body="1", bottomwear="2", topwear="3", hair="4", shoes="0", eyes="1")
        return recipe, compose_character(LpcLayers(lpc_root), recipe)

    def test_flat_folder(self, lpc_root, tmp_path, character):
        recipe, expected = character
        folder = tmp_path / "hero"
        folder.mkdir()
        # copied (into the test's temp dir only) under names whose sort order is not the stacking order
        for layer, option in recipe.layers():
            shutil.copy(lpc_root / layer / f"{option}.png", folder / f"{layer}.png")
        np.testing.assert_array_equal(read_sheet(folder), expected)
        walk = read_animation(folder, animation="walk", facing="down")
        np.testing.assert_array_equal(walk.frames, slice_sheet(expected, LPC_LAYOUT)[10])

    def test_subfolders(self, lpc_root, tmp_path, character):
        recipe, expected = character
        for layer, option in recipe.layers():
            (tmp_path / "hero" / layer).mkdir(parents=True)
            shutil.copy(lpc_root / layer / f"{option}.png", tmp_path / "hero" / layer / "sheet.png")
        np.testing.assert_array_equal(read_sheet(tmp_path / "hero"), expected)
        with pytest.raises(MotionmapError, match="is a folder of LPC layer sheets; pick an animation"):
            read_animation(tmp_path / "hero")

    def test_library_folder_is_refused(self, lpc_root):
        with pytest.raises(MotionmapError, match=r"body: has 6 layer sheets .*one per layer"):
            read_sheet(lpc_root)


class TestWriteAnimation:
    def test_by_suffix(self, tmp_path, sprite_frames):
        anim = Animation(sprite_frames, (50, 60, 70, 80, 90, 100))
        for name in ("a.gif", "a.png", "a"):
            write_animation(tmp_path / name, anim)
            back = read_animation(tmp_path / name)
            np.testing.assert_array_equal(back.frames, anim.frames)
        assert read_animation(tmp_path / "a.gif").durations_ms == anim.durations_ms
        assert read_animation(tmp_path / "a.png").durations_ms == anim.durations_ms

    def test_format_from_suffix(self):
        from motionmap.io.animation import animation_format

        assert [animation_format(n) for n in ("a.GIF", "a.png", "b/a.apng", "frames", "a.mp4", "a.json")] == [
            "gif", "apng", "apng", "frames", None, None]

    def test_unsupported_suffix(self, tmp_path, sprite_frames):
        with pytest.raises(MotionmapError, match=r"a\.mp4: cannot write \.mp4 animations; use \.gif"):
            write_animation(tmp_path / "a.mp4", Animation.uniform(sprite_frames))

    @pytest.mark.parametrize("name", ["a.gif", "a.png", "frames"])
    def test_output_exists(self, tmp_path, sprite_frames, name):
        anim = Animation.uniform(sprite_frames)
        write_animation(tmp_path / name, anim)
        with pytest.raises(MotionmapError, match="already exists; pass --overwrite or choose another --out"):
            write_animation(tmp_path / name, Animation.uniform(sprite_frames[:2]))
        assert len(read_animation(tmp_path / name)) == 6
        write_animation(tmp_path / name, Animation.uniform(sprite_frames[:2]), overwrite=True)
        assert len(read_animation(tmp_path / name)) == 2

    @pytest.mark.parametrize("name", ["a.png", "frames"])
    def test_failed_write_leaves_no_partial_output(self, tmp_path, sprite_frames, monkeypatch, name):
        calls = []
        real_imwrite = iio.imwrite

        def crash_after_partial_write(uri, image, **kwargs):
            calls.append(uri)
            if len(calls) == 3 or name == "a.png":
                if uri != "<bytes>":  # imageio encodes in memory for this uri: nothing reaches the disk
                    with open(uri, "wb") as f:
                        f.write(b"\x89PNG half written")
                raise OSError("No space left on device")
            return real_imwrite(uri, image, **kwargs)

        monkeypatch.setattr(animation_mod.iio, "imwrite", crash_after_partial_write)
        (tmp_path / "out").mkdir()
        with pytest.raises(OSError, match="No space"):
            write_animation(tmp_path / "out" / name, Animation.uniform(sprite_frames))
        assert os.listdir(tmp_path / "out") == []

    def test_failed_gif_write_keeps_old_file(self, tmp_path, sprite_frames, monkeypatch):
        write_gif(tmp_path / "a.gif", sprite_frames, 100)
        before = (tmp_path / "a.gif").read_bytes()

        def broken(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(animation_mod.GifImagePlugin, "getdata", broken)
        with pytest.raises(OSError):
            write_gif(tmp_path / "a.gif", sprite_frames[:2], 100, overwrite=True)
        assert (tmp_path / "a.gif").read_bytes() == before
        assert os.listdir(tmp_path) == ["a.gif"]

    def test_write_sheet_matches_assemble(self, tmp_path, make_sprites):
        layout = grid_layout(20, 24, 4, 2)
        rows = [make_sprites(4, seed=3), make_sprites(2, seed=4)]
        write_sheet(tmp_path / "s.png", rows, layout)
        np.testing.assert_array_equal(read_image(tmp_path / "s.png"), assemble_sheet(rows, layout))


def test_missing_path(tmp_path):
    with pytest.raises(MotionmapError, match=r"nope\.gif: no such file or folder"):
        read_animation(tmp_path / "nope.gif")


def test_non_image_animation(tmp_path):
    (tmp_path / "a.gif").write_text("hello")
    with pytest.raises(MotionmapError, match=r"a\.gif: not an image file"):
        read_animation(tmp_path / "a.gif")
