"""CharacterSpec and sample_character: determinism, variety, JSON round trips, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.synth import BOTTOMS, HAIR_STYLES, HATS, CharacterSpec, sample_character


class TestSampleCharacter:
    def test_same_seed_same_character(self):
        assert sample_character(5) == sample_character(5)
        assert sample_character(np.random.default_rng(9)) == sample_character(np.random.default_rng(9))

    def test_different_seeds_differ(self):
        specs = {sample_character(s) for s in range(20)}
        assert len(specs) == 20

    def test_variety_of_styles_and_colours(self):
        specs = [sample_character(s) for s in range(60)]
        assert {s.hair_style for s in specs} == set(HAIR_STYLES)
        assert {s.hat for s in specs} == set(HATS)
        assert {s.bottom for s in specs} == set(BOTTOMS)
        assert len({s.skin for s in specs}) >= 5
        assert len({s.shirt for s in specs}) == 60
        assert len({s.height for s in specs}) >= 5

    def test_height_like_an_lpc_sprite(self):
        for s in range(100):
            assert 40 <= sample_character(s).height <= 50

    @pytest.mark.parametrize("bad", [-1, 1.5, "7", None, True])
    def test_bad_seed(self, bad):
        with pytest.raises(MotionmapError, match="seed"):
            sample_character(bad)


class TestCharacterSpecJson:
    def test_round_trip_through_json_text(self):
        for s in range(10):
            spec = sample_character(s)
            assert CharacterSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec

    def test_unknown_and_missing_keys(self):
        d = CharacterSpec().to_json()
        d["wings"] = 2
        del d["skin"]
        with pytest.raises(MotionmapError, match=r"wings.*skin"):
            CharacterSpec.from_json(d)

    def test_wrong_type(self):
        d = CharacterSpec().to_json()
        d["torso"] = "tall"
        with pytest.raises(MotionmapError, match="torso"):
            CharacterSpec.from_json(d)

    def test_not_a_dict(self):
        with pytest.raises(MotionmapError, match="JSON object"):
            CharacterSpec.from_json([1, 2])


class TestValidation:
    def test_unknown_style(self):
        with pytest.raises(MotionmapError, match="hair_style='mohawk'.*short"):
            CharacterSpec(hair_style="mohawk")

    def test_bad_colour(self):
        with pytest.raises(MotionmapError, match="shirt"):
            CharacterSpec(shirt=(300, 0, 0))

    def test_bad_length(self):
        with pytest.raises(MotionmapError, match="torso"):
            CharacterSpec(torso=-3)
