"""Retargeter: loading (and its one-line errors) and retargeting shapes, dtype, determinism."""

import numpy as np
import pytest
import torch

from motionmap.errors import MotionmapError
from motionmap.model import NetConfig
from motionmap.model.module import MotionMapper
from motionmap.retarget import DEFAULT_CHECKPOINT, Retargeter


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    return path


def sprites(t=5, h=32, w=32, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (t, h, w, c), dtype=np.uint8)


def test_retarget_shape_dtype_determinism(ckpt):
    r = Retargeter.load(ckpt)
    src, tgt = sprites(7), sprites(1, c=3, seed=1)[0]
    out = r.retarget(src, tgt)
    assert out.shape == (7, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, r.retarget(src, tgt))
    # Other batch sizes take other BLAS paths: equal up to one rounding step (before palette lock, which may snap
    # such a step to another colour).
    soft = r.retarget(src, tgt, palette="off")
    assert np.abs(soft.astype(int) - r.retarget(src, tgt, batch_size=3, palette="off")).max() <= 1


def test_rgba_is_composited_over_black(ckpt):
    r = Retargeter.load(ckpt)
    src = sprites(3)
    tgt = sprites(1, seed=2)[0]
    rgb = (src[..., :3].astype(np.float32) * src[..., 3:] / 255).round().astype(np.uint8)
    a = r.retarget(src, tgt, palette="off")
    b = r.retarget(rgb, tgt, palette="off")
    assert np.abs(a.astype(int) - b).max() <= 2


@pytest.mark.parametrize(
    "src,tgt,match",
    [
        (np.zeros((3, 32, 32, 2), np.uint8), np.zeros((32, 32, 3), np.uint8), r"source_frames: expected uint8"),
        (np.zeros((3, 32, 32, 3), np.float32), np.zeros((32, 32, 3), np.uint8), r"source_frames: expected uint8"),
        (np.zeros((3, 32, 32, 3), np.uint8), np.zeros((16, 32, 3), np.uint8), r"target: size 32x16 differs"),
        (np.zeros((3, 6, 30, 3), np.uint8), np.zeros((6, 30, 3), np.uint8), r"30x6 is below the 8 px minimum"),
    ],
)
def test_bad_inputs_raise_one_line(ckpt, src, tgt, match):
    with pytest.raises(MotionmapError, match=match) as e:
        Retargeter.load(ckpt).retarget(src, tgt)
    assert "\n" not in str(e.value)


def test_load_non_checkpoint_file(tmp_path):
    bad = tmp_path / "notes.ckpt"
    bad.write_text("hello")
    with pytest.raises(MotionmapError, match=r"notes.ckpt: not a readable motionmap checkpoint") as e:
        Retargeter.load(bad)
    assert "\n" not in str(e.value)


def test_load_foreign_torch_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(MotionmapError, match="not a motionmap checkpoint"):
        Retargeter.load(path)


def test_load_mismatched_weights(ckpt, tmp_path):
    state = torch.load(ckpt, weights_only=True)
    state["hyper_parameters"]["net"]["channels"] = 16
    path = tmp_path / "mismatch.ckpt"
    torch.save(state, path)
    with pytest.raises(MotionmapError, match="weights do not match its config"):
        Retargeter.load(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(MotionmapError, match="checkpoint not found"):
        Retargeter.load(tmp_path / "nope.ckpt")


def test_shipped_default_loads_and_moves_the_target():
    from motionmap.synth import render_animation, sample_character

    assert DEFAULT_CHECKPOINT.is_file() and DEFAULT_CHECKPOINT.stat().st_size < 20 * 2**20  # shipped, under 20 MB
    source = render_animation(sample_character(1), "walk", "left")  # uint8 [T,64,64,4]
    target = render_animation(sample_character(2), "walk", "left")[0, ..., :3]  # opaque: RGB out
    out = Retargeter.load().retarget(source[..., :3], target)
    assert out.shape == (len(source), 64, 64, 3) and out.dtype == np.uint8
    moved = [np.abs(f.astype(int) - target).sum() for f in out[1:]]
    assert max(moved) > 0  # the target does not just stand still


@pytest.mark.parametrize("batch_size", [1.5, 0, -2, "8", True, None])
def test_bad_batch_size_names_the_argument(ckpt, batch_size):
    with pytest.raises(MotionmapError, match=r"batch_size=.*must be an integer >= 1") as e:
        Retargeter.load(ckpt).retarget(sprites(2), sprites(1, seed=1)[0], batch_size=batch_size)
    assert "\n" not in str(e.value)


def test_threads_apply_inside_retarget_only(ckpt, monkeypatch):
    """Retargeter runs with its own thread count and gives the caller's setting back; a busy machine gets 1."""
    import motionmap.retarget as retarget_module

    seen = []
    r = Retargeter.load(ckpt, threads=1)
    encoder = r.model.f.forward
    monkeypatch.setattr(r.model.f, "forward", lambda x: seen.append(torch.get_num_threads()) or encoder(x))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        r.retarget(sprites(2), sprites(1, c=3)[0])
        assert seen and set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(retarget_module.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert retarget_module.auto_threads() == 1 and Retargeter.load(ckpt).threads == 1
    monkeypatch.setattr(retarget_module.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert 1 <= retarget_module.auto_threads() <= retarget_module.MAX_AUTO_THREADS
    with pytest.raises(MotionmapError, match="threads=0"):
        Retargeter.load(ckpt, threads=0)


def test_transparent_target_renders_twice_from_one_motion(ckpt, monkeypatch):
    """Over black and over white share A's motion (the costly part); the result equals two full passes."""
    r = Retargeter.load(ckpt)
    src = sprites(4)
    tgt = sprites(1, seed=3)[0]
    tgt[..., 3] = 255
    tgt[:8, :, 3] = 0  # a transparent background band: RGBA out
    calls = {"motion": 0, "render": 0}
    motion, render = r.model.transfer_motion, r.model.transfer_render
    monkeypatch.setattr(r.model, "transfer_motion", lambda *a: calls.__setitem__("motion", calls["motion"] + 1) or motion(*a))
    monkeypatch.setattr(r.model, "transfer_render", lambda *a: calls.__setitem__("render", calls["render"] + 1) or render(*a))
    out = r.retarget(src, tgt, palette="off")
    assert out.shape == (4, 32, 32, 4) and calls == {"motion": 1, "render": 2}
    from motionmap.alpha import two_pass_rgba

    separate = two_pass_rgba(lambda opaque: r.retarget(src, opaque, palette="off"), tgt)  # a motion per rendering
    assert np.abs(out.astype(int) - separate).max() <= 1


def test_reference_frame_starts_the_motion_without_an_extra_frame(monkeypatch):
    """``reference=`` gives what prepending the reference and dropping its output gives, with T frames of work, not
    T+1 (``retarget --all`` passes each row's walk frame so)."""
    from motionmap.synth import render_animation, sample_character

    r = Retargeter.load()  # the shipped flow model: the reference is also where its refinement starts
    source = render_animation(sample_character(1), "walk", "left")[..., :3]  # uint8 [T,64,64,3]
    reference, frames = source[3], source[:3]
    target = render_animation(sample_character(2), "walk", "left")[3, ..., :3]
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    out = r.retarget(frames, target, palette="off", reference=reference)
    assert seen == [3] and out.shape == (3, 64, 64, 3)
    prepended = r.retarget(np.concatenate([reference[None], frames]), target, palette="off")[1:]
    assert np.abs(out.astype(int) - prepended).max() <= 1
    assert np.abs(out.astype(int) - r.retarget(frames, target, palette="off")).max() > 8  # it is used
    with pytest.raises(MotionmapError, match="reference: size 32x32 differs"):
        r.retarget(frames, target, reference=reference[:32, :32])


def test_a_checkpoint_with_a_target_adaptor_retargets_and_its_adaptor_is_used(tmp_path):
    """A checkpoint with a target adaptor (here the shipped weights saved again) loads and retargets; changing its
    adaptor changes the frames, so the Retargeter does use it."""
    from motionmap.model.config import OptimConfig

    from motionmap.checkpoint import load_model

    shipped_weights = load_model(DEFAULT_CHECKPOINT).model.state_dict()
    m = MotionMapper(net=NetConfig(motion="flow", adapt_hidden=32), optim=OptimConfig())
    m.load_state_dict(shipped_weights)
    path = tmp_path / "adapt.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    src, tgt = sprites(4, 32, 32, 4, seed=2), sprites(1, 32, 32, 4, seed=3)[0]
    shipped = Retargeter.load(DEFAULT_CHECKPOINT)
    adapted = Retargeter.load(path)
    np.testing.assert_array_equal(adapted.retarget(src, tgt), shipped.retarget(src, tgt))
    with torch.no_grad():
        m.adapt.out.bias.fill_(2.0)  # every target pixel now samples 16 px to the right/down of where it did
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    moved = Retargeter.load(path).retarget(src, tgt, palette="off")
    assert moved.shape == (4, 32, 32, 3)
    assert not np.array_equal(moved, shipped.retarget(src, tgt, palette="off"))


def test_frames_in_the_targets_pose_are_the_target_itself(monkeypatch):
    """A frame identical to the pose the target is drawn in (frame 0, or the reference) comes back as the target,
    pixel for pixel, RGB and RGBA, and only the other frames go through the model."""
    from motionmap.synth import render_animation, sample_character

    r = Retargeter.load(threads=1)
    source = render_animation(sample_character(1), "walk", "left")  # uint8 [T,64,64,4], transparent background
    target = render_animation(sample_character(2), "walk", "left")[0]
    frames = np.concatenate([source[:3], source[:1]])  # the pose again at the end
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    rgba = r.retarget(frames, target)
    assert rgba.shape == (4, 64, 64, 4) and seen == [2]
    for t in (0, 3):
        np.testing.assert_array_equal(rgba[t], target)
    assert not np.array_equal(rgba[1], target)
    rgb = r.retarget(frames[..., :3], target[..., :3])
    np.testing.assert_array_equal(rgb[0], target[..., :3])
    np.testing.assert_array_equal(rgb[3], target[..., :3])
    seen.clear()
    still = r.retarget(source[:1].repeat(5, 0), target, reference=source[0, ..., :3])  # RGB reference, RGBA frames
    assert seen == [] and (still == target).all()


def test_a_repeated_frame_is_drawn_once_and_copied(monkeypatch):
    """Frames identical to an earlier frame of the animation go through the model once: the repeats get the first's
    answer, and the frames are those of the animation without the repeats."""
    from motionmap.synth import render_animation, sample_character

    r = Retargeter.load(threads=1)
    source = render_animation(sample_character(1), "walk", "left")  # uint8 [T,64,64,4]
    target = render_animation(sample_character(2), "walk", "left")[0]
    frames = np.stack([source[0], source[2], source[1], source[2], source[3], source[1]])
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    out = r.retarget(frames, target)
    assert seen == [3]  # frames 2, 1 and 3 of the walk
    np.testing.assert_array_equal(out[3], out[1])
    np.testing.assert_array_equal(out[5], out[2])
    once = r.retarget(source[:4], target)
    for t, walk_frame in enumerate([0, 2, 1, 2, 3, 1]):
        np.testing.assert_array_equal(out[t], once[walk_frame])


@pytest.mark.parametrize("threads, passes", [(1, [10, 9]), (2, [19])])
def test_cpu_passes_hold_sixteen_64px_frames_per_thread(ckpt, monkeypatch, threads, passes):
    """On a CPU a pass takes at most 16 frames of 64x64 per thread (cache-sized), whatever batch_size allows, and
    the passes are of about one size."""
    r = Retargeter.load(ckpt, threads=threads)
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    r.retarget(sprites(20, 64, 64, 3, seed=4), sprites(1, 64, 64, 3, seed=5)[0], batch_size=64)
    assert seen == passes


def test_motion_cache_computes_a_source_once_for_many_targets(monkeypatch):
    """With ``motion_cache``, the same animation onto another target reuses its motion (no network, no refinement)
    and gives exactly what a Retargeter without the cache gives; another source, or another refinement, is computed;
    the least recently used source goes first."""
    from motionmap.model.refine import RefineConfig
    from motionmap.synth import render_animation, sample_character

    fresh = Retargeter.load(threads=1)
    r = Retargeter(fresh.model, threads=1, motion_cache=1)
    walk = render_animation(sample_character(1), "walk", "left")[:4]  # uint8 [4,64,64,4]
    jump = render_animation(sample_character(1), "jump", "left")[:4]
    targets = [render_animation(sample_character(k), "walk", "left")[0] for k in (2, 3)]
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    first = r.retarget(walk, targets[0])
    second = r.retarget(walk, targets[1], palette="off")  # another target and palette: the motion is A's alone
    assert seen == [3] and r.motion_cache.hits == 1
    monkeypatch.undo()
    np.testing.assert_array_equal(first, fresh.retarget(walk, targets[0]))
    np.testing.assert_array_equal(second, fresh.retarget(walk, targets[1], palette="off"))
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    r.retarget(jump, targets[0])  # a new source: computed, and the walk (capacity 1) is dropped
    r.retarget(walk, targets[0])
    r.refine = RefineConfig(steps=5)
    r.retarget(walk, targets[0])  # another refinement is another motion
    assert seen == [3, 3, 3, 3] and len(r.motion_cache) == 1


def test_motion_cache_serves_a_catalogue_of_lpc_sheets(monkeypatch):
    """One source sheet onto many heroes (README, "Many sheets"): with ``motion_cache=4`` each facing's motion is
    computed for the first hero only, and every sheet is what a Retargeter without the cache writes."""
    from motionmap.core import retarget_lpc_sheet
    from motionmap.layout import FACINGS, LPC_LAYOUT
    from motionmap.synth import render_animation, sample_character

    sheet = np.zeros((1344, 832, 4), np.uint8)  # the four walk rows, three frames each
    for facing in FACINGS:
        i = LPC_LAYOUT.row_index("walk", facing)
        frames = render_animation(sample_character(1), "walk", facing)[:3]  # uint8 [3,64,64,4]
        sheet[i * 64 : (i + 1) * 64, : 3 * 64] = frames.transpose(1, 0, 2, 3).reshape(64, -1, 4)
    heroes = [{f: render_animation(sample_character(k), "walk", f)[0] for f in FACINGS} for k in (2, 3)]
    fresh = Retargeter.load(threads=1)
    r = Retargeter(fresh.model, threads=1, motion_cache=4)
    seen = []
    motion = r.model.transfer_motion
    monkeypatch.setattr(r.model, "transfer_motion", lambda a0, a_t, *a: seen.append(len(a_t)) or motion(a0, a_t, *a))
    sheets = [retarget_lpc_sheet(r, sheet, hero, progress=False) for hero in heroes]
    assert seen == [2, 2, 2, 2] and r.motion_cache.hits == 4  # a facing's 2 moving frames, for the first hero only
    monkeypatch.undo()
    for hero, got in zip(heroes, sheets):
        assert got[..., 3].any()
        np.testing.assert_array_equal(got, retarget_lpc_sheet(fresh, sheet, hero, progress=False))


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_motion_cache_size_must_be_a_count(ckpt, bad):
    with pytest.raises(MotionmapError, match="motion_cache"):
        Retargeter.load(ckpt, motion_cache=bad)


def test_retargeting_never_imports_lightning(tmp_path):
    """A retarget runs the networks alone (motionmap.model.network): Lightning's import, about a second of every
    command, is for training. The shipped model loads with the same weights as the full MotionMapper."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from motionmap.cli import main\n"
            f"rc = main(['retarget', '--example', '--out', {str(tmp_path / 'ex.gif')!r}])\n"
            "print(rc, 'pytorch_lightning' in sys.modules, 'lightning_fabric' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stdout + out.stderr
    from motionmap.checkpoint import load_model
    from motionmap.model.network import MotionNetwork

    network = Retargeter.load(threads=1).model
    assert type(network) is MotionNetwork
    full = load_model(DEFAULT_CHECKPOINT).model.state_dict()
    assert network.state_dict().keys() == full.keys()
    assert all(torch.equal(v, full[k]) for k, v in network.state_dict().items())
