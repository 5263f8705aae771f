"""Aseprite exports: json-array and json-hash, trimmed frames, tag directions, durations, the writer, bad input."""

import json

import numpy as np
import pytest

from motionmap.errors import MotionmapError
from motionmap.io import Animation
from motionmap.io.aseprite import NamedAnimation, read_aseprite, tag_order, write_aseprite
from sprite_exports import export_aseprite, moving_square, tag


class TestTagOrder:
    @pytest.mark.parametrize("direction, want", [
        ("forward", [2, 3, 4, 5]),
        ("reverse", [5, 4, 3, 2]),
        ("pingpong", [2, 3, 4, 5, 4, 3]),
        ("pingpong_reverse", [5, 4, 3, 2, 3, 4]),
    ])
    def test_known_orders(self, direction, want):
        assert tag_order(2, 5, direction) == want

    def test_one_and_two_frame_pingpong(self):
        assert tag_order(3, 3, "pingpong") == [3]
        assert tag_order(0, 1, "pingpong") == [0, 1]


class TestRead:
    @pytest.mark.parametrize("form", ["array", "hash"])
    def test_tags_become_animations_with_their_durations(self, tmp_path, form):
        frames = moving_square(6, 16, 12)
        durations = [50, 60, 70, 80, 90, 100]
        path = export_aseprite(tmp_path, "hero", frames, durations, [tag("walk_down", 0, 3), tag("idle", 4, 5)], form)
        sheet = read_aseprite(path)
        np.testing.assert_array_equal(sheet.frames, frames)
        assert sheet.durations_ms == tuple(durations)
        (walk, a), (idle, b) = sheet.animations
        assert (walk, idle) == ("walk_down", "idle")
        np.testing.assert_array_equal(a.frames, frames[:4])
        assert a.durations_ms == (50, 60, 70, 80) and b.durations_ms == (90, 100)

    @pytest.mark.parametrize("form", ["array", "hash"])
    def test_trimmed_frames_are_restored_to_their_source_size(self, tmp_path, form):
        frames = moving_square(4, 20, 24)
        path = export_aseprite(tmp_path, "hero", frames, [100] * 4, form=form, trim=True)
        doc = json.loads(path.read_text())
        first = doc["frames"][0] if form == "array" else next(iter(doc["frames"].values()))
        assert first["frame"]["w"] < 20 and first["spriteSourceSize"]["x"] > 0  # really trimmed
        sheet = read_aseprite(path)
        np.testing.assert_array_equal(sheet.frames, frames)

    def test_pingpong_and_reverse_tags_play_in_their_direction(self, tmp_path):
        frames = moving_square(5)
        durations = [10, 20, 30, 40, 50]
        path = export_aseprite(tmp_path, "hero", frames, durations,
                               [tag("swing", 0, 2, "pingpong"), tag("back", 3, 4, "reverse")])
        (_, swing), (_, back) = read_aseprite(path).animations
        np.testing.assert_array_equal(swing.frames, frames[[0, 1, 2, 1]])
        assert swing.durations_ms == (10, 20, 30, 20)
        np.testing.assert_array_equal(back.frames, frames[[4, 3]])
        assert back.durations_ms == (50, 40)

    def test_without_tags_the_file_is_one_animation(self, tmp_path):
        frames = moving_square(3)
        (name, anim), = read_aseprite(export_aseprite(tmp_path, "slime", frames, [100, 120, 140])).animations
        assert name == "slime" and anim.durations_ms == (100, 120, 140)
        np.testing.assert_array_equal(anim.frames, frames)

    def test_image_is_found_by_meta_image(self, tmp_path):
        path = export_aseprite(tmp_path, "hero", moving_square(2), [100, 100], image_name="sheet-01.png")
        assert read_aseprite(path).frames.shape == (2, 16, 16, 4)


class TestWrite:
    def test_round_trip_through_our_reader(self, tmp_path):
        walk = Animation(moving_square(4, 24, 16), (80, 90, 100, 110))
        jump = Animation(moving_square(2, 24, 16, colour=(20, 200, 40)), (150, 50))
        png, path = write_aseprite(tmp_path / "result.json", [NamedAnimation("walk", walk), NamedAnimation("jump", jump)])
        assert png == tmp_path / "result.png" and png.is_file()
        doc = json.loads(path.read_text())
        assert isinstance(doc["frames"], list) and doc["meta"]["image"] == "result.png"
        assert [(t["name"], t["from"], t["to"], t["direction"]) for t in doc["meta"]["frameTags"]] == [
            ("walk", 0, 3, "forward"), ("jump", 4, 5, "forward")]
        back = read_aseprite(path).animations
        assert [a.name for a in back] == ["walk", "jump"]
        for (_, want), (_, got) in zip([("walk", walk), ("jump", jump)], back):
            np.testing.assert_array_equal(got.frames, want.frames)
            assert got.durations_ms == want.durations_ms

    def test_refuses_to_overwrite_and_wrong_suffix(self, tmp_path):
        anims = [NamedAnimation("a", Animation.uniform(moving_square(2)))]
        write_aseprite(tmp_path / "r.json", anims)
        with pytest.raises(MotionmapError, match="exists"):
            write_aseprite(tmp_path / "r.json", anims)
        write_aseprite(tmp_path / "r.json", anims, overwrite=True)
        with pytest.raises(MotionmapError, match=r"\.json"):
            write_aseprite(tmp_path / "r.png", anims)


def _doc(tmp_path, **frame0_changes):
    path = export_aseprite(tmp_path, "hero", moving_square(4), [100] * 4, [tag("walk", 0, 1), tag("run", 2, 3)])
    doc = json.loads(path.read_text())
    doc["frames"][0].update(frame0_changes)
    return path, doc


class TestBadInput:
    def _refused(self, path, doc, match):
        path.write_text(json.dumps(doc))
        with pytest.raises(MotionmapError, match=match) as e:
            read_aseprite(path)
        assert "\n" not in str(e.value) and str(path) in str(e.value)

    def test_missing_image(self, tmp_path):
        path, doc = _doc(tmp_path)
        (tmp_path / "hero.png").unlink()
        self._refused(path, doc, "its image hero.png is missing")

    def test_frame_rectangle_outside_the_image(self, tmp_path):
        path, doc = _doc(tmp_path, frame={"x": 60, "y": 0, "w": 16, "h": 16})
        self._refused(path, doc, "lies outside the 64x16 image")

    def test_overlapping_tags(self, tmp_path):
        path, doc = _doc(tmp_path)
        doc["meta"]["frameTags"] = [tag("walk", 0, 2), tag("run", 2, 3)]
        self._refused(path, doc, "overlap")

    def test_tag_past_the_last_frame(self, tmp_path):
        path, doc = _doc(tmp_path)
        doc["meta"]["frameTags"] = [tag("walk", 0, 4)]
        self._refused(path, doc, "past the last frame")

    @pytest.mark.parametrize("duration", [0, -40])
    def test_durations_not_positive(self, tmp_path, duration):
        path, doc = _doc(tmp_path, duration=duration)
        self._refused(path, doc, "not positive")

    def test_mixed_frame_sizes(self, tmp_path):
        path, doc = _doc(tmp_path, sourceSize={"w": 20, "h": 16})
        self._refused(path, doc, "frames of different sizes")

    @pytest.mark.parametrize("change, match", [
        ({"rotated": True}, "rotated"),
        ({"spriteSourceSize": {"x": 10, "y": 0, "w": 16, "h": 16}}, "does not fit"),
        ({"frame": {"x": 0, "y": 0, "w": "16", "h": 16}}, "should be an integer"),
    ])
    def test_other_broken_frames(self, tmp_path, change, match):
        path, doc = _doc(tmp_path, **change)
        self._refused(path, doc, match)

    def test_not_json_and_not_an_export(self, tmp_path):
        path = tmp_path / "x.json"
        path.write_text("{nope")
        with pytest.raises(MotionmapError, match="not valid JSON"):
            read_aseprite(path)
        path.write_text('{"a": 1}')
        with pytest.raises(MotionmapError, match="not an Aseprite sheet export"):
            read_aseprite(path)


class TestReadAnimation:
    """An Aseprite export is an animation source too (retarget --source hero.json --animation walk --facing down)."""

    def test_picks_a_tag(self, tmp_path):
        from motionmap.io import read_animation

        frames = moving_square(5)
        path = export_aseprite(tmp_path, "hero", frames, [10, 20, 30, 40, 50], [tag("walk_down", 0, 2), tag("idle", 3, 4)])
        np.testing.assert_array_equal(read_animation(path, animation="walk", facing="down").frames, frames[:3])
        assert read_animation(path, animation="idle").durations_ms == (40, 50)
        with pytest.raises(MotionmapError, match="has 2 tags; pick one with --animation"):
            read_animation(path)
        with pytest.raises(MotionmapError, match="no tag 'run'"):
            read_animation(path, animation="run")
