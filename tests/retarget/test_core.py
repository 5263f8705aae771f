"""motionmap.core: targets from images and sheets, references, RGBA, whole LPC sheets."""

import numpy as np
import pytest

from motionmap.core import (
    check_target_size,
    is_device,
    load_animation_inputs,
    load_facing_targets,
    load_target,
    load_target_frame,
    reference_frame,
    resolve_device,
    retarget_animation,
    retarget_frames,
    retarget_lpc_sheet,
)
from motionmap.errors import MotionmapError
from motionmap.io import Animation, write_png
from motionmap.layout import FACINGS, LPC_LAYOUT
from retarget_helpers import blob_frames, character


class ShiftRetargeter:
    """A stand-in model with a known answer: moves the target horizontally by the source's motion a0 -> a_t (the
    shift of the bright pixels' mean x), filling behind with the target's corner colour (it keeps the background)."""

    def __init__(self):
        self.calls = []

    @staticmethod
    def _x(frame):
        rgb = frame[..., :3].astype(float) * (frame[..., 3:] / 255 if frame.shape[-1] == 4 else 1)
        ys, xs = np.nonzero(rgb.sum(-1) > 0)
        return xs.mean() if len(xs) else 0.0

    def retarget(self, source, target):
        self.calls.append((source.copy(), target.copy()))
        assert target.shape[-1] == 3, "the RGB-only Retargeter contract"
        out = []
        for frame in source:
            dx = int(round(self._x(frame) - self._x(source[0])))
            moved = np.empty_like(target)
            moved[:] = target[0, 0]
            if dx >= 0:
                moved[:, dx:] = target[:, : target.shape[1] - dx]
            else:
                moved[:, :dx] = target[:, -dx:]
            out.append(moved)
        return np.stack(out)


class TestLoadTarget:
    def test_image(self, tmp_path):
        p = write_png(tmp_path / "t.png", character())
        np.testing.assert_array_equal(load_target(p), character())
        assert load_target_frame(p).animation is None

    def test_lpc_sheet_takes_walk_of_facing(self, tmp_path):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        for i, spec in enumerate(LPC_LAYOUT.rows):
            sheet[i * 64 : i * 64 + 64, :64] = (i, 0, 0, 255)
        p = write_png(tmp_path / "s.png", sheet)
        for facing in FACINGS:
            row = LPC_LAYOUT.row_index("walk", facing)
            assert load_target(p, facing=facing)[0, 0, 0] == row
        f = load_target_frame(p, facing="left", animation="slash")
        assert f.image[0, 0, 0] == LPC_LAYOUT.row_index("slash", "left") and f.animation == "slash"
        assert load_target_frame(p, facing="left", animation="hurt").image[0, 0, 0] == 20
        assert load_target_frame(p, animation="hurt").image[0, 0, 0] == 20  # one facing: none needed

    def test_lpc_sheet_missing_row_falls_back_to_walk(self, tmp_path):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        sheet[8 * 64 : 12 * 64, :64] = 255
        p = write_png(tmp_path / "s.png", sheet)
        f = load_target_frame(p, facing="up", animation="shoot")
        assert f.animation == "walk" and f.image[..., 3].all()

    def test_known_layout_with_facings(self, tmp_path):
        from motionmap.synth import SYNTH_LAYOUT

        w, h = SYNTH_LAYOUT.size
        sheet = np.zeros((h, w, 4), np.uint8)
        for i in range(len(SYNTH_LAYOUT.rows)):
            sheet[i * 64 : i * 64 + 64, :64] = (i, 0, 0, 255)
        p = write_png(tmp_path / "synth.png", sheet)
        run_left = load_target_frame(p, facing="left", animation="run", layout=SYNTH_LAYOUT)
        assert (run_left.animation, run_left.facing) == ("run", "left")
        assert run_left.image[0, 0, 0] == SYNTH_LAYOUT.row_index("run", "left")
        first = load_target_frame(p, animation="fly", layout=SYNTH_LAYOUT)  # unknown: the first row, first facing
        assert (first.animation, first.facing) == (SYNTH_LAYOUT.rows[0].name, SYNTH_LAYOUT.rows[0].facing)
        assert first.image[0, 0, 0] == 0

    def test_lpc_sheet_needs_facing(self, tmp_path):
        p = write_png(tmp_path / "s.png", np.full((1344, 832, 4), 255, np.uint8))
        with pytest.raises(MotionmapError, match="is an LPC sheet; say which facing"):
            load_target(p)

    def test_grid_sheet(self, tmp_path):
        sheet = np.zeros((64, 96, 4), np.uint8)  # 2 rows x 3 columns of 32x32
        sheet[32:, :32] = (9, 9, 9, 255)
        sheet[:32, :32] = (5, 5, 5, 255)
        p = write_png(tmp_path / "g.png", sheet)
        assert load_target(p, frame_size="32x32", animation="row1")[0, 0, 0] == 9
        assert load_target(p, frame_size="32x32")[0, 0, 0] == 5

    def test_empty_frame(self, tmp_path):
        p = write_png(tmp_path / "s.png", np.zeros((1344, 832, 4), np.uint8))
        with pytest.raises(MotionmapError, match="is empty"):
            load_target(p, facing="down")

    def test_unreadable(self, tmp_path):
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"not a png")
        with pytest.raises(MotionmapError, match="bad.png"):
            load_target(bad)


class TestFacingTargets:
    def test_four_images(self, tmp_path):
        paths = [write_png(tmp_path / f"{f}.png", np.full((64, 64, 4), i, np.uint8)) for i, f in enumerate(FACINGS)]
        targets = load_facing_targets(paths)
        assert list(targets) == list(FACINGS)
        assert [int(targets[f][0, 0, 0]) for f in FACINGS] == [0, 1, 2, 3]

    def test_sheet(self, tmp_path):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        for i in range(21):
            sheet[i * 64 : i * 64 + 64, :64] = (i, 0, 0, 255)
        targets = load_facing_targets(write_png(tmp_path / "s.png", sheet))
        assert [int(targets[f][0, 0, 0]) for f in FACINGS] == [8, 9, 10, 11]

    @pytest.mark.parametrize("n", [1, 3, 5])
    def test_wrong_count(self, tmp_path, n):
        paths = [write_png(tmp_path / f"{i}.png", np.full((64, 64, 4), 255, np.uint8)) for i in range(n)]
        with pytest.raises(MotionmapError) as e:
            load_facing_targets(paths)
        word = "image" if n == 1 else "images"
        assert str(e.value) == (f"--target: got {n} {word}; --all needs one per facing (up, left, down, right) "
                                "or a sheet")


def test_check_target_size():
    check_target_size(np.zeros((64, 64, 4), np.uint8), (64, 64))
    with pytest.raises(MotionmapError, match="32x32 is smaller than the source frames \\(64x64\\)"):
        check_target_size(np.zeros((32, 32, 4), np.uint8), (64, 64))
    with pytest.raises(MotionmapError, match="larger"):
        check_target_size(np.zeros((64, 96, 4), np.uint8), (64, 64))


class TestRetargetFrames:
    def test_rgba_target_gives_rgba_with_transparent_background(self):
        r = ShiftRetargeter()
        out = retarget_frames(r, blob_frames(), character())
        assert out.shape == (5, 32, 32, 4) and out.dtype == np.uint8
        for t in range(5):  # the blob moves 2 px a frame: so does the character, background transparent
            want = np.roll(character()[..., 3], 2 * t, axis=1)
            np.testing.assert_array_equal(out[t, ..., 3], want)
        assert len(r.calls) == 2  # over black and over white

    def test_rgb_and_opaque_targets_give_rgb(self):
        r = ShiftRetargeter()
        assert retarget_frames(r, blob_frames(), character()[..., :3]).shape == (5, 32, 32, 3)
        opaque = character()
        opaque[..., 3] = 255
        assert retarget_frames(r, blob_frames(), opaque).shape == (5, 32, 32, 3)
        assert len(r.calls) == 2

    def test_reference_sets_the_starting_pose(self):
        src = blob_frames(5)
        reference = blob_frames(1, shift=0)[0].copy()
        reference[...] = 0
        reference[10:20, 0:8] = (200, 60, 30, 255)  # the target's pose: 4 px left of src[0]
        r = ShiftRetargeter()
        out = retarget_frames(r, src, character(), reference=reference)
        assert out.shape == (5, 32, 32, 4)
        np.testing.assert_array_equal(r.calls[0][0][0], reference)
        for t in range(5):
            np.testing.assert_array_equal(out[t, ..., 3], np.roll(character()[..., 3], 4 + 2 * t, axis=1))

    def test_retarget_animation_keeps_durations(self):
        anim = Animation(blob_frames(4), (50, 60, 70, 80))
        out = retarget_animation(ShiftRetargeter(), anim, character())
        assert out.durations_ms == (50, 60, 70, 80) and out.frames.shape == (4, 32, 32, 4)
        with pytest.raises(MotionmapError, match="smaller"):
            retarget_animation(ShiftRetargeter(), anim, character(16))


class TestRetargetLpcSheet:
    def _sheet(self):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        for i, spec in enumerate(LPC_LAYOUT.rows):
            for j in range(spec.frames - (1 if spec.name == "shoot" else 0)):  # shoot's last cell left empty
                sheet[i * 64 + 20 : i * 64 + 40, j * 64 + 20 + j : j * 64 + 30 + j] = (200, 100, 50, 255)
        sheet[16 * 64 : 17 * 64] = 0  # shoot/up entirely empty
        return sheet

    def test_layout_and_cells(self):
        sheet = self._sheet()
        targets = {f: np.pad(character(), ((16, 16), (16, 16), (0, 0))) for f in FACINGS}
        r = ShiftRetargeter()
        out = retarget_lpc_sheet(r, sheet, targets, progress=False)
        assert out.shape == (1344, 832, 4) and out.dtype == np.uint8
        filled = out[..., 3].reshape(21, 64, 13, 64).any(axis=(1, 3))  # (rows, columns)
        want = sheet[..., 3].reshape(21, 64, 13, 64).any(axis=(1, 3))
        np.testing.assert_array_equal(filled, want)
        # The rows of a facing go through the model together (two passes each: over black and over white), their
        # motion starting from the walk frame of that facing (the target's pose); hurt counts as "down".
        assert len(r.calls) == 2 * 4
        for k, facing in enumerate(["up", "left", "down", "right"]):  # in the order the sheet first shows them
            rows = [i for i, spec in enumerate(LPC_LAYOUT.rows) if (spec.facing or "down") == facing]
            walk = LPC_LAYOUT.row_index("walk", facing)
            drawn = sum(int(want[i].sum()) for i in rows)
            for source, _ in r.calls[2 * k : 2 * k + 2]:
                np.testing.assert_array_equal(source[0], sheet[walk * 64 : (walk + 1) * 64, :64])
                assert len(source) == 1 + drawn  # the reference first, then every drawn cell of those rows

    def test_progress_callback_counts_every_row(self):
        targets = {f: np.pad(character(), ((16, 16), (16, 16), (0, 0))) for f in FACINGS}
        seen = []
        retarget_lpc_sheet(ShiftRetargeter(), self._sheet(), targets, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(5, 21), (10, 21), (16, 21), (21, 21)]  # after each facing's rows (down: six, with hurt)
        seen.clear()
        retarget_lpc_sheet(ShiftRetargeter(), self._sheet(), targets, reference_animation=None,
                           progress=lambda done, total: seen.append((done, total)))
        assert seen == [(i, 21) for i in range(1, 22)]  # no shared reference: row by row

    def test_bad_inputs(self):
        targets = {f: character(64) for f in FACINGS}
        with pytest.raises(MotionmapError, match="not an LPC sheet"):
            retarget_lpc_sheet(ShiftRetargeter(), np.zeros((640, 832, 4), np.uint8), targets, progress=False)
        with pytest.raises(MotionmapError, match="no target for facing right"):
            retarget_lpc_sheet(ShiftRetargeter(), self._sheet(), {f: targets[f] for f in FACINGS[:3]}, progress=False)
        with pytest.raises(MotionmapError, match="smaller than the source frames"):
            retarget_lpc_sheet(ShiftRetargeter(), self._sheet(), {f: character(32) for f in FACINGS}, progress=False)


class TestCore:
    """The pieces every front end shares: device names, inputs read and checked once, the reference frame."""

    def test_device_names(self):
        assert [is_device(d) for d in ("auto", "cpu", "cuda", "cuda:1", "cuda:x", "tpu", None)] == [
            True, True, True, True, False, False, False]
        assert not is_device("auto", allow_auto=False) and is_device("cuda:0", allow_auto=False)
        assert resolve_device("cpu") == "cpu" and resolve_device("auto") in ("cpu", "cuda")

    def test_animation_inputs_from_an_lpc_sheet(self, tmp_path):
        sheet = np.zeros((1344, 832, 4), np.uint8)
        walk_left, slash_left = LPC_LAYOUT.row_index("walk", "left"), LPC_LAYOUT.row_index("slash", "left")
        sheet[walk_left * 64 : (walk_left + 1) * 64, : 9 * 64] = (10, 20, 30, 255)
        sheet[slash_left * 64 : (slash_left + 1) * 64, : 64] = (40, 50, 60, 255)
        write_png(tmp_path / "a.png", sheet)
        target = np.zeros_like(sheet)
        target[walk_left * 64 : (walk_left + 1) * 64, : 64] = (70, 80, 90, 255)  # no slash row: walk stands in
        write_png(tmp_path / "b.png", target)
        inputs = load_animation_inputs(tmp_path / "a.png", tmp_path / "b.png", animation="slash", facing="left")
        assert inputs.source.frames.shape == (1, 64, 64, 4)
        assert (inputs.target.animation, inputs.target.facing) == ("walk", "left")
        assert inputs.reference is not None and tuple(inputs.reference[0, 0]) == (10, 20, 30, 255)
        assert reference_frame(tmp_path / "a.png", inputs.target, "walk") is None  # the same row: no reference

    def test_animation_inputs_refuse_a_target_of_another_size(self, tmp_path):
        write_png(tmp_path / "a.png", np.full((32, 32, 4), 255, np.uint8))
        write_png(tmp_path / "b.png", np.full((48, 48, 4), 255, np.uint8))
        with pytest.raises(MotionmapError, match="--target .*b.png: 48x48 is larger than the source frames"):
            load_animation_inputs(tmp_path / "a.png", tmp_path / "b.png")
