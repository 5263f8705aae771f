"""`motionmap retarget`: every source, target and output form, --all on real LPC sheets, RGBA, and bad input."""

import numpy as np
import pytest

from motionmap.io import read_animation, read_image, write_png
from motionmap.layout import FACINGS, LPC_LAYOUT
from retarget_helpers import assert_one_line_error, blob_frames, character, run_cli


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def check_rgba_result(frames: np.ndarray):
    """A character with a transparent background: binary alpha (the target is pixel art), corners transparent,
    an opaque area near the target's (an untrained motion estimate is rough, and the pixels it leaves unexplained are
    drawn in too, motionmap.appear: within 75%)."""
    assert frames.shape[-1] == 4
    alpha = frames[..., 3]
    assert set(np.unique(alpha)) == {0, 255}
    assert (alpha[:, :2, :2] == 0).all() and (alpha[:, -2:, -2:] == 0).all()
    area = (character()[..., 3] > 0).sum()
    assert np.all(np.abs((alpha > 0).sum(axis=(1, 2)) - area) < 0.75 * area)  # not empty, not all opaque


class TestSourceForms:
    @pytest.mark.parametrize("form", ["gif", "apng", "folder"])
    def test_animation_files(self, ckpt, sprite_files, tmp_path, form):
        out = tmp_path / "out.gif"
        r = run_cli(["retarget", "--source", sprite_files[form], "--target", sprite_files["target"],
                     "--out", out, "--checkpoint", ckpt, "--device", "cpu"])
        assert r.code == 0, r.err
        anim = read_animation(out)
        assert anim.frames.shape == (5, 32, 32, 4)
        want = 100 if form == "folder" else 80  # frame folders have no durations: the default
        assert anim.durations_ms == (want,) * 5
        check_rgba_result(anim.frames)

    @pytest.mark.parametrize("width,height", [(30, 30), (32, 48)])
    def test_frame_sizes_that_are_not_multiples_of_the_cell(self, ckpt, tmp_path, width, height):
        """The model pads to its 4 px cells and crops back: a 30x30 or 32x48 animation comes out at its own size."""
        from motionmap.io import Animation, write_animation

        frames = np.zeros((5, height, width, 4), np.uint8)
        frames[:, :30, :30] = blob_frames()[:, :30, :30]
        tgt = np.zeros((height, width, 4), np.uint8)
        tgt[:30, :30] = character()[:30, :30]
        src = write_animation(tmp_path / "walk.gif", Animation(frames, (80,) * 5))
        r = run_cli(["retarget", "--source", src, "--target", write_png(tmp_path / "hero.png", tgt),
                     "--out", tmp_path / "out.gif", "--checkpoint", ckpt])
        assert r.code == 0, r.err
        assert read_animation(tmp_path / "out.gif").frames.shape == (5, height, width, 4)

    def test_aseprite_export_round_trips_through_our_readers(self, ckpt, sprite_files, tmp_path):
        import json

        from motionmap.datasets.importer import read_character
        from motionmap.io.aseprite import read_aseprite

        out = tmp_path / "result.json"
        r = run_cli(["retarget", "--source", sprite_files["gif"], "--target", sprite_files["target"],
                     "--out", out, "--checkpoint", ckpt])
        assert r.code == 0, r.err
        assert (tmp_path / "result.png").is_file()
        doc = json.loads(out.read_text())
        assert isinstance(doc["frames"], list) and [t["name"] for t in doc["meta"]["frameTags"]] == ["walk"]
        (name, anim), = read_aseprite(out).animations
        assert anim.frames.shape == (5, 32, 32, 4) and anim.durations_ms == (80,) * 5
        check_rgba_result(anim.frames)
        char = read_character(out)
        assert char.kind == "aseprite" and len(char.animations[0][1]) == 5
        # ... and is itself a source: a second retarget reads the tag back.
        again = run_cli(["retarget", "--source", out, "--target", sprite_files["target"], "--out",
                         tmp_path / "again.gif", "--checkpoint", ckpt])
        assert again.code == 0, again.err
        assert read_animation(tmp_path / "again.gif").durations_ms == (80,) * 5

    def test_aseprite_export_refuses_an_existing_image(self, ckpt, sprite_files, tmp_path):
        (tmp_path / "result.png").write_bytes(b"mine")
        r = run_cli(["retarget", "--source", sprite_files["gif"], "--target", sprite_files["target"],
                     "--out", tmp_path / "result.json", "--checkpoint", ckpt])
        assert_one_line_error(r, "result.png")
        assert (tmp_path / "result.png").read_bytes() == b"mine" and not (tmp_path / "result.json").exists()

    def test_grid_sheet(self, ckpt, tmp_path):
        frames = blob_frames()  # row1 of a 2-row grid of 32x32 cells, 5 columns
        sheet = np.zeros((64, 160, 4), np.uint8)
        sheet[32:] = frames.transpose(1, 0, 2, 3).reshape(32, 160, 4)
        src = write_png(tmp_path / "grid.png", sheet)
        tgt = write_png(tmp_path / "hero.png", character())
        r = run_cli(["retarget", "--source", src, "--animation", "row1", "--frame-size", "32x32",
                     "--target", tgt, "--out", tmp_path / "out", "--checkpoint", ckpt])
        assert r.code == 0, r.err
        assert listing(tmp_path / "out") == [f"frame_00{i}.png" for i in range(5)]
        check_rgba_result(read_animation(tmp_path / "out").frames)

    def test_lpc_sheet_animation_facing_and_target_sheet(self, ckpt, lpc_pair, tmp_path):
        out = tmp_path / "slash.png"
        r = run_cli(["retarget", "--source", lpc_pair["source"], "--animation", "slash", "--facing", "left",
                     "--target", lpc_pair["target"], "--out", out, "--checkpoint", ckpt, "--fps", 8])
        assert r.code == 0, r.err
        anim = read_animation(out)  # an APNG
        assert anim.frames.shape == (6, 64, 64, 4) and anim.durations_ms == (125,) * 6
        # The target came from the target sheet's own slash/left first frame: frame 0 is that frame.
        row = LPC_LAYOUT.row_index("slash", "left")
        truth = lpc_pair["target_sheet"][row * 64 : row * 64 + 64, : 6 * 64].reshape(64, 6, 64, 4).transpose(1, 0, 2, 3)
        opaque, true_opaque = anim.frames[..., 3] > 0, truth[..., 3] > 0
        iou = (opaque & true_opaque).sum() / (opaque | true_opaque).sum()
        assert iou > 0.6, iou
        assert (opaque[0] == true_opaque[0]).mean() > 0.98


class TestOutputForms:
    def test_png_sheet(self, ckpt, sprite_files, tmp_path):
        out = tmp_path / "strip.png"
        r = run_cli(["retarget", "--source", sprite_files["gif"], "--target", sprite_files["target"],
                     "--out", out, "--sheet", "--checkpoint", ckpt])
        assert r.code == 0, r.err
        assert read_image(out).shape == (32, 160, 4)

    def test_apng_and_rgb_target(self, ckpt, sprite_files, tmp_path):
        rgb_target = write_png(tmp_path / "rgb.png", character()[..., :3])
        out = tmp_path / "out.apng"
        r = run_cli(["retarget", "--source", sprite_files["apng"], "--target", rgb_target, "--out", out,
                     "--checkpoint", ckpt])
        assert r.code == 0, r.err
        frames = read_animation(out).frames
        assert frames.shape == (5, 32, 32, 4) and (frames[..., 3] == 255).all()  # opaque in, opaque out
        assert "RGB)" in r.out

    def test_overwrite(self, ckpt, sprite_files, tmp_path):
        out = tmp_path / "o.gif"
        out.write_bytes(b"old")
        r = run_cli(["retarget", "--source", sprite_files["gif"], "--target", sprite_files["target"], "--out", out,
                     "--checkpoint", ckpt, "--overwrite"])
        assert r.code == 0 and read_animation(out).frames.shape[0] == 5


class TestAll:
    def test_four_target_images(self, ckpt, lpc_pair, tmp_path):
        truth = lpc_pair["target_sheet"]
        targets = []
        for facing in FACINGS:
            row = LPC_LAYOUT.row_index("walk", facing)
            targets += ["--target", write_png(tmp_path / f"{facing}.png", truth[row * 64 : row * 64 + 64, :64])]
        out = tmp_path / "hero_sheet.png"
        r = run_cli(["retarget", "--all", "--source", lpc_pair["source"], *targets, "--out", out,
                     "--checkpoint", ckpt, "--no-progress"])
        assert r.code == 0, r.err
        sheet = read_image(out)
        assert sheet.shape == (1344, 832, 4)
        cells = sheet[..., 3].reshape(21, 64, 13, 64).any(axis=(1, 3))
        want = lpc_pair["source_sheet"][..., 3].reshape(21, 64, 13, 64).any(axis=(1, 3))
        np.testing.assert_array_equal(cells, want)  # every used cell filled, unused ones transparent
        for i, spec in enumerate(LPC_LAYOUT.rows):
            assert cells[i, : spec.frames].all() and not cells[i, spec.frames :].any()
        opaque, true_opaque = sheet[..., 3] > 0, truth[..., 3] > 0
        assert set(np.unique(sheet[..., 3])) == {0, 255}
        assert (opaque & true_opaque).sum() / (opaque | true_opaque).sum() > 0.6
        # The sheet is a valid LPC sheet: motionmap itself reads any animation back from it.
        assert read_animation(out, animation="shoot", facing="right").frames.shape == (13, 64, 64, 4)

    def test_target_sheet(self, ckpt, lpc_pair, tmp_path):
        out = tmp_path / "hero_sheet.png"
        r = run_cli(["retarget", "--all", "--source", lpc_pair["source"], "--target", lpc_pair["target"],
                     "--out", out, "--checkpoint", ckpt, "--no-progress"])
        assert r.code == 0, r.err
        assert read_image(out).shape == (1344, 832, 4)


class TestBadInput:
    """Each: exit 2, one line naming the problem, nothing written (no output, no temporary files)."""

    def _check(self, args, match, folder):
        before = listing(folder)
        assert_one_line_error(run_cli(["retarget", *args]), match)
        assert listing(folder) == before

    def test_unknown_animation(self, ckpt, lpc_pair, tmp_path):
        self._check(["--source", lpc_pair["source"], "--animation", "dance", "--facing", "up", "--target",
                     lpc_pair["target"], "--out", tmp_path / "o.gif", "--checkpoint", ckpt],
                    "unknown animation 'dance'", tmp_path)

    def test_target_smaller_than_source(self, ckpt, sprite_files, tmp_path):
        small = write_png(tmp_path / "small.png", character(16))
        self._check(["--source", sprite_files["gif"], "--target", small, "--out", tmp_path / "o.gif",
                     "--checkpoint", ckpt], "16x16 is smaller than the source frames (32x32)", tmp_path)

    def test_mismatched_facing_count(self, ckpt, lpc_pair, tmp_path):
        targets = []
        for facing in FACINGS[:3]:
            targets += ["--target", write_png(tmp_path / f"{facing}.png", character(64))]
        self._check(["--all", "--source", lpc_pair["source"], *targets, "--out", tmp_path / "o.png",
                     "--checkpoint", ckpt],
                    "--target: got 3 images; --all needs one per facing (up, left, down, right) or a sheet", tmp_path)

    @pytest.mark.parametrize("which", ["source", "target"])
    def test_unreadable_file(self, ckpt, sprite_files, tmp_path, which):
        bad = tmp_path / "broken.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        src = bad if which == "source" else sprite_files["gif"]
        tgt = bad if which == "target" else sprite_files["target"]
        self._check(["--source", src, "--target", tgt, "--out", tmp_path / "o.gif", "--checkpoint", ckpt],
                    "broken.png", tmp_path)

    def test_out_onto_input(self, ckpt, sprite_files, tmp_path):
        gif = sprite_files["gif"]
        data = gif.read_bytes()
        self._check(["--source", gif, "--target", sprite_files["target"], "--out", gif, "--checkpoint", ckpt,
                     "--overwrite"], "is also an input", gif.parent)
        assert gif.read_bytes() == data

    def test_existing_out_without_overwrite(self, ckpt, sprite_files, tmp_path):
        out = tmp_path / "o.gif"
        out.write_bytes(b"mine")
        self._check(["--source", sprite_files["gif"], "--target", sprite_files["target"], "--out", out,
                     "--checkpoint", ckpt], "already exists; pass --overwrite", tmp_path)
        assert out.read_bytes() == b"mine"

    def test_all_needs_lpc_source(self, ckpt, sprite_files, tmp_path):
        self._check(["--all", "--source", sprite_files["apng"], "--target", sprite_files["target"],
                     "--out", tmp_path / "o.png", "--checkpoint", ckpt], "is not an LPC sheet", tmp_path)

    @pytest.mark.parametrize("extra,match", [
        (["--out", "o.webp"], "cannot write .webp"),
        (["--out", "o.gif", "--fps", "0"], "--fps 0"),
        (["--out", "o.gif", "--device", "tpu"], "--device 'tpu'"),
        (["--out", "o.gif", "--threads", "0"], "--threads 0"),
        (["--out", "o.gif", "--refine-steps", "-1"], "--refine-steps -1"),
        (["--out", "o.gif", "--checkpoint", "missing.ckpt"], "checkpoint not found"),
    ])
    def test_bad_options(self, sprite_files, tmp_path, extra, match):
        extra = [str(tmp_path / e) if e.startswith("o.") or e.endswith(".ckpt") else e for e in extra]
        self._check(["--source", sprite_files["gif"], "--target", sprite_files["target"], *extra], match, tmp_path)


def test_help_documents_outputs():
    r = run_cli(["retarget", "--help"])
    assert r.code == 0
    for word in ("--all", "APNG", "--sheet", "folder of PNG frames", "up, left, down, right"):
        assert word in r.out


class TestExample:
    def test_writes_side_by_side_gif(self, ckpt, tmp_path):
        out = tmp_path / "example.gif"
        r = run_cli(["retarget", "--example", "--checkpoint", ckpt, "--out", out])
        assert r.code == 0, r
        anim = read_animation(out)
        assert anim.frames.shape[0] == 8  # the synthetic walk has 8 frames
        assert anim.frames.shape[1:3] == (192, 576)  # source | target | result, each 64x64 scaled 3x
        target_panel = anim.frames[:, :, 192:384]
        assert (target_panel == target_panel[0]).all()  # the target panel holds still
        assert not (anim.frames[:, :, :192] == anim.frames[0, :, :192]).all()  # the source moves

    def test_needs_source_and_target_otherwise(self, tmp_path):
        r = run_cli(["retarget", "--out", tmp_path / "x.gif"])
        assert_one_line_error(r, "give --source ANIM and --target IMAGE")
        assert listing(tmp_path) == []

    def test_example_writes_only_gif(self, ckpt, tmp_path):
        r = run_cli(["retarget", "--example", "--checkpoint", ckpt, "--out", tmp_path / "x.png"])
        assert_one_line_error(r, "--example writes a GIF")
        assert listing(tmp_path) == []
