"""End to end in a real browser: headless Chromium (Debian's) driven by Playwright against the demo on loopback.

Uploads a source GIF and a target PNG, runs the transfer, steps frames, downloads the result GIF and checks its frame
count and size, runs the whole-sheet job with its progress bar, and saves a screenshot. Every request the page makes
is recorded: all go to the demo server (the page is offline).

Environment: ``MOTIONMAP_CHROMIUM`` (default ``/usr/bin/chromium``); ``MOTIONMAP_DEMO_SCREENSHOT=PATH`` saves the
screenshot there (the README's is ``docs/images/demo.png``) instead of the test's temp folder;
``MOTIONMAP_DEMO_CHECKPOINT=CKPT`` serves a trained model instead of the untrained test one (for that screenshot).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from demo_data import lpc_walk_frame, png_bytes, synth_lpc_sheet, target_frame, walk_gif
from motionmap.io.animation import read_animation
from motionmap.layout import FACINGS

CHROMIUM = os.environ.get("MOTIONMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    import playwright.sync_api  # noqa: F401

    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False

pytestmark = [
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="Playwright for Python is not installed (pip install playwright)"),
    pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)),
                       reason=f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set MOTIONMAP_CHROMIUM)"),
]


@pytest.fixture(scope="module")
def page_server(retargeter):
    """The demo on loopback (port 0) with the test model, or MOTIONMAP_DEMO_CHECKPOINT's for the README picture."""
    from motionmap.web import DemoConfig, make_server, serve_in_thread
    from motionmap.retarget import Retargeter

    ckpt = os.environ.get("MOTIONMAP_DEMO_CHECKPOINT")
    model = Retargeter.load(ckpt) if ckpt else retargeter
    server = make_server(DemoConfig(port=0, checkpoint=Path(ckpt) if ckpt else Path("tiny-test-model.ckpt")), model)
    serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, page_server):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    requested = []
    context.on("request", lambda req: requested.append(req.url))
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(page_server.url)
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    context.close()
    assert not errors, errors
    outside = [u for u in requested if not (u.startswith(page_server.url) or u.startswith("data:"))]
    assert not outside, f"the page requested other hosts: {outside}"


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def canvas_alpha_sum(pg, canvas_id: str) -> int:
    return pg.evaluate(
        """(id) => { const c = document.getElementById(id); const d = c.getContext('2d')
                       .getImageData(0, 0, c.width, c.height).data;
                     let s = 0; for (let i = 3; i < d.length; i += 4) s += d[i]; return s; }""", canvas_id)


def test_upload_transfer_step_download_and_screenshot(page, tmp_path):
    gif, frames = walk_gif(seed=1, facing="left")
    (tmp_path / "hero_walk.gif").write_bytes(gif)
    (tmp_path / "knight.png").write_bytes(png_bytes(target_frame(seed=2, facing="left")))
    (tmp_path / "notes.gif").write_bytes(b"this is not an image")

    # A bad file: a readable one-line message in the page, no crash.
    page.set_input_files("#src-file", str(tmp_path / "notes.gif"))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("notes.gif: not a GIF, PNG or zip file")

    page.set_input_files("#src-file", str(tmp_path / "hero_walk.gif"))
    expect(page.locator("#src-status")).to_contain_text("8 frames")
    assert page.is_hidden("#error")
    page.set_input_files("#tgt-file", str(tmp_path / "knight.png"))
    expect(page.locator("#tgt-status")).to_contain_text("knight.png: 64×64")

    page.click("#run")
    page.wait_for_selector("#result-panel[data-ready='1']", timeout=30_000)
    assert "8 frames, 64×64" in page.inner_text("#res-status")

    # Nearest-neighbour scaling: 4x canvases, drawn; stepping pauses and moves one frame.
    assert page.evaluate("document.getElementById('res-canvas').width") == 256
    assert canvas_alpha_sum(page, "src-canvas") > 0 and canvas_alpha_sum(page, "res-canvas") > 0
    assert page.evaluate("getComputedStyle(document.getElementById('res-canvas')).imageRendering") in (
        "pixelated", "crisp-edges")
    page.click("#next")
    label = page.inner_text("#frame-label")
    page.click("#next")
    n1, n2 = int(label.split()[1]), int(page.inner_text("#frame-label").split()[1])
    assert page.inner_text("#play") == "Play" and n2 == n1 % 8 + 1

    with page.expect_download() as info:
        page.click("#dl-gif")
    path = tmp_path / "downloaded.gif"
    info.value.save_as(path)
    assert info.value.suggested_filename == "motionmap_result.gif"
    anim = read_animation(path)
    assert anim.frames.shape == (8, 64, 64, 4)
    assert anim.durations_ms == (100,) * 8

    with page.expect_download() as info:
        page.click("#dl-sheet")
    info.value.save_as(tmp_path / "sheet.png")
    from PIL import Image

    assert Image.open(tmp_path / "sheet.png").size == (8 * 64, 64)

    page.click("#play")  # playing again, as an artist leaves it
    shot = Path(os.environ.get("MOTIONMAP_DEMO_SCREENSHOT") or tmp_path / "demo.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000


def test_a_late_answer_to_an_older_choice_does_not_overwrite_the_newer_one(page):
    # The artist picks "right", then "up" before the first answer comes back; the server answers "up" first.
    held = []

    def hold_first_source_clip(route):
        if not held and json.loads(route.request.post_data or "{}").get("role") == "source":
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/clip", hold_first_source_clip)
    page.select_option("#src-facing", "right")
    page.wait_for_function("() => document.getElementById('src-status').textContent.startsWith('Loading')")
    page.select_option("#src-facing", "up")
    expect(page.locator("#tgt-status")).to_contain_text("walk/up")
    assert len(held) == 1
    with page.expect_response("**/api/clip"):
        held[0].continue_()
    page.wait_for_function("() => !document.body.dataset.busy")
    expect(page.locator("#src-status")).to_contain_text("walk/up")
    expect(page.locator("#tgt-status")).to_contain_text("walk/up")
    assert "up" in page.evaluate("state.source.name")


def test_builtin_examples_and_whole_sheet_job(page, tmp_path):
    # Built-in examples: changing the facing reloads source and target in that facing.
    page.select_option("#src-facing", "right")
    expect(page.locator("#src-status")).to_contain_text("walk/right")
    expect(page.locator("#tgt-status")).to_contain_text("walk/right")
    page.click("#run")
    page.wait_for_selector("#result-panel[data-ready='1']", timeout=30_000)

    src_sheet, tgt_sheet = synth_lpc_sheet(1), synth_lpc_sheet(2)
    (tmp_path / "hero_lpc.png").write_bytes(png_bytes(src_sheet))
    page.set_input_files("#all-source", str(tmp_path / "hero_lpc.png"))
    page.check("#all-mode-facings")
    for f in FACINGS:
        frame = lpc_walk_frame(tgt_sheet, f).copy()
        frame[..., 3] = 255  # opaque targets: one model pass per row
        (tmp_path / f"{f}.png").write_bytes(png_bytes(frame))
        page.set_input_files(f"#all-{f}", str(tmp_path / f"{f}.png"))
    page.click("#all-run")
    page.wait_for_selector("#all-panel[data-ready='1']", timeout=60_000)
    assert page.evaluate("document.getElementById('all-progress').value") == 21
    assert page.inner_text("#all-status").startswith("Done: 21 rows")
    with page.expect_download() as info:
        page.click("#all-dl-sheet")
    info.value.save_as(tmp_path / "all.png")
    from PIL import Image

    sheet = np.asarray(Image.open(tmp_path / "all.png"))
    assert sheet.shape == (1344, 832, 4)

    # The same LPC sheet as a source: the pickers are filled from its layout.
    page.set_input_files("#src-file", str(tmp_path / "hero_lpc.png"))
    expect(page.locator("#src-status")).to_contain_text("walk/down: 8 frames")
    options = page.eval_on_selector_all("#src-animation option", "els => els.map(e => e.value)")
    assert options == ["spellcast", "thrust", "walk", "slash", "shoot", "hurt"]
    page.select_option("#src-animation", "slash")
    page.select_option("#src-sheet-facing", "up")
    expect(page.locator("#src-status")).to_contain_text("slash/up: 6 frames")
    page.select_option("#src-animation", "hurt")
    assert page.eval_on_selector_all("#src-sheet-facing option", "els => els.map(e => e.value)") == ["down"]
