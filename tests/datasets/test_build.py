"""Dataset builders: synthetic and LPC builds write the documented format, atomically, split by character."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_sprites import TINY_LAYOUT, tiny_backgrounds, tiny_sheet

from motionmap.datasets import SpriteDataset, build_lpc_dataset, build_synth_dataset
from motionmap.datasets.build import write_dataset
from motionmap.errors import MotionmapError


def check_format(root, source, n):
    """The documented files and manifest keys are there, and sheets match the layout."""
    manifest = json.loads((root / "manifest.json").read_text())
    assert set(manifest) == {"format", "version", "source", "seed", "layout", "characters", "backgrounds"}
    assert manifest["format"] == "motionmap-sprites" and manifest["version"] == 1
    assert manifest["source"] == source and manifest["backgrounds"] == "backgrounds.png"
    assert [c["id"] for c in manifest["characters"]] == [f"c{i:04d}" for i in range(n)]
    for c in manifest["characters"]:
        assert c["sheet"] == f"characters/{c['id']}.png" and (root / c["sheet"]).is_file()
        assert c["split"] in ("train", "val") and isinstance(c["recipe"], dict)
    assert sorted(p.name for p in root.iterdir()) == ["backgrounds.png", "characters", "frames.npy", "manifest.json"]
    ds = SpriteDataset(root)
    sheet = ds.sheet(0)
    assert sheet.shape == (ds.layout.size[1], ds.layout.size[0], 4)
    assert sheet[..., 3].min() == 0, "sheets have a transparent background"
    np.testing.assert_array_equal(ds.frames()[0], ds.sheet_frames(0))
    bgs = ds.backgrounds()
    assert bgs.shape[1:] == (ds.layout.frame_height, ds.layout.frame_width, 3) and len(bgs) >= 16
    return manifest, ds


class TestSynth:
    def test_format(self, synth_dataset):
        from motionmap.synth import SYNTH_LAYOUT

        manifest, ds = check_format(synth_dataset, "synth", 3)
        assert ds.layout == SYNTH_LAYOUT
        assert [c.split for c in ds.characters].count("val") == 1
        assert all("seed" in c.recipe for c in ds.characters)

    def test_same_seed_same_bytes(self, synth_dataset, tmp_path):
        again = build_synth_dataset(tmp_path / "again", characters=3, seed=0, progress=False)
        for name in ["manifest.json", "backgrounds.png", "characters/c0002.png"]:
            assert (again / name).read_bytes() == (synth_dataset / name).read_bytes(), name

    def test_refuses_non_empty_out(self, synth_dataset):
        before = sorted(p.name for p in synth_dataset.iterdir())
        with pytest.raises(MotionmapError, match="not empty") as e:
            build_synth_dataset(synth_dataset, characters=2, progress=False)
        assert "\n" not in str(e.value)
        assert sorted(p.name for p in synth_dataset.iterdir()) == before

    def test_accepts_an_empty_folder(self, tmp_path):
        (tmp_path / "empty").mkdir()
        out = build_synth_dataset(tmp_path / "empty", characters=2, seed=1, progress=False)
        assert (out / "manifest.json").is_file()

    @pytest.mark.parametrize("n", [1, 0])
    def test_too_few_characters(self, tmp_path, n):
        with pytest.raises(MotionmapError, match="at least 2"):
            build_synth_dataset(tmp_path / "s", characters=n, progress=False)
        assert list(tmp_path.iterdir()) == []


def test_nothing_left_behind_on_error(tmp_path):
    def render(i):
        if i == 3:
            raise RuntimeError("boom")
        return tiny_sheet(i)

    with pytest.raises(RuntimeError, match="boom"):
        write_dataset(tmp_path / "ds", "synth", 0, TINY_LAYOUT, [{}] * 6, render, tiny_backgrounds(), progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()  # an empty --out folder is given back empty
    with pytest.raises(RuntimeError, match="boom"):
        write_dataset(tmp_path / "empty", "synth", 0, TINY_LAYOUT, [{}] * 6, render, tiny_backgrounds(),
                      progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and list((tmp_path / "empty").iterdir()) == []


class TestLpc:
    def test_format_and_held_out_layers_absent(self, lpc_dataset):
        from motionmap.layout import LPC_LAYOUT
        from motionmap.lpc import HELD_OUT_LAYERS, LpcRecipe

        manifest, ds = check_format(lpc_dataset, "lpc", 4)
        assert ds.layout == LPC_LAYOUT
        for c in ds.characters:
            recipe = LpcRecipe.from_json(c.recipe)
            assert not recipe.wears_held_out()
            for layer, options in HELD_OUT_LAYERS.items():
                assert c.recipe[layer] not in options

    def test_sheet_is_the_composed_character(self, lpc_dataset, lpc_root):
        from motionmap.lpc import LpcLayers, LpcRecipe, compose_character

        ds = SpriteDataset(lpc_dataset)
        want = compose_character(LpcLayers(lpc_root), LpcRecipe.from_json(ds.characters[1].recipe))
        np.testing.assert_array_equal(ds.sheet(1), want)

    def test_split_deterministic_and_disjoint(self, lpc_dataset):
        from motionmap.datasets.format import assign_splits

        ds = SpriteDataset(lpc_dataset)
        assert [c.split for c in ds.characters] == assign_splits(4, seed=0)
        ids = {c.id: c.split for c in ds.characters}
        assert len(ids) == 4

    def test_empty_layers_folder(self, tmp_path):
        (tmp_path / "layers").mkdir()
        with pytest.raises(MotionmapError, match="layers"):
            build_lpc_dataset(tmp_path / "layers", tmp_path / "out", characters=2, progress=False)
        assert not (tmp_path / "out").exists()
