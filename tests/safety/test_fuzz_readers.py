"""Hypothesis fuzzing of every image/animation reader with random, truncated and mutated PNG/GIF/APNG bytes, and of
the Aseprite JSON reader with mutated JSON documents.

The contract: a hostile or broken file gives :class:`MotionmapError` (one line), never another exception, a crash or a
hang. Each example is run under an alarm (``HANG_SECONDS``) so a decoder loop fails the test instead of stalling CI,
and Hypothesis' deadline flags slow inputs. The number of inputs tried is printed (``pytest -s``) and must reach
``MIN_INPUTS``.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import signal
import zlib
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motionmap.datasets.importer import read_character
from motionmap.errors import MotionmapError
from motionmap.io.animation import encode_gif, read_animation, read_sheet, write_apng
from motionmap.io.aseprite import read_aseprite
from motionmap.io.images import read_image

# ~3-8 ms per input (6 reader calls) on 2 shared cores: 1200 inputs keep this test at 6-15 s in CI. A longer hunt:
# MOTIONMAP_FUZZ_EXAMPLES=20000 MOTIONMAP_FUZZ_SEED=random pytest tests/safety/test_fuzz_readers.py -s
MAX_EXAMPLES = int(os.environ.get("MOTIONMAP_FUZZ_EXAMPLES", "1200"))
DERANDOMIZE = os.environ.get("MOTIONMAP_FUZZ_SEED", "fixed") == "fixed"
MIN_INPUTS = 1000
HANG_SECONDS = 10


class Hang(Exception):
    pass


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _seed_files() -> dict:
    """Small valid files of every kind the readers take, the starting points for mutation."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (3, 12, 10, 4), dtype=np.uint8)
    frames[..., 3] = np.where(frames[..., 3] > 100, 255, 0)
    seeds = {
        "rgba.png": _png(frames[0]),
        "rgb.png": _png(frames[0, ..., :3]),
        "grey16.png": None,
        "anim.gif": encode_gif(frames, [80, 120, 100]),
        "still.gif": encode_gif(frames[:1], 100),
    }
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((rng.integers(0, 65535, (9, 7))).astype(np.uint16)).save(buf, format="PNG")
    seeds["grey16.png"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(frames[0, ..., :3]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(buf, format="PNG")
    seeds["palette.png"] = buf.getvalue()
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        seeds["anim.apng"] = write_apng(Path(d) / "a.png", frames, [50, 60, 70]).read_bytes()
    return seeds


SEEDS = _seed_files()
SEED_NAMES = sorted(SEEDS)


def _crc_fix(data: bytes) -> bytes:
    """Recompute PNG chunk CRCs, so mutations reach the decoders instead of stopping at the checksum."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, pos = bytearray(data[:8]), 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(data):
            out += data[pos:]
            return bytes(out)
        body = data[pos + 4 : end]
        out += data[pos : end] + zlib.crc32(body).to_bytes(4, "big")
        pos = end + 4
    out += data[pos:]
    return bytes(out)


@st.composite
def hostile_bytes(draw):
    """(name, bytes): random bytes, or a seed file truncated, byte-flipped, with numbers overwritten or spliced."""
    kind = draw(st.sampled_from(["random", "truncate", "flip", "numbers", "splice", "header"]))
    name = draw(st.sampled_from(SEED_NAMES))
    data = bytearray(SEEDS[name])
    if kind == "random":
        magic = draw(st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a"]))
        return name, magic + draw(st.binary(max_size=400))
    if kind == "truncate":
        return name, bytes(data[: draw(st.integers(0, len(data)))])
    if kind in ("flip", "numbers", "header"):
        hi = min(len(data), 120) if kind == "header" else len(data)
        n = draw(st.integers(1, 8))
        for _ in range(n):
            pos = draw(st.integers(0, hi - 1))
            if kind == "numbers":  # big-endian or little-endian 16/32-bit fields: sizes, counts, lengths
                width = draw(st.sampled_from([2, 4]))
                value = draw(st.sampled_from([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
                order = draw(st.sampled_from(["big", "little"]))
                raw = (value & ((1 << (8 * width)) - 1)).to_bytes(width, order)
                data[pos : pos + width] = raw
            else:
                data[pos] = draw(st.integers(0, 255))
        out = bytes(data)
        return name, _crc_fix(out) if draw(st.booleans()) else out
    other = SEEDS[draw(st.sampled_from(SEED_NAMES))]
    cut = draw(st.integers(0, len(data)))
    cut2 = draw(st.integers(0, len(other)))
    return name, _crc_fix(bytes(data[:cut]) + other[cut2:])


def _readers(folder: Path, name: str, data: bytes):
    """Every reader on ``data``: as a file (read_image, read_animation, read_sheet, read_animation as a sheet, an
    imported grid sheet or animation), as a frame of a frame folder, as the body layer of an LPC layer folder, and as
    the image of an Aseprite export."""
    suffix = Path(name).suffix if name.endswith(".gif") else ".png"
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    frames = folder / "frames"
    frames.mkdir()
    (frames / "frame_000.png").write_bytes(SEEDS["rgba.png"])
    (frames / "frame_001.png").write_bytes(data)
    layers = folder / "layers" / "body"
    layers.mkdir(parents=True)
    (layers / "body.png").write_bytes(data)
    export = folder / "export.json"
    export.write_text(json.dumps(_aseprite_doc(path.name)))
    return [
        ("read_aseprite(image)", lambda: read_aseprite(export)),
        ("read_character(grid)", lambda: read_character(path, frame_size=(4, 4))),
        ("read_character(file)", lambda: read_character(path)),
        ("read_image", lambda: read_image(path)),
        ("read_animation(file)", lambda: read_animation(path)),
        ("read_animation(sheet)", lambda: read_animation(path, animation="walk", frame_size="4x4")),
        ("read_sheet(file)", lambda: read_sheet(path)),
        ("read_animation(folder)", lambda: read_animation(frames)),
        ("read_sheet(layer folder)", lambda: read_sheet(folder / "layers")),
    ]


def _aseprite_doc(image: str) -> dict:
    """A valid json-array export of two 4x4 frames of a 10x12 image, one tag."""
    frame = {"frame": {"x": 0, "y": 0, "w": 4, "h": 4}, "rotated": False, "trimmed": False,
             "spriteSourceSize": {"x": 0, "y": 0, "w": 4, "h": 4}, "sourceSize": {"w": 4, "h": 4}, "duration": 100}
    second = copy.deepcopy(frame)
    second["frame"]["x"] = 4
    return {"frames": [frame, second],
            "meta": {"image": image, "size": {"w": 10, "h": 12},
                     "frameTags": [{"name": "walk", "from": 0, "to": 1, "direction": "pingpong"}]}}


def _dump(name: str, data: bytes) -> None:
    """Keep a failing input for replay when MOTIONMAP_FUZZ_DUMP names a folder."""
    folder = os.environ.get("MOTIONMAP_FUZZ_DUMP")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{len(list(Path(folder).iterdir())):04d}_{name}").write_bytes(data)


def _on_alarm(signum, frame):
    raise Hang(f"a reader ran for more than {HANG_SECONDS} s")


def test_seed_files_are_readable(tmp_path):
    """The fuzzer starts from valid files: every seed decodes (so mutations test the decoders, not the sniffers)."""
    for name, data in SEEDS.items():
        path = tmp_path / (("x.gif") if name.endswith(".gif") else "x.png")
        path.write_bytes(data)
        assert read_animation(path).frames.dtype == np.uint8
        path.unlink()


def test_fuzz_every_reader_raises_only_motionmap_error(tmp_path):
    tried = {"inputs": 0, "calls": 0, "refused": 0}
    previous = signal.signal(signal.SIGALRM, _on_alarm)

    @settings(max_examples=MAX_EXAMPLES, deadline=timedelta(seconds=3), derandomize=DERANDOMIZE, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(hostile_bytes())
    def one_input(named):
        name, data = named
        tried["inputs"] += 1
        folder = tmp_path / f"case{tried['inputs']}"
        folder.mkdir()
        try:
            for reader, call in _readers(folder, name, data):
                tried["calls"] += 1
                signal.alarm(HANG_SECONDS)
                try:
                    call()
                except MotionmapError as e:
                    tried["refused"] += 1
                    assert "\n" not in str(e), f"{reader}: multi-line message {e!r}"
                except Hang:
                    _dump(name, data)
                    raise AssertionError(f"{reader} hung on {name} mutated to {data[:64]!r}... ({len(data)} bytes)")
                except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
                    _dump(name, data)
                    raise AssertionError(
                        f"{reader} raised {type(e).__name__}: {e} on {name} -> {data[:80]!r}... ({len(data)} bytes)"
                    ) from e
                finally:
                    signal.alarm(0)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    try:
        one_input()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    print(f"\nfuzz: {tried['inputs']} inputs, {tried['calls']} reader calls, {tried['refused']} refused with "
          "MotionmapError, 0 other exceptions")
    assert tried["inputs"] >= MIN_INPUTS


HOSTILE_VALUES = st.sampled_from([None, True, -1, 0, 1, 3, 4, 5, 2**31, 2**63, -2**63, 1e308, float("nan"), "4", "",
                                  "pingpong", "../../etc/passwd", [], {}, [1, 2], {"w": 4}])


def _paths(node, prefix=()):
    """Every key path into a JSON document, e.g. ``("frames", 0, "frame", "x")``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


@st.composite
def hostile_aseprite(draw):
    """A valid Aseprite JSON document with values replaced, keys deleted or the text truncated."""
    doc = _aseprite_doc("image.png")
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(HOSTILE_VALUES)
    text = json.dumps(doc, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def test_fuzz_aseprite_json_raises_only_motionmap_error(tmp_path):
    """Mutated Aseprite documents (wrong types, missing keys, huge or negative numbers, paths) over a valid image:
    read_aseprite and the importer refuse them with one line or read them, nothing else."""
    from PIL import Image

    Image.fromarray(np.full((12, 10, 4), 200, np.uint8)).save(tmp_path / "image.png")
    tried = {"inputs": 0, "refused": 0}

    @settings(max_examples=min(MAX_EXAMPLES, 400), deadline=timedelta(seconds=3), derandomize=DERANDOMIZE,
              database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(hostile_aseprite())
    def one_document(text):
        tried["inputs"] += 1
        path = tmp_path / "export.json"
        path.write_text(text)
        for call in (lambda: read_aseprite(path), lambda: read_character(path)):
            try:
                call()
            except MotionmapError as e:
                tried["refused"] += 1
                assert "\n" not in str(e), f"multi-line message {e!r}"
            except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
                raise AssertionError(f"{type(e).__name__}: {e} on {text[:200]!r}") from e

    one_document()
    print(f"\nfuzz: {tried['inputs']} Aseprite documents, {tried['refused']} refused with MotionmapError")
    assert tried["inputs"] >= 300 and tried["refused"] > 0
