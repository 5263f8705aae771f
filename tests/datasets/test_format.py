"""The manifest format: splits by character, parsing and validation, row offsets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.datasets.format import (
    FORMAT,
    VERSION,
    assign_splits,
    parse_manifest,
    row_offsets,
    split_indices,
    CharacterEntry,
)
from motionmap.errors import MotionmapError
from motionmap.layout import LPC_LAYOUT

from tiny_sprites import TINY_LAYOUT


class TestAssignSplits:
    @pytest.mark.parametrize("n", [2, 3, 8, 10, 64, 101])
    def test_about_ten_percent_val_at_least_one(self, n):
        splits = assign_splits(n, seed=0)
        n_val = splits.count("val")
        assert len(splits) == n and set(splits) <= {"train", "val"}
        assert n_val == max(1, round(0.1 * n))
        assert splits.count("train") >= 1

    def test_deterministic_for_a_seed_and_varies_with_it(self):
        assert assign_splits(64, seed=3) == assign_splits(64, seed=3)
        assert len({tuple(assign_splits(64, seed=s)) for s in range(5)}) > 1

    @pytest.mark.parametrize("n", [0, 1])
    def test_too_few_characters(self, n):
        with pytest.raises(MotionmapError, match="at least 2"):
            assign_splits(n, seed=0)


def test_row_offsets_lpc():
    offsets = row_offsets(LPC_LAYOUT)
    assert offsets[0] == 0 and offsets[-1] == 4 * (7 + 8 + 9 + 6 + 13) + 6
    assert list(np.diff(offsets)[:4]) == [7, 7, 7, 7]  # spellcast
    assert list(row_offsets(TINY_LAYOUT)) == [0, 5, 8, 9]


def _manifest(**over):
    d = {
        "format": FORMAT,
        "version": VERSION,
        "source": "synth",
        "seed": 0,
        "layout": TINY_LAYOUT.to_json(),
        "characters": [{"id": "c0000", "sheet": "characters/c0000.png", "split": "train", "recipe": {}}],
        "backgrounds": "backgrounds.png",
    }
    d.update(over)
    return d


class TestParseManifest:
    def test_round_trip(self, tmp_path):
        m = parse_manifest(_manifest(), tmp_path / "manifest.json")
        assert m.layout == TINY_LAYOUT
        assert parse_manifest(json.loads(m.dumps()), tmp_path) == m

    @pytest.mark.parametrize(
        "override, message",
        [
            ({"format": "zip"}, "format 'zip'"),
            ({"version": 7}, "version 7"),
            ({"seed": "zero"}, "'seed' should be int"),
            ({"layout": {"rows": []}}, "invalid 'layout'"),
            ({"characters": []}, "no characters"),
            ({"characters": [{"id": "c0", "sheet": "s.png", "split": "test", "recipe": {}}]}, "split 'test'"),
        ],
    )
    def test_bad_manifest_is_one_line_naming_the_file(self, tmp_path, override, message):
        with pytest.raises(MotionmapError, match=message) as e:
            parse_manifest(_manifest(**override), tmp_path / "manifest.json")
        assert "manifest.json" in str(e.value) and "\n" not in str(e.value)

    def test_missing_key(self, tmp_path):
        d = _manifest()
        del d["characters"]
        with pytest.raises(MotionmapError, match="missing key 'characters'"):
            parse_manifest(d, tmp_path / "manifest.json")

    def test_duplicate_ids(self, tmp_path):
        c = {"id": "c0", "sheet": "s.png", "split": "train", "recipe": {}}
        with pytest.raises(MotionmapError, match="duplicate"):
            parse_manifest(_manifest(characters=[c, c]), tmp_path / "manifest.json")


def test_split_indices():
    chars = [CharacterEntry(f"c{i}", "x", s, {}) for i, s in enumerate(["train", "val", "train", "val"])]
    assert list(split_indices(chars, "train")) == [0, 2]
    assert list(split_indices(chars, "val")) == [1, 3]
    with pytest.raises(MotionmapError, match="split 'test'"):
        split_indices(chars, "test")


class TestVersion2:
    """Per-character row counts and durations (imported sets): version 2, written only when a character needs it."""

    def _char(self, **over):
        c = {"id": "c0000", "sheet": "characters/c0000.png", "split": "train", "recipe": {},
             "row_frames": [5, 0, 1], "durations_ms": [[100] * 5, [], [70]]}
        c.update(over)
        return c

    def test_round_trip_and_version(self, tmp_path):
        m = parse_manifest(_manifest(version=2, characters=[self._char()]), tmp_path / "manifest.json")
        assert m.characters[0].row_frames == (5, 0, 1) and m.characters[0].durations_ms == ((100,) * 5, (), (70,))
        assert m.version == 2 and json.loads(m.dumps())["version"] == 2
        assert parse_manifest(json.loads(m.dumps()), tmp_path) == m
        plain = parse_manifest(_manifest(version=1), tmp_path)
        assert plain.version == 1 and "row_frames" not in plain.dumps()  # synth/lpc sets keep writing version 1

    @pytest.mark.parametrize("over, message", [
        ({"row_frames": [5, 0]}, "'row_frames' should be 3 integers"),
        ({"row_frames": [6, 0, 1]}, "'row_frames' should be 3 integers"),
        ({"row_frames": [0, 0, 0]}, "not all 0"),
        ({"durations_ms": [[100] * 5, [], []]}, "'durations_ms' should hold"),
        ({"durations_ms": [[100] * 4 + [0], [], [70]]}, "'durations_ms' should hold"),
    ])
    def test_bad_per_character_rows(self, tmp_path, over, message):
        with pytest.raises(MotionmapError, match=message) as e:
            parse_manifest(_manifest(version=2, characters=[self._char(**over)]), tmp_path / "manifest.json")
        assert "manifest.json" in str(e.value) and "\n" not in str(e.value)
