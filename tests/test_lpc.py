"""The LPC character composer: layer scanning, composition order, recipes and seeded sampling."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io.images import read_image, write_png
from motionmap.io.sheets import slice_sheet
from motionmap.layout import LPC_LAYOUT
from motionmap.lpc import (
    HELD_OUT_LAYERS,
    LAYER_ORDER,
    LpcLayers,
    LpcRecipe,
    compose_character,
    sample_recipes,
)

LPC_COUNTS = {"spellcast": 7, "thrust": 8, "walk": 9, "slash": 6, "shoot": 13, "hurt": 6}
# A distinct opaque colour per layer; each layer paints the same square, so the top one shows.
LAYER_COLOURS = {layer: (40 * i + 20, 200 - 30 * i, 7 * i, 255) for i, layer in enumerate(LAYER_ORDER)}


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    """A tiny layer library: 2 options per layer (so held-out rules have something to bite on)."""
    root = tmp_path_factory.mktemp("toy_lpc")
    for i, layer in enumerate(LAYER_ORDER):
        (root / layer).mkdir()
        options = ["0", "5"] if layer in ("body", "topwear") else (["0", "7"] if layer == "hair" else ["0", "1"])
        for option in options:
            sheet = np.zeros((1344, 832, 4), np.uint8)
            sheet[10:30, 10:30] = LAYER_COLOURS[layer]  # overlapping square in cell (0, 0)
            sheet[40 + i, 40 + int(option)] = LAYER_COLOURS[layer]  # a pixel only this layer/option paints
            write_png(root / layer / f"{option}.png", sheet)
    return root


class TestRecipe:
    def test_json_round_trip(self):
        r = LpcRecipe("1", "2", "3", "4", eyes="0")
        assert LpcRecipe.from_json(r.to_json()) == r
        assert r.to_json()["shoes"] is None

    def test_from_json_errors(self):
        with pytest.raises(MotionmapError, match=r"missing layers \['hair'\]"):
            LpcRecipe.from_json({"body": "1", "bottomwear": "1", "topwear": "1"})
        with pytest.raises(MotionmapError, match=r"unknown layers \['hat'\]"):
            LpcRecipe.from_json({"body": "1", "bottomwear": "1", "topwear": "1", "hair": "1", "hat": "2"})

    def test_held_out(self):
        assert not LpcRecipe("0", "5", "0", "0").wears_held_out()  # bottomwear 5 is not held out
        assert LpcRecipe("5", "0", "0", "0").wears_held_out()
        assert LpcRecipe("0", "0", "5", "0").wears_held_out()
        assert LpcRecipe("0", "0", "0", "7").wears_held_out()
        assert HELD_OUT_LAYERS == {"body": ("5",), "topwear": ("5",), "hair": ("7",)}

    def test_layers_and_slug(self):
        r = LpcRecipe("1", "2", "3", "4", eyes="0")
        assert r.layers() == [("body", "1"), ("bottomwear", "2"), ("topwear", "3"), ("hair", "4"), ("eyes", "0")]
        assert r.slug() == "b1-bw2-t3-h4-s-e0"


class TestLpcLayers:
    def test_scan_toy(self, toy_root):
        layers = LpcLayers(toy_root)
        assert list(layers.options) == list(LAYER_ORDER)
        assert layers.options["body"] == ["0", "5"]

    def test_optional_layers_may_be_missing(self, toy_root, tmp_path):
        for layer in ("body", "bottomwear", "topwear", "hair"):
            (tmp_path / layer).mkdir()
            (tmp_path / layer / "0.png").write_bytes((toy_root / layer / "0.png").read_bytes())
        layers = LpcLayers(tmp_path)
        assert layers.options["shoes"] == [] and layers.options["eyes"] == []
        assert all(r.shoes is None and r.eyes is None for r in sample_recipes(layers, 1, seed=0, held_out="allow"))

    def test_missing_required_folder(self, tmp_path):
        (tmp_path / "body").mkdir()
        (tmp_path / "body" / "0.png").write_bytes(b"x")
        with pytest.raises(MotionmapError, match=r"bottomwear: does not exist"):
            LpcLayers(tmp_path)

    def test_empty_required_folder(self, tmp_path):
        for layer in ("body", "bottomwear", "topwear", "hair"):
            (tmp_path / layer).mkdir()
        with pytest.raises(MotionmapError, match=r"body: holds no layer sheets"):
            LpcLayers(tmp_path)

    def test_missing_root(self, tmp_path):
        with pytest.raises(MotionmapError, match="no such folder of LPC layers"):
            LpcLayers(tmp_path / "nope")

    def test_unknown_option(self, toy_root):
        with pytest.raises(MotionmapError, match=r"hair: no hair option '9'; choose one of: 0, 7"):
            compose_character(LpcLayers(toy_root), LpcRecipe("0", "0", "0", "9"))

    def test_wrong_size_sheet(self, tmp_path, toy_root):
        for layer in ("body", "bottomwear", "topwear", "hair"):
            (tmp_path / layer).mkdir()
            (tmp_path / layer / "0.png").write_bytes((toy_root / layer / "0.png").read_bytes())
        write_png(tmp_path / "hair" / "0.png", np.zeros((64, 64, 4), np.uint8), overwrite=True)
        with pytest.raises(MotionmapError, match=r"0\.png: 64x64 is not an LPC layer sheet"):
            compose_character(LpcLayers(tmp_path), LpcRecipe("0", "0", "0", "0"))

    def test_real_layers(self, lpc_root):
        layers = LpcLayers(lpc_root)
        assert len(layers.options["body"]) == 6 and len(layers.options["hair"]) == 8
        assert len(layers.options["shoes"]) == 3 and len(layers.options["eyes"]) == 5


class TestCompose:
    def test_layer_order(self, toy_root):
        layers = LpcLayers(toy_root)
        full = compose_character(layers, LpcRecipe("0", "0", "0", "0", shoes="1", eyes="1"))
        assert tuple(full[20, 20]) == LAYER_COLOURS["eyes"]
        no_eyes = compose_character(layers, LpcRecipe("0", "0", "0", "0", shoes="1"))
        assert tuple(no_eyes[20, 20]) == LAYER_COLOURS["shoes"]
        bare = compose_character(layers, LpcRecipe("0", "0", "0", "7"))
        assert tuple(bare[20, 20]) == LAYER_COLOURS["hair"]
        for i, layer in enumerate(LAYER_ORDER):  # every layer's own pixel shows through
            assert tuple(full[40 + i, 40 + (1 if layer in ("shoes", "eyes") else 0)]) == LAYER_COLOURS[layer]
        assert full.shape == (1344, 832, 4) and full.dtype == np.uint8

    def test_real_character_is_deterministic_and_stacked(self, lpc_root):
        recipe = LpcRecipe(body="2", bottomwear="1", topwear="0", hair="3", shoes="2", eyes="4")
        a = compose_character(LpcLayers(lpc_root), recipe)
        b = compose_character(LpcLayers(lpc_root), recipe)
        assert a.tobytes() == b.tobytes()
        hair = read_image(lpc_root / "hair" / "3.png")
        eyes = read_image(lpc_root / "eyes" / "4.png")
        shoes = read_image(lpc_root / "shoes" / "2.png")
        top_is_hair = (hair[..., 3] == 255) & (eyes[..., 3] == 0) & (shoes[..., 3] == 0)
        assert top_is_hair.any()
        np.testing.assert_array_equal(a[top_is_hair], hair[top_is_hair])
        body = read_image(lpc_root / "body" / "2.png")
        assert ((a[..., 3] > 0) >= (body[..., 3] > 0)).all()  # layers only add coverage

    def test_real_character_frame_counts(self, lpc_root):
        layers = LpcLayers(lpc_root)
        for recipe in sample_recipes(layers, 2, seed=3, held_out="allow"):
            rows = slice_sheet(compose_character(layers, recipe), LPC_LAYOUT)
            measured = {}
            for spec, frames in zip(LPC_LAYOUT.rows, rows):
                measured.setdefault(spec.name, set()).add(len(frames))
            assert measured == {k: {v} for k, v in LPC_COUNTS.items()}


class TestSample:
    def test_deterministic_and_distinct(self, lpc_root):
        layers = LpcLayers(lpc_root)
        a = sample_recipes(layers, 50, seed=7)
        assert a == sample_recipes(layers, 50, seed=7)
        assert a != sample_recipes(layers, 50, seed=8)
        assert len(set(a)) == 50

    def test_held_out_modes(self, lpc_root):
        layers = LpcLayers(lpc_root)
        assert not any(r.wears_held_out() for r in sample_recipes(layers, 200, seed=0, held_out="exclude"))
        assert all(r.wears_held_out() for r in sample_recipes(layers, 200, seed=0, held_out="require"))
        allowed = sample_recipes(layers, 300, seed=0, held_out="allow")
        assert any(r.wears_held_out() for r in allowed) and not all(r.wears_held_out() for r in allowed)

    def test_optional_layers_about_half_the_time(self, lpc_root):
        recipes = sample_recipes(LpcLayers(lpc_root), 400, seed=1, held_out="allow")
        for layer in ("shoes", "eyes"):
            share = np.mean([getattr(r, layer) is not None for r in recipes])
            assert 0.4 < share < 0.6, (layer, share)

    def test_exhausting_the_space(self, toy_root):
        layers = LpcLayers(toy_root)
        n = layers.count_recipes("exclude")  # 1 body x 2 x 1 top x 1 hair x 3 shoes x 3 eyes
        assert n == 18
        recipes = sample_recipes(layers, n, seed=0, held_out="exclude")
        assert len(set(recipes)) == n and not any(r.wears_held_out() for r in recipes)
        with pytest.raises(MotionmapError, match="only 18 distinct characters without held-out layers"):
            sample_recipes(layers, n + 1, seed=0, held_out="exclude")
        assert layers.count_recipes("require") == layers.count_recipes("allow") - n

    def test_bad_mode(self, toy_root):
        with pytest.raises(MotionmapError, match="held_out='maybe'"):
            sample_recipes(LpcLayers(toy_root), 1, seed=0, held_out="maybe")
