"""Sheets: slicing with trimming, assembling, layout detection, and bad sheet sizes."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io.images import read_image
from motionmap.io.sheets import (
    animation_from_sheet,
    assemble_sheet,
    detect_layout,
    first_frame,
    parse_frame_size,
    row_frames,
    slice_sheet,
)
from motionmap.layout import LPC_LAYOUT, grid_layout

LPC_COUNTS = {"spellcast": 7, "thrust": 8, "walk": 9, "slash": 6, "shoot": 13, "hurt": 6}


def _rows_for(layout, make_sprites, counts):
    return [make_sprites(n, layout.frame_height, layout.frame_width, seed=i) for i, n in enumerate(counts)]


class TestSliceAssemble:
    def test_round_trip_grid(self, make_sprites):
        layout = grid_layout(20, 24, 6, 3)
        rows = _rows_for(layout, make_sprites, [6, 2, 4])
        sheet = assemble_sheet(rows, layout)
        assert sheet.shape == (72, 120, 4) and sheet.dtype == np.uint8
        assert not sheet[24:48, 40:, 3].any()  # unused cells stay transparent
        back = slice_sheet(sheet, layout)
        assert [len(r) for r in back] == [6, 2, 4]
        for a, b in zip(rows, back):
            np.testing.assert_array_equal(a, b)

    def test_round_trip_lpc(self, make_sprites):
        counts = [r.frames for r in LPC_LAYOUT.rows]
        rows = _rows_for(LPC_LAYOUT, make_sprites, counts)
        sheet = assemble_sheet(rows, LPC_LAYOUT)
        assert sheet.shape == (1344, 832, 4)
        back = slice_sheet(sheet, LPC_LAYOUT)
        assert [len(r) for r in back] == counts
        np.testing.assert_array_equal(back[9], rows[9])

    def test_row_frames_and_first_frame(self, make_sprites):
        layout = grid_layout(20, 24, 6, 3)
        rows = _rows_for(layout, make_sprites, [6, 2, 4])
        sheet = assemble_sheet(rows, layout)
        np.testing.assert_array_equal(row_frames(sheet, layout, 2)[:4], rows[2])  # the row's cells, untrimmed
        assert row_frames(sheet, layout, 1).shape == (6, 24, 20, 4) and not row_frames(sheet, layout, 1)[2:].any()
        np.testing.assert_array_equal(row_frames(sheet, layout, 0, 3), rows[0][:3])
        np.testing.assert_array_equal(first_frame(sheet, layout, 1), rows[1][0])
        assert first_frame(sheet, layout, 1).flags.c_contiguous

    def test_empty_row_keeps_one_frame(self):
        layout = grid_layout(8, 8, 4, 2)
        sheet = np.zeros((16, 32, 4), np.uint8)
        sheet[0:8, 0:8, 3] = 255
        sheet[0:8, 16:24, 3] = 255  # a gap at cell 1 is kept, the empty tail dropped
        rows = slice_sheet(sheet, layout)
        assert [len(r) for r in rows] == [3, 1]

    def test_rgb_sheet_is_not_trimmed(self):
        layout = grid_layout(8, 8, 4, 1)
        rows = slice_sheet(np.zeros((8, 32, 3), np.uint8), layout)
        assert rows[0].shape == (4, 8, 8, 3)

    def test_larger_sheet_is_fine(self):
        layout = grid_layout(8, 8, 2, 1)
        rows = slice_sheet(np.full((24, 40, 4), 255, np.uint8), layout)
        assert rows[0].shape == (2, 8, 8, 4)

    def test_not_a_multiple_of_frame_size(self):
        with pytest.raises(MotionmapError) as e:
            slice_sheet(np.zeros((1344, 830, 4), np.uint8), LPC_LAYOUT, "hero.png")
        assert str(e.value).startswith("hero.png: 830x1344 is not a multiple of the 64x64 frame size; ")

    def test_smaller_than_layout(self):
        with pytest.raises(MotionmapError, match=r"hero\.png: 832x640 is smaller than the 832x1344"):
            slice_sheet(np.zeros((640, 832, 4), np.uint8), LPC_LAYOUT, "hero.png")

    def test_assemble_rejects_wrong_frames(self, make_sprites):
        layout = grid_layout(20, 24, 3, 1)
        with pytest.raises(ValueError, match="has 4 frames"):
            assemble_sheet([make_sprites(4)], layout)
        with pytest.raises(ValueError, match=r"must be uint8 \[T,24,20,4\]"):
            assemble_sheet([make_sprites(2, 10, 10)], layout)
        with pytest.raises(ValueError, match="got 2 animations"):
            assemble_sheet([make_sprites(2)] * 2, layout)


class TestAnimationFromSheet:
    @pytest.fixture
    def lpc_sheet(self, make_sprites):
        return assemble_sheet(_rows_for(LPC_LAYOUT, make_sprites, [r.frames for r in LPC_LAYOUT.rows]), LPC_LAYOUT)

    def test_by_name_and_facing(self, lpc_sheet):
        walk_left = animation_from_sheet(lpc_sheet, LPC_LAYOUT, "walk", "left")
        assert walk_left.shape == (9, 64, 64, 4)
        np.testing.assert_array_equal(walk_left[0], lpc_sheet[9 * 64 : 10 * 64, :64])
        assert animation_from_sheet(lpc_sheet, LPC_LAYOUT, "hurt").shape[0] == 6

    def test_unknown_animation(self, lpc_sheet):
        with pytest.raises(MotionmapError, match=r"hero\.png: unknown animation 'run'; this sheet has: spellcast"):
            animation_from_sheet(lpc_sheet, LPC_LAYOUT, "run", name_for_errors="hero.png")

    def test_unknown_or_missing_facing(self, lpc_sheet):
        with pytest.raises(MotionmapError, match=r"hero\.png: animation 'walk' has no facing 'north'; it has: up"):
            animation_from_sheet(lpc_sheet, LPC_LAYOUT, "walk", "north", name_for_errors="hero.png")
        with pytest.raises(MotionmapError, match="several facings.*--facing"):
            animation_from_sheet(lpc_sheet, LPC_LAYOUT, "walk")


class TestDetectLayout:
    def test_lpc(self):
        assert detect_layout(832, 1344) is LPC_LAYOUT
        assert detect_layout(832, 1344, "64x64") is LPC_LAYOUT
        assert detect_layout(832, 1344 + 4 * 64) is LPC_LAYOUT  # taller generator sheets

    def test_lpc_counts(self):
        for name, n in LPC_COUNTS.items():
            assert {LPC_LAYOUT.rows[LPC_LAYOUT.row_index(name, f)].frames for f in LPC_LAYOUT.facings_of(name)} == {n}

    def test_grid(self):
        layout = detect_layout(96, 64, (32, 32), names=["idle", "run"], frame_counts=[2, 3])
        assert (layout.frame_width, layout.columns, layout.animation_names) == (32, 3, ("idle", "run"))
        assert [r.frames for r in layout.rows] == [2, 3]
        assert detect_layout(832, 1344, names=[f"r{i}" for i in range(21)]).columns == 13

    def test_grid_needs_frame_size(self):
        with pytest.raises(MotionmapError, match=r"hero\.png: 96x64 is not an LPC sheet .*--frame-size"):
            detect_layout(96, 64, name_for_errors="hero.png")

    def test_grid_size_must_divide(self):
        with pytest.raises(MotionmapError, match="100x64 is not a multiple of the 32x32 frame size"):
            detect_layout(100, 64, "32x32")

    def test_names_must_match_rows(self):
        with pytest.raises(MotionmapError, match=r"hero\.png: got 1 animation names for a sheet with 2 rows"):
            detect_layout(96, 64, 32, names=["idle"], name_for_errors="hero.png")

    def test_parse_frame_size(self):
        assert parse_frame_size("64x48") == (64, 48)
        assert parse_frame_size(32) == (32, 32)
        assert parse_frame_size((16, 8)) == (16, 8)
        assert parse_frame_size(None) is None
        with pytest.raises(MotionmapError, match="WIDTHxHEIGHT"):
            parse_frame_size("big")


class TestRealLpcLayers:
    """Frame counts per animation measured on the real LPC art, after trimming empty trailing cells."""

    def test_body_sheets_have_lpc_frame_counts(self, lpc_root):
        for body in sorted((lpc_root / "body").glob("*.png")):
            rows = slice_sheet(read_image(body), LPC_LAYOUT, str(body))
            measured = {}
            for spec, frames in zip(LPC_LAYOUT.rows, rows):
                measured.setdefault(spec.name, set()).add(len(frames))
            assert measured == {k: {v} for k, v in LPC_COUNTS.items()}, body
