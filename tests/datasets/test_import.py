"""`motionmap data import`: every input kind into one dataset, per-character animation sets, and bad input."""

import json

import numpy as np
import pytest

from motionmap.cli import main
from motionmap.datasets import FramePairDataModule, SpriteDataset
from motionmap.datasets.importer import parse_row_map, read_character, row_key
from motionmap.io import Animation, write_animation, write_png
from motionmap.layout import LPC_LAYOUT
from sprite_exports import export_aseprite, moving_square, tag


def grid_sheet(rows, w=16, h=16, columns=6):
    """rows: list of ``uint8 [T,h,w,4]`` -> a sheet ``uint8 [len(rows)*h, columns*w, 4]``, empty cells transparent."""
    sheet = np.zeros((len(rows) * h, columns * w, 4), np.uint8)
    for r, frames in enumerate(rows):
        sheet[r * h:(r + 1) * h, :len(frames) * w] = frames.transpose(1, 0, 2, 3).reshape(h, -1, 4)
    return sheet


@pytest.fixture
def inputs(tmp_path):
    """Four characters of 16x16 frames, one of each kind: json-array, json-hash (trimmed, pingpong), grid, GIF folder."""
    src = tmp_path / "art"
    src.mkdir()
    a = export_aseprite(src, "knight", np.concatenate([moving_square(4, seed=1), moving_square(3, seed=2)]),
                        [100, 110, 120, 130, 70, 70, 70], [tag("walk_down", 0, 3), tag("idle", 4, 6)], "array")
    b = export_aseprite(src, "mage", moving_square(4, colour=(30, 30, 220), seed=3), [90, 80, 70, 60],
                        [tag("walk_down", 0, 3, "pingpong")], "hash", trim=True)
    grid = write_png(src / "slime.png", grid_sheet([moving_square(5, seed=4), np.zeros((1, 16, 16, 4), np.uint8),
                                                     moving_square(2, seed=5)]))
    folder = src / "bat"
    folder.mkdir()
    write_animation(folder / "walk_down.gif", Animation(moving_square(3, seed=6), (40, 50, 60)))
    frames = folder / "attack"
    frames.mkdir()
    for i, f in enumerate(moving_square(2, seed=7)):
        write_png(frames / f"frame_{i}.png", f)
    return {"aseprite": a, "hash": b, "grid": grid, "folder": folder}


def import_cli(*args):
    return main(["data", "import", *[str(a) for a in args]])


class TestImportDataset:
    def test_every_input_kind_into_one_dataset(self, inputs, tmp_path, capsys):
        out = tmp_path / "ds"
        code = import_cli(inputs["aseprite"], inputs["hash"], inputs["grid"], inputs["folder"], "--out", out,
                          "--frame-size", "16x16", "--rows", "walk_down,-,hurt", "--preview", tmp_path / "p.gif")
        assert code == 0, capsys.readouterr().err
        ds = SpriteDataset(out)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["version"] == 2 and manifest["source"] == "import"
        rows = [(r.name, r.facing, r.frames) for r in ds.layout.rows]
        # Union of the animations in order of first appearance, each as long as its longest take (mage's pingpong 6).
        assert rows == [("walk", "down", 6), ("idle", None, 3), ("hurt", None, 2), ("attack", None, 2)]
        assert (ds.layout.frame_width, ds.layout.frame_height) == (16, 16)
        assert ds.row_frames().tolist() == [[4, 3, 0, 0], [6, 0, 0, 0], [5, 0, 2, 0], [3, 0, 0, 2]]
        assert [c.recipe["kind"] for c in ds.characters] == ["aseprite", "aseprite", "grid", "folder"]
        # Durations are kept per frame: knight's walk, mage's pingpong, the bat's GIF; sheets get the default.
        durations = [c.durations_ms for c in ds.characters]
        assert durations[0][0] == (100, 110, 120, 130) and durations[1][0] == (90, 80, 70, 60, 70, 80)
        assert durations[3][0] == (40, 50, 60) and durations[2][0] == (100,) * 5
        # The frame cache holds the real frames: the mage's trimmed pingpong restored and played 0 1 2 3 2 1.
        frames = ds.frames()
        mage = moving_square(4, colour=(30, 30, 220), seed=3)
        np.testing.assert_array_equal(frames[1, :6], mage[[0, 1, 2, 3, 2, 1]])
        np.testing.assert_array_equal(frames[0, 6:9], moving_square(3, seed=2))  # idle row starts at offset 6
        assert not frames[1, 6:].any()  # rows the mage lacks stay empty
        assert (tmp_path / "p.gif").is_file()

    def test_training_pairs_only_come_from_rows_a_character_has(self, inputs, tmp_path):
        out = tmp_path / "ds"
        assert import_cli(inputs["aseprite"], inputs["hash"], inputs["grid"], inputs["folder"], "--out", out,
                          "--frame-size", "16x16", "--rows", "walk_down,-,hurt") == 0
        dm = FramePairDataModule(str(out), batch_size=256, num_workers=0, seed=3)
        dm.setup()
        raw = next(iter(dm.train_dataloader()))
        own, offsets = dm.dataset.row_frames(), dm.dataset.row_offsets
        for c, r, pair in zip(raw.character.tolist(), raw.row.tolist(), raw.frame.tolist()):
            assert own[c, r] > 0 and all(offsets[r] <= f < offsets[r] + own[c, r] for f in pair)
        assert raw.frames[..., 3].flatten(2).amax(2).bool().all()  # never an empty cell
        assert len(set(raw.row.tolist())) >= 3  # and every row is used
        assert dm.on_after_batch_transfer(raw, 0).x.shape == (256, 3, 16, 16)

    def test_lpc_sheets_keep_their_rows(self, tmp_path):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        walk = LPC_LAYOUT.row_index("walk", "left")
        sheet[walk * 64:walk * 64 + 64, :9 * 64] = grid_sheet([moving_square(9, 64, 64)], 64, 64, 9)
        char = read_character(write_png(tmp_path / "hero.png", sheet))
        assert char.kind == "lpc" and [(k.name, k.facing, len(a)) for k, a in char.animations] == [("walk", "left", 9)]

    def test_a_folder_of_png_frames_is_one_animation(self, tmp_path):
        folder = tmp_path / "blink"
        folder.mkdir()
        for i, f in enumerate(moving_square(3)):
            write_png(folder / f"{i}.png", f)
        (key, anim), = read_character(folder).animations
        assert key == row_key("blink") and len(anim) == 3


class TestRowMap:
    def test_forms(self, tmp_path):
        assert parse_row_map("walk_down, walk_up,-") == ["walk_down", "walk_up", "-"]
        text = tmp_path / "rows.txt"
        text.write_text("# my sheet\nwalk_down\n\nidle  # standing\n")
        assert parse_row_map(str(text)) == ["walk_down", "idle"]
        js = tmp_path / "rows.json"
        js.write_text('["a", "b"]')
        assert parse_row_map(str(js)) == ["a", "b"]

    def test_facing_suffix(self):
        assert row_key("walk_left") == ("walk", "left") and row_key("walk") == ("walk", None)
        assert row_key("side_step") == ("side_step", None)


def assert_refused(capsys, out, match):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("motionmap: error: ") and match in lines[0], err
    assert not out.exists()


class TestBadInput:
    def test_row_map_not_matching_the_sheet(self, inputs, tmp_path, capsys):
        out = tmp_path / "ds"
        assert import_cli(inputs["grid"], inputs["aseprite"], "--out", out, "--frame-size", "16x16",
                          "--rows", "walk_down,idle") == 2
        assert_refused(capsys, out, "--rows names 2 rows but the sheet has 3 rows")

    def test_mixed_frame_sizes(self, inputs, tmp_path, capsys):
        big = export_aseprite(tmp_path, "giant", moving_square(2, 24, 24), [100, 100])
        out = tmp_path / "ds"
        assert import_cli(inputs["aseprite"], big, "--out", out) == 2
        assert_refused(capsys, out, "frames are 24x24 but knight.json has 16x16; one dataset has one frame size")

    @pytest.mark.parametrize("size", [4, 300])
    def test_frame_size_outside_8_to_256(self, tmp_path, capsys, size):
        a = export_aseprite(tmp_path, "a", moving_square(2, size, size), [100, 100])
        b = export_aseprite(tmp_path, "b", moving_square(2, size, size), [100, 100])
        out = tmp_path / "ds"
        assert import_cli(a, b, "--out", out) == 2
        assert_refused(capsys, out, f"frame size {size}x{size} is outside 8..256 px")

    def test_missing_image_of_a_json(self, inputs, tmp_path, capsys):
        (inputs["aseprite"].with_suffix(".png")).unlink()
        out = tmp_path / "ds"
        assert import_cli(inputs["aseprite"], inputs["hash"], "--out", out) == 2
        assert_refused(capsys, out, "its image knight.png is missing")

    def test_one_character_is_not_a_dataset(self, inputs, tmp_path, capsys):
        out = tmp_path / "ds"
        assert import_cli(inputs["aseprite"], "--out", out) == 2
        assert_refused(capsys, out, "at least 2 characters")

    def test_a_still_image_needs_a_frame_size(self, inputs, tmp_path, capsys):
        out = tmp_path / "ds"
        assert import_cli(inputs["grid"], inputs["aseprite"], "--out", out) == 2
        assert_refused(capsys, out, "give --frame-size")

    def test_rows_without_frame_size(self, inputs, tmp_path, capsys):
        out = tmp_path / "ds"
        assert import_cli(inputs["grid"], inputs["aseprite"], "--out", out, "--rows", "a,b,c") == 2
        assert_refused(capsys, out, "give its --frame-size")

    def test_bad_tag_in_one_input_writes_nothing(self, inputs, tmp_path, capsys):
        doc = json.loads(inputs["aseprite"].read_text())
        doc["meta"]["frameTags"].append(tag("jump", 5, 9))
        inputs["aseprite"].write_text(json.dumps(doc))
        out = tmp_path / "ds"
        assert import_cli(inputs["hash"], inputs["aseprite"], "--out", out) == 2
        assert_refused(capsys, out, "point past the last frame")
