"""motionmap.palette: a target's colours, and snapping output pixels to them."""

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.palette import check_palette, in_palette, lock_frames, palette_for, snap_to_palette, target_palette


def brute_force_nearest(pixels, palette):
    """The nearest palette colour of each pixel by the definition (squared RGB distance, first on ties)."""
    d = ((pixels[:, None, :].astype(int) - palette[None, :, :].astype(int)) ** 2).sum(-1)
    return palette[d.argmin(1)]


class TestTargetPalette:
    def test_rgb_target_gives_its_distinct_colours(self):
        img = np.zeros((4, 4, 3), np.uint8)
        img[0] = (255, 0, 0)
        img[1, :2] = (0, 128, 255)
        pal = target_palette(img)
        assert pal.dtype == np.uint8 and pal.shape == (3, 3)
        assert {tuple(c) for c in pal} == {(0, 0, 0), (255, 0, 0), (0, 128, 255)}

    def test_rgba_target_leaves_transparent_pixels_out(self):
        img = np.zeros((4, 4, 4), np.uint8)
        img[..., :3] = (9, 9, 9)  # colour under alpha 0: invisible, not part of the drawing
        img[0, 0] = (200, 10, 10, 255)
        img[0, 1] = (10, 200, 10, 128)  # semi-transparent pixels are drawn: their (straight) colour counts
        assert {tuple(c) for c in target_palette(img)} == {(200, 10, 10), (10, 200, 10)}
        assert target_palette(np.zeros((4, 4, 4), np.uint8)).shape == (0, 3)  # fully transparent: no colours

    def test_several_images_and_a_sheet(self):
        a = np.zeros((2, 2, 4), np.uint8)
        a[0, 0] = (1, 2, 3, 255)
        b = np.zeros((2, 2, 4), np.uint8)
        b[1, 1] = (4, 5, 6, 255)
        assert {tuple(c) for c in target_palette([a, b])} == {(1, 2, 3), (4, 5, 6)}
        sheet = np.concatenate([a, b], axis=1)  # a 2x4 "sheet": the same colours
        np.testing.assert_array_equal(target_palette(sheet), target_palette([a, b]))

    def test_more_than_256_colours_are_all_kept(self):
        ys, xs = np.mgrid[0:64, 0:64]
        img = np.stack([ys * 4, xs * 4, (ys + xs) % 7 * 30], axis=-1).astype(np.uint8)  # 4096 distinct colours
        pal = target_palette(img)
        assert len(pal) == 4096 and in_palette(img, pal).all()


class TestSnap:
    def test_palette_colours_stay_exactly_as_they_are(self):
        rng = np.random.default_rng(0)
        pal = rng.integers(0, 256, (40, 3), dtype=np.uint8)
        img = pal[rng.integers(0, 40, (3, 16, 16))]  # (3, 16, 16, 3), drawn only in palette colours
        np.testing.assert_array_equal(snap_to_palette(img, pal), img)

    def test_other_colours_go_to_the_nearest_in_rgb(self):
        rng = np.random.default_rng(1)
        pal = rng.integers(0, 256, (300, 3), dtype=np.uint8)  # more than 256 colours
        img = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
        out = snap_to_palette(img, pal)
        assert in_palette(out, pal).all()
        np.testing.assert_array_equal(out.reshape(-1, 3), brute_force_nearest(img.reshape(-1, 3), pal))

    def test_single_colour_target(self):
        pal = target_palette(np.full((8, 8, 3), (30, 60, 90), np.uint8))
        img = np.random.default_rng(2).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
        assert (snap_to_palette(img, pal) == (30, 60, 90)).all()

    def test_empty_palette_and_where(self):
        img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
        np.testing.assert_array_equal(snap_to_palette(img, np.zeros((0, 3), np.uint8)), img)
        where = np.zeros((2, 4), bool)
        where[0, 0] = True
        out = snap_to_palette(img, np.array([[255, 255, 255]], np.uint8), where=where)
        assert (out[0, 0] == 255).all() and (out.reshape(-1, 3)[1:] == img.reshape(-1, 3)[1:]).all()

    def test_lock_frames_rgba_snaps_visible_pixels_only(self):
        frames = np.zeros((1, 2, 2, 4), np.uint8)
        frames[0, 0, 0] = (250, 5, 5, 255)
        frames[0, 0, 1] = (7, 7, 7, 0)
        out = lock_frames(frames, np.array([[255, 0, 0], [0, 0, 255]], np.uint8))
        assert out[0, 0, 0].tolist() == [255, 0, 0, 255]
        assert out[0, 0, 1].tolist() == [7, 7, 7, 0] and out[0, 1, 1].tolist() == [0, 0, 0, 0]


class TestOption:
    @pytest.mark.parametrize("bad", ["vivid", "TARGET", "", 3, None, np.zeros((2, 4), np.uint8)])
    def test_nonsense_is_a_one_line_error(self, bad):
        with pytest.raises(MotionmapError, match=r"unknown palette option; use 'target'.*or 'off'") as e:
            check_palette(bad)
        assert "\n" not in str(e.value)

    def test_modes_and_colours(self):
        rgba = np.zeros((4, 4, 4), np.uint8)
        rgba[1:3, 1:3] = (10, 20, 30, 255)
        assert palette_for("off", rgba, rgba_output=True) is None
        assert palette_for("target", rgba, rgba_output=True).tolist() == [[10, 20, 30]]
        # RGB output from an RGBA target: the colours the model saw, the target over black.
        assert palette_for("target", rgba, rgba_output=False).tolist() == [[0, 0, 0], [10, 20, 30]]
        explicit = np.array([[1, 1, 1]], np.uint8)
        assert palette_for(explicit, rgba, rgba_output=True) is explicit
