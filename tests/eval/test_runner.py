"""The runner scores any object with .retarget; reports and grid are built from its result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.eval import testsets as TS
from motionmap.eval.baselines import IdentityBaseline, PixelAnalogyBaseline
from motionmap.eval.grid import pick_grid_cases, render_grid
from motionmap.eval.report import dumps, json_report, markdown_report
from motionmap.eval.runner import Method, run_benchmark


class TruthOracle:
    """A stub method that knows the answer: it looks the truth up by the target image."""

    def __init__(self, bset, track):
        self.answers = {c.target(track).tobytes(): c.truth(track) for c in bset.cases}

    def retarget(self, source_frames, target):
        return self.answers[target.tobytes()].copy()


class WrongShape:
    def retarget(self, source_frames, target):
        return np.zeros((1, 8, 8, 3), np.uint8)


@pytest.fixture(scope="module")
def bset():
    full = TS.build_benchmark_set(TS.BenchmarkSetSpec("synth", pairs=1))
    # A few cases of different actions keep this fast.
    picked = [c for c in full.cases if c.facing == "right"][:3]
    from dataclasses import replace

    return replace(full, cases=tuple(picked))


@pytest.mark.parametrize("track", ["plain", "scene"])
def test_stub_and_baselines(bset, track):
    methods = [
        Method("identity", IdentityBaseline()),
        Method("analogy", PixelAnalogyBaseline()),
        Method("oracle", TruthOracle(bset, track), kind="checkpoint", path="/x/oracle.ckpt"),
    ]
    grid = pick_grid_cases(bset, 2)
    result = run_benchmark(bset, track, methods, grid_cases=grid, progress=False)
    n_frames = sum(c.frames - 1 for c in bset.cases)
    by = {m.name: m for m in result.methods}
    assert len(by["identity"].scores) == n_frames
    oracle = by["oracle"].overall()
    assert oracle["sse"] == 0 and oracle["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert by["identity"].overall()["sse"] > 0
    per_action = result.per_action(by["identity"])
    assert list(per_action) == list(bset.actions)
    assert sorted(result.grid) == sorted(grid)

    md = markdown_report(result)
    assert "| oracle |" in md and "SSE/img" in md and "per action" in md
    report = json.loads(dumps(json_report(result)))
    assert report["config"]["checkpoints"] == ["/x/oracle.ckpt"]
    assert report["overall"]["oracle"]["sse"] == 0
    assert len(report["per_case"]["identity"]["sse"]) == len(bset.cases)

    img = render_grid(result)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[0] >= len(grid) * 5 * 128  # source, truth, 3 methods per case, 2x scaled


def test_wrong_prediction_shape_is_one_line_error(bset):
    with pytest.raises(MotionmapError, match="method bad: retarget returned"):
        run_benchmark(bset, "plain", [Method("bad", WrongShape())], progress=False)


def test_identity_scores_zero_on_frame0(bset):
    # Frame 0 is never scored: identity equals the truth there, and the scored frames start at t = 1.
    c = bset.cases[0]
    pred = IdentityBaseline().retarget(c.source("plain"), c.target("plain"))
    np.testing.assert_array_equal(pred[0], c.truth("plain")[0])


def test_checkpoint_method_names():
    from pathlib import Path

    from motionmap.eval.benchmark import _method_names

    paths = [Path("runs/a/last.ckpt"), Path("runs/b/last.ckpt"), Path("x/model.ckpt"), Path("flow.ckpt")]
    assert _method_names(paths) == ["a/last", "b/last", "model", "flow#2"]
    assert _method_names([Path("m.ckpt"), Path("m.ckpt")]) == ["m", "m#2"]
