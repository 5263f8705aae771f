"""Universal LPC trees: the composer's body types, held-out looks, and datasets mixing two layer libraries."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.ulpc import (
    BODY_TYPES,
    SLOT_ORDER,
    UlpcLayers,
    UlpcRecipe,
    compose_ulpc_character,
    is_ulpc_tree,
    sample_ulpc_recipes,
)


@pytest.fixture(scope="module")
def layers(ulpc_root):
    return UlpcLayers(ulpc_root)


def test_tree_is_read_per_body_type(layers, ulpc_root, lpc_root):
    assert is_ulpc_tree(ulpc_root) and not is_ulpc_tree(lpc_root)
    assert layers.body_types == BODY_TYPES
    for body_type in BODY_TYPES:
        opts = layers.options[body_type]
        assert len(opts["body"]) == 5 and len(opts["hair"]) == 20 * 29
        other = [t for t in BODY_TYPES if t != body_type][0]
        for slot, paths in opts.items():
            for rel in paths:  # a layer never crosses to the other body type
                parts = PurePosixPath(rel).parts
                assert other not in parts and not PurePosixPath(rel).stem.endswith("_" + other), (slot, rel)
    assert all("eyes" in p for p in layers.options["male"]["eyes"])
    assert all("shoulders" in p for p in layers.options["female"]["shoulders"])


def test_training_recipes_never_wear_held_out_looks_and_targets_always_do(layers):
    train = sample_ulpc_recipes(layers, 60, seed=3, held_out="exclude")
    test = sample_ulpc_recipes(layers, 20, seed=3, held_out="require")
    assert not any(r.wears_held_out() for r in train)
    assert all(r.wears_held_out() for r in test)
    assert {r.body_type for r in train} == set(BODY_TYPES)  # alternating body types
    assert len(set(train)) == 60
    assert sample_ulpc_recipes(layers, 5, seed=3) == sample_ulpc_recipes(layers, 5, seed=3)
    assert {r.body_type for r in sample_ulpc_recipes(layers, 6, seed=1, body_types=("female",))} == {"female"}


def test_compose_draws_layers_in_order_and_round_trips_json(layers):
    recipe = UlpcRecipe(body_type="female", body="body/female/light.png", hair="hair/female/ponytail/black.png",
                        torso="torso/leather/chest_female.png", shoulders="torso/leather/shoulders_female.png")
    sheet = compose_ulpc_character(layers, recipe)
    assert sheet.shape == (1344, 832, 4) and sheet.dtype == np.uint8
    body = layers.sheet(recipe.body)
    hair = layers.sheet(recipe.hair)
    # Where the hair is opaque the hair shows (it is drawn after the body and the torso).
    top = hair[..., 3] == 255
    assert top.any() and np.array_equal(sheet[top], hair[top])
    # Where only the body is drawn, the body shows.
    covered = np.logical_or.reduce([layers.sheet(p)[..., 3] > 0 for _, p in recipe.layers()[1:]])
    only_body = (body[..., 3] == 255) & ~covered
    assert only_body.any() and np.array_equal(sheet[only_body], body[only_body])
    assert UlpcRecipe.from_json(json.loads(json.dumps(recipe.to_json()))) == recipe
    assert [s for s, _ in recipe.layers()] == [s for s in SLOT_ORDER if getattr(recipe, s)]


def test_bad_trees_and_recipes_are_one_line_errors(tmp_path, layers):
    with pytest.raises(MotionmapError, match="no such folder"):
        UlpcLayers(tmp_path / "missing")
    (tmp_path / "body" / "male").mkdir(parents=True)
    with pytest.raises(MotionmapError, match="no body type with both body sheets and hair"):
        UlpcLayers(tmp_path)
    with pytest.raises(MotionmapError, match="body_type"):
        UlpcRecipe.from_json({"body": "x.png"})
    with pytest.raises(MotionmapError, match="no such layer sheet"):
        layers.sheet("hair/male/none/none.png")


def test_data_lpc_mixes_two_libraries(lpc_root, ulpc_root, tmp_path, capsys):
    from motionmap.cli import main
    from motionmap.datasets.dataset import SpriteDataset

    out = tmp_path / "mix"
    rc = main(["data", "lpc", "--layers", str(lpc_root), "--layers", str(ulpc_root), "--out", str(out),
               "--characters", "4"])
    assert rc == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    kinds = [c["recipe"].get("kind", "lpc") for c in manifest["characters"]]
    assert sorted(kinds) == ["lpc", "lpc", "ulpc", "ulpc"]
    for c in manifest["characters"]:
        if c["recipe"].get("kind") == "ulpc":
            assert not UlpcRecipe.from_json(c["recipe"]).wears_held_out()
    assert len(SpriteDataset(out)) == 4
