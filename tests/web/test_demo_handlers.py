"""DemoApp request handling without sockets: uploads (good and bad), clips, transfer, downloads, errors as JSON."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from demo_data import frames_zip, png_bytes, synth_lpc_sheet, target_frame, walk_gif
from motionmap.errors import MotionmapError
from motionmap.web.examples import example_animation, example_catalog, example_target
from motionmap.web.uploads import sniff_kind


def upload(app, name, data):
    return app.handle("POST", "/api/upload", {"name": [name]}, data)


def post(app, path, obj):
    return app.handle("POST", path, {}, json.dumps(obj).encode())


def ok(response):
    assert response.status == 200, response.body[:300]
    return response.json()


def error_of(response, status=400):
    assert response.status == status, (response.status, response.body[:300])
    assert response.content_type == "application/json"
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    return message


# ------------------------------------------------------------------------------------------------ pure helpers


def test_sniff():
    assert sniff_kind(b"GIF89a....") == "gif"
    assert sniff_kind(png_bytes(np.zeros((4, 4, 4), np.uint8))[:16]) == "png"
    assert sniff_kind(b"PK\x03\x04rest") == "zip"
    assert sniff_kind(b"<html>") is None


class TestExamples:
    def test_catalog_and_rendering(self):
        cat = example_catalog()
        assert len(cat["characters"]) >= 4 and cat["facings"] == ["up", "left", "down", "right"]
        anim = example_animation(cat["characters"][0]["id"], "run", "right")
        assert anim.frames.shape == (8, 64, 64, 4) and set(anim.durations_ms) == {100}
        tgt = example_target(cat["characters"][1]["id"], "run", "right")
        assert tgt.shape == (64, 64, 4) and tgt[..., 3].any()
        assert not np.array_equal(tgt, anim.frames[0])  # another character

    @pytest.mark.parametrize("args, word", [(("nobody", "walk", "up"), "character"), (("synth-1", "fly", "up"), "action"),
                                            (("synth-1", "walk", "north"), "facing")])
    def test_unknown_names(self, args, word):
        with pytest.raises(MotionmapError, match=f"example {word} .*choose one of"):
            example_animation(*args)


# ------------------------------------------------------------------------------------------------ the app


def test_info_and_static(app):
    info = ok(app.handle("GET", "/api/info"))
    assert info["limits"] == {"max_upload_mb": 1, "max_frames": 16, "max_frame_side": 256}
    page = app.handle("GET", "/")
    assert page.status == 200 and b"<canvas" in page.body
    for path in ("/app.js", "/style.css"):
        assert app.handle("GET", path).status == 200


def test_unknown_routes_and_methods(app):
    assert "no such page" in error_of(app.handle("GET", "/etc/passwd"), 404)
    assert "no such page" in error_of(app.handle("GET", "/../motionmap/web/server.py"), 404)
    assert "not allowed" in error_of(app.handle("POST", "/", {}, b""), 405)
    assert "not allowed" in error_of(app.handle("GET", "/api/transfer"), 405)
    error_of(app.handle("GET", "/api/clips/../../x/strip.png"), 404)
    assert "no such clip" in error_of(app.handle("GET", "/api/clips/..%2F..%2Fx/strip.png"), 404)
    assert "expired or unknown" in error_of(app.handle("GET", "/api/clips/0123456789abcdef/strip.png"), 404)
    assert "not valid JSON" in error_of(app.handle("POST", "/api/clip", {}, b"{nope"))


def test_transfer_from_uploads_end_to_end(app):
    gif, frames = walk_gif()
    up = ok(upload(app, "hero walk.gif", gif))
    assert (up["kind"], up["frames"], up["width"], up["height"]) == ("animation", 8, 64, 64)
    tgt_up = ok(upload(app, "knight.png", png_bytes(target_frame())))
    assert tgt_up["kind"] == "image"
    src = ok(post(app, "/api/clip", {"role": "source", "upload": up["upload"]}))
    tgt = ok(post(app, "/api/clip", {"role": "target", "upload": tgt_up["upload"]}))
    res = ok(post(app, "/api/transfer", {"source": src["clip"], "target": tgt["clip"]}))
    assert (res["frames"], res["width"], res["height"]) == (8, 64, 64)
    assert res["durations_ms"] == [100] * 8

    gif_resp = app.handle("GET", f"/api/clips/{res['clip']}/download", {"format": ["gif"]})
    assert gif_resp.content_type == "image/gif"
    assert ("Content-Disposition", 'attachment; filename="motionmap_result.gif"') in gif_resp.headers
    strip = np.asarray(Image.open(io.BytesIO(app.handle("GET", f"/api/clips/{res['clip']}/strip.png").body)))
    assert strip.shape[:2] == (64, 8 * 64)
    sheet = np.asarray(Image.open(io.BytesIO(
        app.handle("GET", f"/api/clips/{res['clip']}/download", {"format": ["sheet"]}).body)))
    np.testing.assert_array_equal(sheet, strip)
    with zipfile.ZipFile(io.BytesIO(app.handle("GET", f"/api/clips/{res['clip']}/download",
                                               {"format": ["zip"]}).body)) as zf:
        assert zf.namelist() == [f"frame_{i:03d}.png" for i in range(8)]
    assert "downloads as gif or sheet or zip" in error_of(
        app.handle("GET", f"/api/clips/{res['clip']}/download", {"format": ["exe"]}))


def test_transfer_palette_lock_on_by_default_off_on_request(app):
    from motionmap.palette import in_palette, target_palette

    gif, _ = walk_gif()
    src = ok(post(app, "/api/clip", {"role": "source", "upload": ok(upload(app, "walk.gif", gif))["upload"]}))
    target = target_frame()
    tgt = ok(post(app, "/api/clip", {"role": "target", "upload": ok(upload(app, "t.png", png_bytes(target)))["upload"]}))

    def strip(res):
        return np.asarray(Image.open(io.BytesIO(app.handle("GET", f"/api/clips/{res['clip']}/strip.png").body)))

    locked = ok(post(app, "/api/transfer", {"source": src["clip"], "target": tgt["clip"]}))
    assert locked["palette"] == "target"
    out = strip(locked)
    assert out.shape[-1] == 4 and set(np.unique(out[..., 3])) <= {0, 255}  # hard alpha
    assert in_palette(out[..., :3][out[..., 3] > 0], target_palette(target)).all()  # only the target's colours
    soft = ok(post(app, "/api/transfer", {"source": src["clip"], "target": tgt["clip"], "palette": "off"}))
    assert soft["palette"] == "off"
    assert not in_palette(strip(soft)[..., :3][strip(soft)[..., 3] > 0], target_palette(target)).all()
    message = error_of(post(app, "/api/transfer", {"source": src["clip"], "target": tgt["clip"], "palette": "vivid"}))
    assert message.startswith("palette 'vivid': unknown palette option; use 'target'")


def test_zip_of_frames_source(app):
    _, frames = walk_gif()
    up = ok(upload(app, "walk.zip", frames_zip(frames)))
    assert (up["kind"], up["frames"]) == ("animation", 8)
    src = ok(post(app, "/api/clip", {"role": "source", "upload": up["upload"]}))
    strip = np.asarray(Image.open(io.BytesIO(app.handle("GET", f"/api/clips/{src['clip']}/strip.png").body)))
    np.testing.assert_array_equal(strip, frames.transpose(1, 0, 2, 3).reshape(64, 8 * 64, 4))


def test_zip_with_dotdot_names_is_a_readable_error(app):
    data = frames_zip([np.zeros((8, 8, 4), np.uint8)], ["../../escape.png"])
    message = error_of(upload(app, "evil.zip", data))
    assert message.startswith("evil.zip: member") and "unsafe path" in message
    assert not list(app.workdir.rglob("escape.png")) and not (app.workdir.parent / "escape.png").exists()


def test_bad_uploads_are_readable_errors(app):
    assert "not a GIF, PNG or zip" in error_of(upload(app, "notes.txt", b"hello world"))
    assert "empty file" in error_of(upload(app, "x.gif", b""))
    truncated = png_bytes(target_frame())[:60]
    message = error_of(upload(app, "../../cut.png", truncated))
    assert message.startswith("cut.png: not a readable image") and str(app.workdir) not in message
    assert not any(p.is_file() for p in app.workdir.rglob("*"))  # nothing of a refused upload is kept


def test_oversize_body_is_refused(app):
    # app's limit is 1 MB; the socket layer refuses by Content-Length before reading (test_demo_http.py).
    message = error_of(upload(app, "big.gif", b"GIF89a" + b"\0" * (2**20)), 413)
    assert "over this demo's limit of 1 MB" in message and "--max-upload-mb" in message


def test_frame_limit(app):
    frames = np.repeat(walk_gif()[1], 3, axis=0)  # 24 frames > the app's 16
    from motionmap.io.animation import encode_gif

    message = error_of(upload(app, "long.gif", encode_gif(frames, 100)))
    assert "24 frames is more than this demo's limit of 16" in message and "--max-frames" in message
    assert "24 frames" in error_of(upload(app, "long.zip", frames_zip(frames)))


def test_lpc_sheet_pickers_and_unknown_animation(app):
    sheet = synth_lpc_sheet(1)
    up = ok(upload(app, "hero_lpc.png", png_bytes(sheet)))
    assert up["kind"] == "sheet" and not up["needs_frame_size"]
    anims = {a["name"]: a for a in up["layout"]["animations"]}
    assert list(anims) == ["spellcast", "thrust", "walk", "slash", "shoot", "hurt"]
    assert anims["walk"]["facings"] == ["up", "left", "down", "right"] and anims["hurt"]["facings"] == ["down"]
    clip = ok(post(app, "/api/clip", {"role": "source", "upload": up["upload"], "animation": "walk", "facing": "right"}))
    assert clip["frames"] == 8  # the 9th walk cell is empty and trimmed

    message = error_of(post(app, "/api/clip", {"role": "source", "upload": up["upload"], "animation": "dance",
                                                "facing": "up"}))
    assert message == ("hero_lpc.png: unknown animation 'dance'; this sheet has: spellcast, thrust, walk, slash, "
                       "shoot, hurt")
    assert "pick an animation" in error_of(post(app, "/api/clip", {"role": "source", "upload": up["upload"]}))
    assert "unknown" in error_of(post(app, "/api/clip", {"role": "source", "upload": up["upload"],
                                                          "animation": "walk", "facing": "north"}))

    # As a target: the first frame of the matching facing's row.
    tgt = ok(post(app, "/api/clip", {"role": "target", "upload": up["upload"], "animation": "slash", "facing": "left"}))
    strip = np.asarray(Image.open(io.BytesIO(app.handle("GET", f"/api/clips/{tgt['clip']}/strip.png").body)))
    row = 13  # slash/left
    np.testing.assert_array_equal(strip, sheet[row * 64 : (row + 1) * 64, :64])


def test_synthetic_sheet_is_known_by_its_size(app):
    from motionmap.synth import SYNTH_LAYOUT, render_sheet, sample_character

    sheet = render_sheet(sample_character(3))
    up = ok(upload(app, "synth.png", png_bytes(sheet)))
    assert up["kind"] == "sheet" and not up["needs_frame_size"] and up["layout"]["animations"][1]["name"] == "run"
    tgt = ok(post(app, "/api/clip", {"role": "target", "upload": up["upload"], "animation": "run", "facing": "right"}))
    assert tgt["name"] == "synth.png · run/right frame 1"
    strip = np.asarray(Image.open(io.BytesIO(app.handle("GET", f"/api/clips/{tgt['clip']}/strip.png").body)))
    row = SYNTH_LAYOUT.row_index("run", "right")
    np.testing.assert_array_equal(strip, sheet[row * 64 : (row + 1) * 64, :64])
    first = ok(post(app, "/api/clip", {"role": "target", "upload": up["upload"], "animation": "slash"}))
    assert first["name"] == f"synth.png · {SYNTH_LAYOUT.rows[0].name}/{SYNTH_LAYOUT.rows[0].facing} frame 1"


def test_grid_sheet_needs_a_frame_size(app):
    frames = walk_gif()[1]
    grid = np.concatenate([frames.transpose(1, 0, 2, 3).reshape(64, -1, 4)] * 2, axis=0)  # 2 rows x 8 frames
    big = np.zeros((128, 1024, 4), np.uint8)
    big[:, :512] = grid
    up = ok(upload(app, "grid.png", png_bytes(big)))
    assert up["kind"] == "sheet" and up["needs_frame_size"]
    assert "give the frame size" in error_of(post(app, "/api/clip", {"role": "source", "upload": up["upload"],
                                                                      "animation": "row1"}))
    clip = ok(post(app, "/api/clip", {"role": "source", "upload": up["upload"], "animation": "row1",
                                       "frame_size": "64x64"}))
    assert clip["frames"] == 8
    assert "not a multiple" in error_of(post(app, "/api/clip", {"role": "source", "upload": up["upload"],
                                                                 "animation": "row1", "frame_size": "60x60"}))


def test_mismatched_target_size_is_a_readable_error(app):
    src = ok(post(app, "/api/clip", {"role": "source", "example": {"character": "synth-1", "action": "walk",
                                                                    "facing": "down"}}))
    small = ok(upload(app, "small.png", png_bytes(np.full((32, 32, 4), 255, np.uint8))))
    tgt = ok(post(app, "/api/clip", {"role": "target", "upload": small["upload"]}))
    message = error_of(post(app, "/api/transfer", {"source": src["clip"], "target": tgt["clip"]}))
    assert "32x32 is smaller than the source frames (64x64)" in message


def test_unknown_example_is_readable_json(app):
    message = error_of(post(app, "/api/clip", {"role": "source", "example": {"character": "synth-1",
                                                                              "action": "moonwalk"}}))
    assert message.startswith("example action 'moonwalk': unknown; choose one of walk, run")


def test_apng_source_and_truncated_gif(app, tmp_path):
    from motionmap.io.animation import write_apng

    _, frames = walk_gif()
    write_apng(tmp_path / "walk.png", frames, [80] * 8)
    up = ok(upload(app, "walk.png", (tmp_path / "walk.png").read_bytes()))
    assert (up["kind"], up["frames"]) == ("animation", 8)
    clip = ok(post(app, "/api/clip", {"role": "source", "upload": up["upload"]}))
    assert clip["durations_ms"] == [80] * 8  # the source's own speed is kept

    gif, _ = walk_gif()
    message = error_of(upload(app, "cut.gif", gif[: len(gif) // 3]))
    assert message.startswith("cut.gif: ") and str(app.workdir) not in message
