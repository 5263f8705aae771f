"""`motionmap eval` end to end (baselines only, a few cases) and its one-line errors."""

from __future__ import annotations

import json

import pytest

from motionmap.cli import main


def _run(capsys, *argv):
    rc = main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def _check_outputs(out_dir, track, methods):
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(["results.md", "results.json", f"grid_{track}.png"])
    report = json.loads((out_dir / "results.json").read_text())
    assert list(report["overall"]) == methods
    cfg = report["config"]
    for key in ("set", "track", "cases", "spec", "held_out", "motionmap_version", "date", "machine", "checkpoints"):
        assert key in cfg
    md = (out_dir / "results.md").read_text()
    for m in methods:
        assert f"| {m} |" in md
    from motionmap.io import read_image

    assert read_image(out_dir / f"grid_{track}.png").shape[2] == 4
    return report


def test_lpc_end_to_end(lpc_root, tmp_path, capsys):
    from motionmap.eval.baselines import flow_available

    out = tmp_path / "ev"
    rc, stdout, err = _run(capsys, "--set", "lpc", "--layers", lpc_root, "--track", "plain", "--cases", 1,
                           "--cache", tmp_path / "cache", "--out", out, "--no-progress")
    assert rc == 0, err
    methods = ["identity", "analogy"] + (["flow"] if flow_available() else [])
    report = _check_outputs(out, "plain", methods)
    assert report["config"]["cases"] == 1 and report["config"]["set"] == "lpc"
    assert report["config"]["spec"]["layers"] == str(lpc_root.resolve())
    assert report["config"]["held_out"]["layers"]["hair"] == ["7"]
    assert "| identity |" in stdout  # the table is printed
    # An existing --out is refused, then replaced with --overwrite.
    rc, _, err = _run(capsys, "--set", "lpc", "--layers", lpc_root, "--cases", 1, "--cache", tmp_path / "cache",
                      "--out", out, "--no-progress")
    assert rc == 2 and "already exists" in err
    rc, _, err = _run(capsys, "--set", "lpc", "--layers", lpc_root, "--track", "scene", "--cases", 1,
                      "--cache", tmp_path / "cache", "--out", out, "--overwrite", "--no-progress")
    assert rc == 0, err
    _check_outputs(out, "scene", methods)


def report_palette_columns(stdout: str) -> bool:
    """The overall table has the palette column, and no alpha column outside RGBA runs."""
    header = next(line for line in stdout.splitlines() if line.startswith("| method | SSE/img"))
    return "palette ↑" in header and "alpha" not in header


def test_synth_end_to_end_with_stub_checkpoint(tmp_path, capsys, monkeypatch):
    import motionmap.retarget
    from motionmap.eval.baselines import IdentityBaseline

    ckpt = tmp_path / "tiny.ckpt"
    ckpt.write_bytes(b"stub")
    loaded, palettes = [], set()

    class StubModel(IdentityBaseline):  # the Retargeter's call: retarget(source, target, palette=...)
        def retarget(self, source_frames, target, palette="target"):
            palettes.add(palette)
            return super().retarget(source_frames, target)

    def fake_load(path, device="cpu", refine=None, scale="auto", threads=None, precision="auto", appear="source",
                  motion_cache=0):
        loaded.append((str(path), device, refine.steps, scale, threads, precision, appear, motion_cache))
        stub = StubModel()
        stub.threads = threads
        return stub

    monkeypatch.setattr(motionmap.retarget.Retargeter, "load", staticmethod(fake_load))
    out = tmp_path / "ev"
    rc, stdout, err = _run(capsys, "--set", "synth", "--track", "scene", "--cases", 2, "--checkpoint", ckpt,
                           "--device", "cpu", "--refine-steps", 5, "--grid-cases", 1, "--no-cache", "--out", out,
                           "--no-progress", "--scale", "native", "--palette", "off", "--appear", "off",
                           "--precision", "fp32", "--threads", 3)
    assert rc == 0, err
    assert loaded == [(str(ckpt), "cpu", 5, "native", 3, "fp32", "off", 0)] and palettes == {"off"}
    assert report_palette_columns(stdout)
    assert "Ceiling, the true frames themselves: palette" in stdout
    report = json.loads((out / "results.json").read_text())
    assert "tiny" in report["overall"]
    assert report["overall"]["tiny"]["sse"] == pytest.approx(report["overall"]["identity"]["sse"])
    assert report["config"]["checkpoints"] == [str(ckpt.resolve())]
    assert report["config"]["refine_steps"] == 5
    assert "5 steps of test-time flow refinement" in (out / "results.md").read_text()
    assert "palette lock `off`" in (out / "results.md").read_text() and report["config"]["palette"] == "off"
    assert "appearing pixels `off`" in (out / "results.md").read_text() and report["config"]["appear"] == "off"
    assert "precision `fp32`" in (out / "results.md").read_text() and report["config"]["precision"] == "fp32"
    assert "with 3 CPU threads" in (out / "results.md").read_text() and report["config"]["threads"] == 3
    # Identity repeats b0: every character pixel it draws is a colour of b0.
    assert report["overall"]["identity"]["palette"] == pytest.approx(1.0)
    assert 0.5 < report["truth_shares"]["palette"] <= 1.0
    assert report["config"]["held_out"]["synth_seeds_from"] == 2**31


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set", "mnist"], "--set 'mnist': unknown test set"),
        (["--track", "foggy"], "--track 'foggy': unknown track"),
        (["--cases", "0"], "--cases 0"),
        (["--refine-steps", "-2"], "--refine-steps -2"),
        (["--threads", "0"], "--threads 0: need an integer >= 1"),
        (["--palette", "vivid"], "--palette 'vivid': unknown palette option; use 'target'"),
        (["--rgba", "--track", "scene"], "--rgba: RGBA runs use the plain track"),
        (["--set", "lpc", "--layers", "{tmp}/no_such_layers"], "LPC layer folder not found"),
        (["--set", "synth", "--checkpoint", "{tmp}/missing.ckpt"], "checkpoint not found"),
        (["--set", "synth", "--checkpoint", "{tmp}/garbage.ckpt"], "garbage.ckpt"),
    ],
)
def test_one_line_errors(tmp_path, capsys, argv, message):
    (tmp_path / "garbage.ckpt").write_bytes(b"\x00not a checkpoint\x00")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--cases" not in argv:
        argv += ["--cases", "1"]
    rc, _, err = _run(capsys, *argv, "--no-cache", "--out", tmp_path / "out", "--no-progress")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("motionmap: error: ") and message in lines[0], err
    assert not (tmp_path / "out").exists()


def test_real_untrained_checkpoint_through_retargeter(tmp_path, capsys):
    """A real (untrained, tiny) MotionMapper checkpoint goes through Retargeter.load/.retarget like a user's."""
    torch = pytest.importorskip("torch")
    from motionmap.model import NetConfig
    from motionmap.model.module import MotionMapper

    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"))
    ckpt = tmp_path / "untrained.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, ckpt)
    out = tmp_path / "ev"
    rc, stdout, err = _run(capsys, "--set", "synth", "--track", "plain", "--cases", 2, "--checkpoint", ckpt,
                           "--device", "cpu", "--grid-cases", 1, "--no-cache", "--out", out, "--no-progress")
    assert rc == 0, err
    report = _check_outputs(out, "plain", list(json.loads((out / "results.json").read_text())["overall"]))
    assert "untrained" in report["overall"] and "| untrained |" in stdout
    assert report["timing"]["untrained"]["frames"] > 0


def test_ulpc_set_reports_body_type_pairs_and_sizes(ulpc_root, tmp_path, capsys):
    out = tmp_path / "ev"
    rc, stdout, err = _run(capsys, "--set", "ulpc", "--layers", ulpc_root, "--cases", 23, "--size", "32",
                           "--cache", tmp_path / "cache", "--out", out, "--no-progress", "--grid-cases", 1)
    assert rc == 0, err
    report = json.loads((out / "results.json").read_text())
    assert report["config"]["frame_size"] == [32, 32]
    assert report["config"]["held_out"]["looks"]["hair"]
    assert set(report["per_group"]["identity"]) == {"male->male", "male->female"}  # pairs 0 and 1
    assert "male->female" in stdout and "32x32 frames" in stdout
    for pair in report["pairs"]:
        assert pair["group"].split("->")[0] == pair["source"]["body_type"]
        assert pair["group"].split("->")[1] == pair["target"]["body_type"]


@pytest.mark.parametrize("size, message", [("4", "8 to 256"), ("300x32", "8 to 256"), ("big", "give N")])
def test_bad_size_is_a_one_line_error(tmp_path, capsys, size, message):
    rc, _, err = _run(capsys, "--set", "synth", "--cases", 1, "--size", size, "--no-cache", "--out", tmp_path / "o")
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
