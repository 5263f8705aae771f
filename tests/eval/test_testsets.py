"""Test sets: the held-out split, determinism, the cache, and the two tracks."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.eval import testsets as TS


def _same(a: TS.BenchmarkSet, b: TS.BenchmarkSet) -> None:
    assert len(a.cases) == len(b.cases)
    assert a.pairs == b.pairs and a.key == b.key
    for x, y in zip(a.cases, b.cases):
        assert (x.pair, x.row, x.action, x.facing) == (y.pair, y.row, y.action, y.facing)
        for name in ("source_rgba", "target_rgba", "source_background", "target_background"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))


class TestHeldOutSplit:
    def test_lpc_targets_wear_held_out_and_training_never_does(self, lpc_root):
        from motionmap.lpc import HELD_OUT_LAYERS, LpcLayers, LpcRecipe, sample_recipes

        assert HELD_OUT_LAYERS == {"body": ("5",), "topwear": ("5",), "hair": ("7",)}
        bset = TS.build_benchmark_set(TS.BenchmarkSetSpec("lpc", pairs=3, layers=lpc_root))
        targets = [LpcRecipe.from_json(p["target"]) for p in bset.pairs]
        sources = [LpcRecipe.from_json(p["source"]) for p in bset.pairs]
        assert all(t.wears_held_out() for t in targets)
        assert all(s != t for s, t in zip(sources, targets))
        layers = LpcLayers(lpc_root)
        for seed in range(5):  # the training builder's draws: sample_recipes(..., held_out="exclude")
            train = sample_recipes(layers, 64, seed=seed, held_out="exclude")
            for recipe in train:
                for layer, options in HELD_OUT_LAYERS.items():
                    assert getattr(recipe, layer) not in options
            assert not set(train) & set(targets)

    def test_synth_test_seeds_are_outside_training_seeds(self):
        from motionmap.datasets.build import character_seed

        spec = TS.BenchmarkSetSpec("synth", pairs=4, seed=3)
        # Seeds the set would use, without rendering anything:
        base = TS.SYNTH_TEST_SEED_BASE + 2 * spec.pairs * spec.seed
        assert base >= 2**31
        train = {character_seed(s, i) for s in range(4) for i in range(200)}
        assert max(train) < TS.SYNTH_TEST_SEED_BASE


class TestDeterminismAndCache:
    def test_synth_same_cases_twice_and_from_cache(self, tmp_path):
        spec = TS.BenchmarkSetSpec("synth", pairs=1)
        a = TS.build_benchmark_set(spec)
        b = TS.build_benchmark_set(spec)
        _same(a, b)
        from motionmap.synth import SYNTH_LAYOUT

        assert len(a.cases) == len(SYNTH_LAYOUT.rows)
        assert [p["target"]["seed"] for p in a.pairs] == [TS.SYNTH_TEST_SEED_BASE + 1]
        cached = TS.load_benchmark_set(spec, tmp_path)
        files = list(tmp_path.glob("synth-*.npz"))
        assert len(files) == 1
        _same(a, cached)
        _same(a, TS.load_benchmark_set(spec, tmp_path))  # now read back from the file

    def test_cache_is_read_not_rebuilt(self, tmp_path, monkeypatch):
        spec = TS.BenchmarkSetSpec("synth", pairs=1)
        first = TS.load_benchmark_set(spec, tmp_path)
        monkeypatch.setattr(TS, "build_benchmark_set", lambda *a, **k: pytest.fail("cache not used"))
        _same(first, TS.load_benchmark_set(spec, tmp_path))

    def test_corrupt_cache_is_rebuilt(self, tmp_path, capsys):
        spec = TS.BenchmarkSetSpec("synth", pairs=1)
        TS.cache_path(spec, tmp_path).parent.mkdir(parents=True, exist_ok=True)
        TS.cache_path(spec, tmp_path).write_bytes(b"not an npz")
        bset = TS.load_benchmark_set(spec, tmp_path)
        assert len(bset.cases) > 0
        assert "rebuilding" in capsys.readouterr().err

    def test_lpc_same_cases_twice(self, lpc_root, tmp_path):
        a = TS.benchmark_set_for("lpc", 3, layers=lpc_root, cache_dir=tmp_path)
        b = TS.benchmark_set_for("lpc", 3, layers=lpc_root, cache_dir=None)
        _same(a, b)
        assert [c.action for c in a.cases] == ["spellcast"] * 3

    def test_default_lpc_set_is_10_pairs_of_21_rows(self, lpc_root):
        from motionmap.layout import LPC_LAYOUT

        assert TS.DEFAULT_PAIRS * len(LPC_LAYOUT.rows) == 210
        assert TS.pairs_for_cases(210, 21) == 10 and TS.pairs_for_cases(22, 21) == 2


@pytest.fixture(scope="module")
def bset():
    return TS.build_benchmark_set(TS.BenchmarkSetSpec("synth", pairs=1))


class TestCases:
    def test_shapes_and_same_length(self, bset):
        for c in bset.cases:
            assert c.source_rgba.shape == c.target_rgba.shape and c.frames >= 2
            assert c.source_rgba.dtype == np.uint8 and c.source_rgba.shape[1:] == (64, 64, 4)

    def test_plain_track_is_on_black(self, bset):
        c = bset.cases[0]
        truth = c.truth("plain")
        assert truth.shape == c.target_rgba.shape[:3] + (3,)
        assert (truth[c.target_rgba[..., 3] == 0] == 0).all()
        np.testing.assert_array_equal(c.target("plain"), truth[0])

    def test_scene_track_keeps_each_characters_background(self, bset):
        c = bset.cases[0]
        clear_b = c.target_rgba[..., 3] == 0
        clear_a = c.source_rgba[..., 3] == 0
        truth, source = c.truth("scene"), c.source("scene")
        np.testing.assert_array_equal(truth[clear_b], np.broadcast_to(c.target_background, truth.shape)[clear_b])
        np.testing.assert_array_equal(source[clear_a], np.broadcast_to(c.source_background, source.shape)[clear_a])
        assert not np.array_equal(c.source_background, c.target_background)
        # Backgrounds differ from case to case.
        assert not np.array_equal(bset.cases[0].target_background, bset.cases[1].target_background)

    def test_character_mask_union_with_b0(self, bset):
        c = bset.cases[0]
        m = c.character_mask()
        assert m.shape == c.target_rgba.shape[:3]
        assert (m >= (c.target_rgba[..., 3] > 0)).all() and (m >= (c.target_rgba[:1, ..., 3] > 0)).all()

    def test_unknown_track_and_set(self, bset):
        with pytest.raises(MotionmapError, match="--track 'foggy'"):
            bset.cases[0].truth("foggy")
        with pytest.raises(MotionmapError, match="--set 'mnist'"):
            TS.BenchmarkSetSpec("mnist")

    def test_missing_layers_folder(self, tmp_path):
        with pytest.raises(MotionmapError, match="LPC layer folder not found"):
            TS.benchmark_set_for("lpc", 1, layers=tmp_path / "nope")
