"""The model's memory budget (motionmap.model.budget): frames over 256 px a side are refused with the limit in the
message, retargets are chunked over frames, CPU training batches are capped. The measured peaks are the heavy test
tests/safety/test_memory.py."""

import numpy as np
import pytest
import torch

from motionmap.errors import MotionmapError
from motionmap.model import NetConfig, budget
from motionmap.model.module import MotionMapper
from motionmap.retarget import Retargeter


def _noise(t, h, w):
    """Two-colour noise: no pixel blocks, so the model would run it at its own size (motionmap.scale)."""
    return (np.random.default_rng(0).integers(0, 2, (t, h, w, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    # One thread whatever the machine's load: with two, the refinement's sign gradients amplify the threaded
    # reductions' rounding on these random-pixel frames into different pixels for different chunkings.
    return Retargeter(MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=4, flow_hidden=4)), threads=1)


class TestPairBytes:
    def test_correlation_is_quadratic_in_pixels(self):
        # 64x64 frames: 16x16 cells, source padded to 22x22.
        assert budget.correlation_floats(64, 64) == 256 * 484
        assert budget.correlation_floats(256, 256) == 4096 * 4900
        # Sizes that are not whole cells are padded up, as the model does.
        assert budget.correlation_floats(30, 30) == budget.correlation_floats(32, 32)

    def test_frames_per_pass(self):
        assert budget.frames_per_pass(64, 64, 64) == 32
        assert budget.frames_per_pass(64, 64, 8) == 8  # never more than asked
        assert budget.frames_per_pass(256, 256, 64) == 1
        for side in (8, 16, 32, 48, 64, 128, 200, 256):
            n = budget.frames_per_pass(side, side, 10**6)
            assert n == 1 or n * budget.pair_bytes(side, side) <= budget.PASS_BUDGET_BYTES


    def test_documented_peak_bound_is_under_4_gb_for_every_input_taken(self):
        from motionmap.io.images import MAX_TOTAL_PIXELS

        for side in (8, 64, 128, 200, 256):
            longest = MAX_TOTAL_PIXELS // (side * side)  # the most frames the readers decode at this size
            assert budget.retarget_peak_bytes(side, side, longest) < 4 * 2**30
        assert budget.retarget_peak_bytes(64, 64, 0) < budget.retarget_peak_bytes(256, 256, 0)


class TestFrameSizeLimit:
    @pytest.mark.parametrize("h, w", [(257, 64), (64, 257), (512, 512), (2048, 2048)])
    def test_retarget_refuses_frames_over_256_px_before_allocating(self, tiny, h, w):
        frames = _noise(2, h, w)
        with pytest.raises(MotionmapError, match=rf"frames of {w}x{h} are larger than the model takes \(256 px a "
                                                 r"side.*GB per frame here\); scale or crop the frames") as e:
            tiny.retarget(frames, frames[0])
        assert "\n" not in str(e.value)

    def test_256_px_is_accepted(self, tiny):
        frames = np.random.default_rng(0).integers(0, 256, (1, 256, 200, 3), np.uint8)
        assert tiny.retarget(frames, frames[0]).shape == (1, 256, 200, 3)

    def test_cli_refuses_a_2048_px_gif_before_loading_the_model(self, tmp_path, capsys):
        from motionmap.cli import main
        from motionmap.io import write_gif, write_png

        frames = _noise(2, 2048, 2048)
        src = write_gif(tmp_path / "huge.gif", frames)
        tgt = write_png(tmp_path / "t.png", frames[0])
        # A missing checkpoint would be the error if the model were loaded first.
        assert main(["retarget", "--source", str(src), "--target", str(tgt), "--out", str(tmp_path / "o.gif"),
                     "--checkpoint", str(tmp_path / "missing.ckpt")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"motionmap: error: {src}: frames of 2048x2048 are larger than the model takes (256 px")

    def test_upscaled_art_is_judged_at_the_scale_the_model_runs_it(self, tiny):
        art = _noise(2, 128, 96)
        export = np.repeat(np.repeat(art, 4, axis=1), 4, axis=2)  # 512x384: every art pixel a 4x4 block
        from motionmap.retarget import check_model_frame_size

        check_model_frame_size(export, export[0])  # runs at 128x96
        with pytest.raises(MotionmapError, match="frames of 384x512 are larger"):
            check_model_frame_size(export, export[0], scale="native")


class TestChunking:
    def test_chunked_passes_give_the_unchunked_result(self, tiny, monkeypatch):
        frames = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), np.uint8)  # frame 0 is the target's pose
        # palette="off": the model's own numbers (palette lock may snap a 1-step rounding difference elsewhere).
        whole = tiny.retarget(frames, frames[0], batch_size=64, palette="off")
        seen = []
        real = tiny.model.transfer_motion  # the Retargeter computes A's motion per chunk, then renders it

        def spy(a0, a_t, refine):
            seen.append(a_t.shape[0])
            return real(a0, a_t, refine)

        monkeypatch.setattr(tiny.model, "transfer_motion", spy)
        monkeypatch.setattr(budget, "PASS_BUDGET_BYTES", 2 * budget.pair_bytes(32, 32))
        chunked = tiny.retarget(frames, frames[0], batch_size=64, palette="off")
        assert seen == [2, 2, 1]
        assert np.abs(whole.astype(int) - chunked).max() <= 1


class TestTrainingBatch:
    def test_cpu_training_batch_over_budget_is_refused_naming_the_batch_that_fits(self):
        fits = budget.max_training_batch(256, 256)
        assert 1 <= fits < 32
        with pytest.raises(MotionmapError, match=rf"--data.batch_size 32: a training step on 256x256 frames would "
                                                 rf"need about .* GB \(limit 3 GB on the CPU\); use "
                                                 rf"--data.batch_size {fits} or less"):
            budget.check_training_batch(32, 256, 256)
        budget.check_training_batch(32, 64, 64)  # the training configs' batch

    def test_model_step_checks_before_the_forward_pass(self, monkeypatch):
        model = MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"))
        monkeypatch.setattr(budget, "TRAIN_BUDGET_BYTES", budget.pair_bytes(16, 16, training=True))
        x = torch.rand(2, 3, 16, 16)
        with pytest.raises(MotionmapError, match="--data.batch_size 2: a training step on 16x16 frames"):
            model.model_step((x, x))
        model.model_step((x[:1], x[:1]))
