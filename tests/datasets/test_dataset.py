"""SpriteDataset: validation of a dataset folder, the frame cache, backgrounds."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tiny_sprites import TINY_CHARACTERS, TINY_LAYOUT, tiny_backgrounds, tiny_sheet, write_tiny

from motionmap.datasets import SpriteDataset
from motionmap.datasets.cache import sheet_frames
from motionmap.errors import MotionmapError


def _cells(sheet, layout):
    """Reference slicing, one cell at a time: uint8 [F, h, w, 4]."""
    h, w = layout.frame_height, layout.frame_width
    return np.stack([sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] for r, row in enumerate(layout.rows)
                     for c in range(row.frames)])


@pytest.fixture
def copy_of_tiny(tiny_dataset, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(tiny_dataset, dst)
    return dst


class TestOpen:
    def test_views(self, tiny_dataset):
        ds = SpriteDataset(tiny_dataset)
        assert ds.layout == TINY_LAYOUT and len(ds) == TINY_CHARACTERS
        assert [c.id for c in ds.characters] == [f"c{i:04d}" for i in range(TINY_CHARACTERS)]
        train, val = ds.split_indices("train"), ds.split_indices("val")
        assert len(val) == 1 and not set(train) & set(val) and len(train) + len(val) == TINY_CHARACTERS
        assert ds.frames_shape == (TINY_CHARACTERS, 9, 64, 64, 4)

    def test_missing_folder(self, tmp_path):
        with pytest.raises(MotionmapError, match="no such dataset folder"):
            SpriteDataset(tmp_path / "nope")

    def test_missing_manifest(self, tmp_path):
        with pytest.raises(MotionmapError, match="manifest.json: missing"):
            SpriteDataset(tmp_path)

    def test_corrupt_manifest(self, copy_of_tiny):
        (copy_of_tiny / "manifest.json").write_text('{"format": "motionmap-spr')
        with pytest.raises(MotionmapError, match=r"manifest.json: not valid JSON") as e:
            SpriteDataset(copy_of_tiny)
        assert "\n" not in str(e.value)

    def test_wrong_version(self, copy_of_tiny):
        path = copy_of_tiny / "manifest.json"
        d = json.loads(path.read_text())
        d["version"] = 3
        path.write_text(json.dumps(d))
        with pytest.raises(MotionmapError, match="version 3 is not supported"):
            SpriteDataset(copy_of_tiny)

    def test_missing_sheet_names_the_file(self, copy_of_tiny):
        (copy_of_tiny / "characters" / "c0003.png").unlink()
        with pytest.raises(MotionmapError, match=r"c0003.png: missing sheet"):
            SpriteDataset(copy_of_tiny)

    def test_missing_backgrounds(self, copy_of_tiny):
        (copy_of_tiny / "backgrounds.png").unlink()
        with pytest.raises(MotionmapError, match=r"backgrounds.png: missing"):
            SpriteDataset(copy_of_tiny)


class TestFrameCache:
    def test_equals_slicing_the_sheets(self, tiny_dataset):
        ds = SpriteDataset(tiny_dataset)
        frames = ds.frames()
        assert isinstance(frames, np.memmap) and frames.dtype == np.uint8 and not frames.flags.writeable
        for i in range(TINY_CHARACTERS):
            np.testing.assert_array_equal(frames[i], _cells(tiny_sheet(i), TINY_LAYOUT))
            np.testing.assert_array_equal(frames[i], _cells(ds.sheet(i), TINY_LAYOUT))

    def test_row_offsets_address_rows(self, tiny_dataset):
        ds = SpriteDataset(tiny_dataset)
        o = ds.row_offsets
        # blue encodes the frame within the row, green the row
        assert [int(ds.frames()[0, f, 30, 30, 1]) for f in range(o[1], o[2])] == [80, 80, 80]
        assert [int(ds.frames()[0, f, 30, 30, 2]) for f in range(o[1], o[2])] == [5, 55, 105]

    def test_rebuilt_when_missing(self, copy_of_tiny):
        (copy_of_tiny / "frames.npy").unlink()
        ds = SpriteDataset(copy_of_tiny)
        assert not ds.has_frame_cache()
        np.testing.assert_array_equal(ds.frames()[2], _cells(tiny_sheet(2), TINY_LAYOUT))
        assert ds.has_frame_cache()
        assert sorted(p.name for p in copy_of_tiny.iterdir()) == [
            "backgrounds.png", "characters", "frames.npy", "manifest.json"
        ]  # no temporary files left

    def test_not_built_on_request(self, copy_of_tiny):
        (copy_of_tiny / "frames.npy").unlink()
        with pytest.raises(MotionmapError, match="frame cache missing"):
            SpriteDataset(copy_of_tiny).frames(build=False)

    def test_stale_cache_is_refused(self, copy_of_tiny):
        np.save(copy_of_tiny / "frames.npy", np.zeros((2, 9, 64, 64, 4), np.uint8))
        with pytest.raises(MotionmapError, match="frames.npy: frame cache is uint8 \\(2, 9, 64, 64, 4\\)"):
            SpriteDataset(copy_of_tiny).frames()

    def test_sheet_of_wrong_size(self):
        with pytest.raises(MotionmapError, match="c9.png: sheet is 64x64 pixels"):
            sheet_frames(np.zeros((64, 64, 4), np.uint8), TINY_LAYOUT, name="c9.png")


def test_backgrounds_round_trip(tiny_dataset):
    np.testing.assert_array_equal(SpriteDataset(tiny_dataset).backgrounds(), tiny_backgrounds())


def test_same_seed_same_bytes(tiny_dataset, tmp_path):
    again = write_tiny(tmp_path / "again")
    for name in ["manifest.json", "backgrounds.png", "frames.npy", "characters/c0004.png"]:
        assert (again / name).read_bytes() == (tiny_dataset / name).read_bytes(), name
