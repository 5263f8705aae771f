"""Untrusted checkpoints: weights-only loading (pickled code is refused and never runs), format version stamp,
architecture/config/weights mismatches refused naming what differs, atomic checkpoint writes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from safety_helpers import MarkerPayload, ShellPayload
from motionmap.checkpoint import (
    FORMAT_VERSION,
    STAMP_KEY,
    atomic_torch_save,
    load_model,
    read_checkpoint,
    save_model_checkpoint,
)
from motionmap.cli import main
from motionmap.errors import MotionmapError
from motionmap.retarget import Retargeter


def _state(model, **stamp):
    ckpt = {"state_dict": model.state_dict(), "hyper_parameters": {k: (dict(v) if isinstance(v, dict) else v)
                                                                   for k, v in model.hparams.items()}}
    if stamp:
        ckpt[STAMP_KEY] = {"format_version": 1, "architecture": "MotionMapper", "motionmap_version": "0.1.0", **stamp}
    return ckpt


class TestMaliciousPickles:
    @pytest.mark.parametrize("payload", [MarkerPayload, ShellPayload])
    def test_torch_checkpoint_with_code_is_refused_and_not_run(self, tmp_path, tiny_model, payload):
        marker = tmp_path / "pwned"
        ckpt = _state(tiny_model)
        ckpt["hyper_parameters"]["net"] = payload(str(marker))  # code where the config should be
        path = tmp_path / "evil.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError) as e:
            Retargeter.load(path)
        message = str(e.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: refused: the checkpoint carries pickled code")
        assert ("io.open" if payload is MarkerPayload else "system") in message
        assert "weights_only" not in message  # no advice to retry the unsafe way
        assert not marker.exists()

    def test_plain_pickle_file_with_code_is_refused(self, tmp_path):
        marker = tmp_path / "pwned"
        path = tmp_path / "evil.ckpt"
        path.write_bytes(pickle.dumps({"state_dict": {}, "hyper_parameters": MarkerPayload(str(marker))}, protocol=2))
        with pytest.raises(MotionmapError, match="refused: the checkpoint carries pickled code"):
            read_checkpoint(path)
        assert not marker.exists()
        # Sanity: the payload is real - an unrestricted unpickle does create the file.
        pickle.loads(path.read_bytes())
        assert marker.exists()

    def test_cli_commands_refuse_it_with_exit_2(self, tmp_path, tiny_model, capsys):
        marker = tmp_path / "pwned"
        ckpt = _state(tiny_model)
        ckpt["evil"] = MarkerPayload(str(marker))
        evil = tmp_path / "evil.ckpt"
        torch.save(ckpt, evil)
        from motionmap.io.animation import write_gif
        from motionmap.io.images import write_png

        frames = np.zeros((2, 16, 16, 3), np.uint8)
        write_gif(tmp_path / "a.gif", frames)
        write_png(tmp_path / "b.png", frames[0])
        rc = main(["retarget", "--checkpoint", str(evil), "--source", str(tmp_path / "a.gif"), "--target",
                   str(tmp_path / "b.png"), "--out", str(tmp_path / "out.gif"), "--device", "cpu"])
        assert rc == 2
        assert "refused: the checkpoint carries pickled code" in capsys.readouterr().err
        rc = main(["eval", "--set", "synth", "--cases", "1", "--no-cache", "--no-progress", "--checkpoint", str(evil),
                   "--out", str(tmp_path / "ev")])
        assert rc == 2
        assert "refused: the checkpoint carries pickled code" in capsys.readouterr().err
        assert not marker.exists() and not (tmp_path / "out.gif").exists() and not (tmp_path / "ev").exists()

    def test_resume_through_lightning_is_weights_only_too(self, tmp_path, tiny_model):
        from motionmap.training_guards import AtomicCheckpointIO

        marker = tmp_path / "pwned"
        ckpt = _state(tiny_model)
        ckpt["loops"] = MarkerPayload(str(marker))
        path = tmp_path / "last.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError, match="refused to resume: the checkpoint carries pickled code"):
            AtomicCheckpointIO().load_checkpoint(path)
        assert not marker.exists()


class TestMismatches:
    def test_newer_format_version_is_refused(self, tmp_path, tiny_model):
        path = tmp_path / "future.ckpt"
        torch.save(_state(tiny_model, format_version=FORMAT_VERSION + 1, motionmap_version="9.0"), path)
        with pytest.raises(MotionmapError, match=rf"format version {FORMAT_VERSION + 1} \(written by motionmap 9.0\) "
                                                 rf"is newer than this motionmap reads \(<= {FORMAT_VERSION}\)"):
            load_model(path)

    def test_other_architecture_is_refused(self, tmp_path, tiny_model):
        path = tmp_path / "other.ckpt"
        torch.save(_state(tiny_model, architecture="VQGAN"), path)
        with pytest.raises(MotionmapError, match="holds architecture 'VQGAN'.*this motionmap builds 'MotionMapper'"):
            load_model(path)

    def test_config_from_another_version_names_the_unknown_field(self, tmp_path, tiny_model):
        ckpt = _state(tiny_model, motionmap_version="0.9")
        ckpt["hyper_parameters"]["net"]["num_heads"] = 4
        path = tmp_path / "newer_config.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError, match=r"config does not fit.*unknown fields \['num_heads'\]"):
            load_model(path)

    def test_weights_for_another_config_name_the_differing_weights(self, tmp_path, tiny_model):
        ckpt = _state(tiny_model)
        ckpt["hyper_parameters"]["net"]["channels"] = 16  # config says 16, weights were trained with 8
        path = tmp_path / "mismatch.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError) as e:
            load_model(path)
        message = str(e.value)
        assert "weights do not match its config" in message and "shape (checkpoint vs config)" in message
        assert "[8," in message and "[16," in message and "\n" not in message

    def test_missing_and_unexpected_weights_are_named(self, tmp_path, tiny_model):
        ckpt = _state(tiny_model)
        first = next(iter(ckpt["state_dict"]))
        ckpt["state_dict"] = dict(ckpt["state_dict"])
        del ckpt["state_dict"][first]
        ckpt["state_dict"]["extra.weight"] = torch.zeros(1)
        path = tmp_path / "surgery.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError, match=rf"missing: {first}.*unexpected: extra.weight"):
            load_model(path)

    @pytest.mark.parametrize("content, message", [
        (b"hello world", "not a readable motionmap checkpoint"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a readable motionmap checkpoint"),
    ])
    def test_garbage_is_one_line(self, tmp_path, content, message):
        path = tmp_path / "junk.ckpt"
        path.write_bytes(content)
        with pytest.raises(MotionmapError, match=message) as e:
            load_model(path)
        assert "\n" not in str(e.value)

    def test_truncated_checkpoint_is_refused(self, tmp_path, tiny_checkpoint):
        path = tmp_path / "cut.ckpt"
        data = tiny_checkpoint.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(MotionmapError, match="not a readable motionmap checkpoint"):
            load_model(path)


class TestFormatVersion:
    def test_save_model_checkpoint_stamps_and_round_trips(self, tiny_model, tiny_checkpoint):
        raw = torch.load(tiny_checkpoint, weights_only=True)
        assert raw[STAMP_KEY]["format_version"] == FORMAT_VERSION
        assert raw[STAMP_KEY]["architecture"] == "MotionMapper"
        model, info = load_model(tiny_checkpoint)
        assert info.stamped and info.format_version == FORMAT_VERSION and info.global_step == 0
        for k, v in tiny_model.state_dict().items():
            torch.testing.assert_close(model.state_dict()[k], v)

    def test_unstamped_checkpoint_is_read_as_version_1(self, tmp_path, tiny_model):
        """Checkpoints from before the stamp (or built with torch.save by hand) still load: documented choice."""
        path = tmp_path / "legacy.ckpt"
        torch.save(_state(tiny_model), path)
        model, info = load_model(path)
        assert (info.format_version, info.stamped, info.motionmap_version) == (1, False, None)
        out = Retargeter.load(path).retarget(np.zeros((2, 16, 16, 3), np.uint8), np.zeros((16, 16, 3), np.uint8))
        assert out.shape == (2, 16, 16, 3)

    def test_save_model_checkpoint_refuses_to_overwrite(self, tiny_model, tiny_checkpoint):
        before = tiny_checkpoint.read_bytes()
        with pytest.raises(MotionmapError, match="already exists; pass --overwrite"):
            save_model_checkpoint(tiny_model, tiny_checkpoint)
        assert tiny_checkpoint.read_bytes() == before


class TestAtomicSave:
    def test_failed_write_keeps_the_previous_checkpoint(self, tmp_path):
        path = tmp_path / "last.ckpt"
        atomic_torch_save({"global_step": 1, "w": torch.ones(1000)}, path)
        before = path.read_bytes()
        with pytest.raises(Exception):
            # torch.save fails half way: the tensor is written, then the lambda cannot be pickled.
            atomic_torch_save({"global_step": 2, "w": torch.zeros(100_000), "bad": lambda: None}, path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temp file left

    def test_stale_temp_from_a_killed_writer_is_cleared_and_never_taken_for_last(self, tmp_path):
        from pytorch_lightning.callbacks import ModelCheckpoint

        stale = tmp_path / ".last.ckpt.abc123.tmp"
        stale.write_bytes(b"half a checkpoint")
        cb = ModelCheckpoint(dirpath=tmp_path)
        assert cb._find_last_checkpoints(trainer=None) == set()  # the half-written file is invisible to `last`
        atomic_torch_save({"global_step": 3}, tmp_path / "last.ckpt")
        assert not stale.exists()
        assert torch.load(tmp_path / "last.ckpt", weights_only=True)["global_step"] == 3
