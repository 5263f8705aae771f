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

    from motionmap.eval.suite import _method_names

    paths = [Path("runs/a/last.ckpt"), Path("runs/b/last.ckpt"), Path("x/model.ckpt"), Path("flow.ckpt")]
    assert _method_names(paths) == ["a/last", "b/last", "model", "flow#2"]
    assert _method_names([Path("m.ckpt"), Path("m.ckpt")]) == ["m", "m#2"]


class RgbaOracle:
    """Knows the answer as RGBA (an RGBA run's method); ``soft`` pixels per frame get alpha 128."""

    returns_rgba = True

    def __init__(self, bset, soft=0):
        self.answers = {c.target_rgba[0].tobytes(): c.target_rgba for c in bset.cases}
        self.soft = soft

    def retarget(self, source_frames, target):
        assert target.shape[-1] == 4 and source_frames.shape[-1] == 4, "an RGBA run gives transparent inputs"
        out = self.answers[target.tobytes()].copy()
        out[:, 0, : self.soft, 3] = 128
        return out


class TestShares:
    def test_palette_share_of_identity_oracle_and_a_blend(self, bset):
        class OffByOne(TruthOracle):  # every character colour nudged: a colour b0 does not have (almost surely)
            def retarget(self, source_frames, target):
                out = super().retarget(source_frames, target).astype(np.int16)
                return np.clip(out + 1, 0, 255).astype(np.uint8)

        methods = [Method("identity", IdentityBaseline()), Method("oracle", TruthOracle(bset, "plain")),
                   Method("blend", OffByOne(bset, "plain"))]
        result = run_benchmark(bset, "plain", methods, progress=False)
        by = {m.name: m.overall() for m in result.methods}
        assert by["identity"]["palette"] == 1.0  # it draws b0 itself
        assert by["oracle"]["palette"] == pytest.approx(result.truth_shares["palette"])  # the truth is the ceiling
        assert 0.9 < result.truth_shares["palette"] <= 1.0
        assert by["blend"]["palette"] < 0.2
        assert np.isnan(by["oracle"]["alpha01"])  # not an RGBA run: alpha is not measured
        table = markdown_report(result)
        assert "palette ↑" in table and "alpha 0/255" not in table
        assert "Ceiling, the true frames themselves: palette" in table

    def test_rgba_run_scores_over_black_and_counts_hard_alpha(self, bset):
        h, w = bset.cases[0].target_rgba.shape[1:3]
        methods = [Method("identity", IdentityBaseline()), Method("oracle", RgbaOracle(bset)),
                   Method("soft", RgbaOracle(bset, soft=8))]
        result = run_benchmark(bset, "plain", methods, progress=False, rgba=True)
        by = {m.name: m.overall() for m in result.methods}
        assert by["oracle"]["sse"] == 0  # RGBA output composited over black is the plain truth
        assert by["oracle"]["alpha01"] == pytest.approx(result.truth_shares["alpha01"])
        assert by["soft"]["alpha01"] == pytest.approx(result.truth_shares["alpha01"] - 8 / (h * w), abs=1e-9)
        assert np.isnan(by["identity"]["alpha01"])  # an RGB method keeps the plain inputs, no alpha to count
        table = markdown_report(result)
        assert "alpha 0/255 ↑" in table and "alpha 0/255 100.000%" in table  # synthetic sprites: hard alpha

    def test_rgba_run_needs_the_plain_track(self, bset):
        with pytest.raises(MotionmapError, match="--rgba: RGBA runs use the plain track"):
            run_benchmark(bset, "scene", [Method("oracle", RgbaOracle(bset))], progress=False, rgba=True)
