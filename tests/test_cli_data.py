"""`motionmap data synth|lpc|preview` via cli.main: outputs, messages, exit codes, nothing written on error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("motionmap: error: "), err
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`motionmap data synth --out DIR --characters 2 --preview FILE.gif`, run once for the module."""
    root = tmp_path_factory.mktemp("cli")
    code = main(["data", "synth", "--out", str(root / "s"), "--characters", "2", "--preview", str(root / "p.gif")])
    return code, root


def test_synth_writes_the_documented_files(built):
    code, root = built
    assert code == 0
    out = root / "s"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "motionmap-sprites" and manifest["source"] == "synth"
    assert len(manifest["characters"]) == 2
    assert {c["split"] for c in manifest["characters"]} == {"train", "val"}
    for c in manifest["characters"]:
        assert (out / c["sheet"]).is_file()
    assert (out / "backgrounds.png").is_file() and (out / "frames.npy").is_file()
    assert sorted(p.name for p in root.iterdir()) == ["p.gif", "s"]


def test_preview_gif(built, capsys, tmp_path):
    import imageio.v3 as iio

    _, root = built
    gif = iio.imread(root / "p.gif", index=None)
    assert gif.ndim == 4 and gif.shape[0] > 1 and gif.shape[1:3] == (128, 256)  # 1 row x 2 characters, scaled 2x
    code, out, _ = run(capsys, "data", "preview", "--data", str(root / "s"), "--out", str(tmp_path / "q.gif"))
    assert code == 0 and str(tmp_path / "q.gif") in out
    code, _, err = run(capsys, "data", "preview", "--data", str(root / "s"), "--out", str(tmp_path / "q.gif"))
    assert_one_line_error(code, err, "q.gif", "already exists")
    code, _, _ = run(capsys, "data", "preview", "--data", str(root / "s"), "--out", str(tmp_path / "q.gif"),
                     "--overwrite")
    assert code == 0
    # without a frame cache the preview reads the sheets, gives the same picture, and writes nothing into the data
    import shutil

    shutil.copytree(root / "s", tmp_path / "nocache")
    (tmp_path / "nocache" / "frames.npy").unlink()
    code, _, _ = run(capsys, "data", "preview", "--data", str(tmp_path / "nocache"), "--out", str(tmp_path / "r.gif"))
    assert code == 0 and not (tmp_path / "nocache" / "frames.npy").exists()
    assert np.array_equal(iio.imread(tmp_path / "r.gif", index=None), iio.imread(tmp_path / "q.gif", index=None))


def test_prints_where_it_wrote(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "synth", "--out", str(tmp_path / "d"), "--characters", "2", "--seed", "3")
    assert code == 0 and str(tmp_path / "d") in out


def test_existing_out(built, capsys):
    _, root = built
    before = sorted(p.name for p in (root / "s").iterdir())
    code, _, err = run(capsys, "data", "synth", "--out", str(root / "s"), "--characters", "2")
    assert_one_line_error(code, err, str(root / "s"), "not empty")
    assert sorted(p.name for p in (root / "s").iterdir()) == before


def test_existing_preview_is_refused_before_building(built, capsys, tmp_path):
    _, root = built
    code, _, err = run(capsys, "data", "synth", "--out", str(tmp_path / "new"), "--characters", "2",
                       "--preview", str(root / "p.gif"))
    assert_one_line_error(code, err, "p.gif")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("make", ["empty", "missing", "no_body"])
def test_bad_layers_folder(capsys, tmp_path, make):
    layers = tmp_path / "layers"
    if make != "missing":
        layers.mkdir()
    if make == "no_body":
        (layers / "hair").mkdir()
        (layers / "hair" / "0.png").write_bytes(b"")
    code, _, err = run(capsys, "data", "lpc", "--layers", str(layers), "--out", str(tmp_path / "out"),
                       "--characters", "2")
    assert_one_line_error(code, err, str(layers))
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if make == "missing" else ["layers"])


def test_corrupt_manifest(built, capsys, tmp_path):
    import shutil

    _, root = built
    broken = tmp_path / "broken"
    shutil.copytree(root / "s", broken)
    (broken / "manifest.json").write_text("{not json")
    code, _, err = run(capsys, "data", "preview", "--data", str(broken), "--out", str(tmp_path / "x.gif"))
    assert_one_line_error(code, err, "manifest.json", "not valid JSON")
    assert not (tmp_path / "x.gif").exists()


def test_too_few_characters_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["data", "synth", "--out", str(tmp_path / "s"), "--characters", "1"])
    assert e.value.code == 2
    assert "at least 2" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_lpc(capsys, tmp_path, lpc_root):
    code, out, _ = run(capsys, "data", "lpc", "--layers", str(lpc_root), "--out", str(tmp_path / "l"),
                       "--characters", "2", "--seed", "1")
    assert code == 0 and str(tmp_path / "l") in out
    manifest = json.loads((tmp_path / "l" / "manifest.json").read_text())
    assert manifest["source"] == "lpc" and manifest["seed"] == 1
    frames = np.load(tmp_path / "l" / "frames.npy", mmap_mode="r")
    assert frames.shape == (2, 178, 64, 64, 4)


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    """`motionmap check ... | head`: the reader going away is not a disk error; no message, exit 141 like Unix tools."""
    import motionmap.commands.data as data_cmd
    from motionmap.cli import main

    def reader_went_away(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(data_cmd, "run", reader_went_away)
    monkeypatch.setattr("os.dup2", lambda *a: None)  # keep pytest's own stdout
    rc = main(["data", "preview", "--data", "x", "--out", "y.gif"])
    assert rc == 141
    assert capsys.readouterr().err == ""
