"""Untrusted checkpoints: weights-only loading (pickled code is refused and never runs), format version stamp,
architecture/config/weights mismatches refused naming what differs, atomic checkpoint writes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from safety_helpers import REPO, MarkerPayload, ShellPayload
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


class TestHostileSettings:
    """Settings are checked against ranges before the model is built (nothing allocated from them); NaN/Inf settings
    and weights, oversized and compressed (bomb) checkpoints are refused with one line."""

    @pytest.mark.parametrize("section, field, value, message", [
        ("net", "channels", 100000, r"net.channels: got 100000; must be an integer in \[1, 512\]"),
        ("net", "channels", 4000, r"net.channels: got 4000; must be an integer in \[1, 512\]"),
        ("net", "flow_match_radius", 10**6, r"net.flow_match_radius: got 1000000; must be an integer in \[0, 8\]"),
        ("net", "flow_match_steps", 10**7, r"net.flow_match_steps: got 10000000; must be an integer in \[1, 16\]"),
        ("net", "flow_match_steps", 1e7, r"net.flow_match_steps: got 10000000.0 \(float\); must be an integer"),
        ("net", "temperature", float("nan"), r"net.temperature: got nan; must be a finite number"),
        ("net", "match_sigma", float("inf"), r"net.match_sigma: got inf; must be a finite number"),
        ("net", "hidden", True, r"net.hidden: got True \(bool\); must be an integer"),
        ("net", "copy_path", "yes", r"net.copy_path: got 'yes'; must be true or false"),
        ("loss", "pixel", float("nan"), r"loss.pixel: got nan; must be a finite number"),
        ("optim", "lr", -1.0, r"optim.lr: got -1.0; must be a number in \(0, 10\]"),
    ])
    def test_out_of_range_or_non_finite_setting_is_refused(self, tmp_path, tiny_model, section, field, value,
                                                          message):
        ckpt = _state(tiny_model)
        ckpt["hyper_parameters"][section][field] = value
        path = tmp_path / "hostile.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError, match=rf"{path}: config does not fit this motionmap \({message}") as e:
            load_model(path)
        assert "\n" not in str(e.value)

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
    def test_non_finite_weights_are_refused(self, tmp_path, tiny_model, bad):
        ckpt = _state(tiny_model)
        ckpt["state_dict"] = {k: v.clone() for k, v in ckpt["state_dict"].items()}
        name = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point() and v.numel() > 1)
        ckpt["state_dict"][name].view(-1)[1] = bad
        path = tmp_path / "diverged.ckpt"
        torch.save(ckpt, path)
        with pytest.raises(MotionmapError, match=rf"weight {name} holds 1 NaN or Inf values"):
            Retargeter.load(path)

    def test_compressed_checkpoint_is_refused_before_unpacking(self, tmp_path, tiny_checkpoint):
        """torch.save stores members uncompressed; the same archive deflated, plus 64 MB of zeros that pack into
        64 kB (a small bomb), is refused from its member list alone."""
        import zipfile

        bomb = tmp_path / "bomb.ckpt"
        with zipfile.ZipFile(tiny_checkpoint) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
            prefix = src.infolist()[0].filename.split("/")[0]
            dst.writestr(f"{prefix}/data/999", b"\0" * (64 * 2**20))
        assert bomb.stat().st_size < 2**20
        with pytest.raises(MotionmapError, match=r"refused: the checkpoint has compressed members .*decompression bomb"):
            load_model(bomb)

    def test_unpacked_size_is_capped(self, tmp_path, tiny_checkpoint, monkeypatch):
        import motionmap.checkpoint as checkpoint

        monkeypatch.setattr(checkpoint, "MAX_CHECKPOINT_BYTES", tiny_checkpoint.stat().st_size // 2)
        with pytest.raises(MotionmapError, match=r"checkpoint is 0 MB, more than motionmap reads \(0 MB\)"):
            load_model(tiny_checkpoint)

    def test_shipped_model_and_every_training_config_pass_the_ranges(self):
        import yaml

        from motionmap.model.config import LossConfig, NetConfig, OptimConfig, coerce_config
        from motionmap.retarget import DEFAULT_CHECKPOINT

        load_model(DEFAULT_CHECKPOINT)
        for config in sorted((REPO / "train" / "configs").glob("*.yaml")):
            model = (yaml.safe_load(config.read_text()) or {}).get("model") or {}
            for cls, key in ((NetConfig, "net"), (LossConfig, "loss"), (OptimConfig, "optim")):
                coerce_config(cls, model.get(key) or {})


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
