"""Numeric precision: bf16 autocast where the CPU has it natively (``auto``), forced either way, checked options."""

import numpy as np
import pytest
import torch

from motionmap.errors import MotionmapError
from motionmap.model import precision
from motionmap.retarget import Retargeter


def test_uses_bf16_follows_the_option_and_the_cpu(monkeypatch):
    assert precision.uses_bf16("bf16", "cpu") and precision.uses_bf16("bf16", "cuda")
    assert not precision.uses_bf16("fp32", "cpu")
    assert not precision.uses_bf16("auto", "cuda:0")  # GPUs keep float32 unless asked
    for native in (True, False):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
        assert precision.uses_bf16("auto", "cpu") is native
        assert precision.trainer_precision("cpu", True) == ("bf16-mixed" if native else "32-true")
        assert precision.trainer_precision("auto", False) == ("bf16-mixed" if native else "32-true")
        assert precision.trainer_precision("auto", True) == "32-true"  # auto on a CUDA machine trains on the GPU
        assert precision.trainer_precision("cuda", True) == "32-true"


@pytest.mark.parametrize("bad", ["fp16", "BF16", "", None, 16])
def test_unknown_precision_is_a_one_line_error(bad):
    with pytest.raises(MotionmapError, match=r"precision .*expected one of auto, bf16, fp32") as e:
        Retargeter.load(precision=bad)
    assert "\n" not in str(e.value)


def test_bf16_runs_the_convolutions_in_bf16_and_returns_the_same_animation(monkeypatch):
    """The shipped model under bf16 autocast: its convolutions see bfloat16, and the palette-locked result is the
    float32 one on nearly every pixel (a walk of one of the project's synthetic characters)."""
    from motionmap.synth import render_animation, sample_character

    source = render_animation(sample_character(3), "walk", "down")[..., :3]  # uint8 [T,64,64,3]
    target = render_animation(sample_character(4), "walk", "down")[0, ..., :3]
    fp32 = Retargeter.load(precision="fp32", threads=1)
    bf16 = Retargeter.load(precision="bf16", threads=1)
    assert not fp32.bf16 and bf16.bf16
    seen = []
    conv = bf16.model.g.forward
    monkeypatch.setattr(bf16.model.g, "forward", lambda *a: seen.append(torch.get_autocast_dtype("cpu")
                                                                         if torch.is_autocast_enabled("cpu") else None)
                        or conv(*a))
    out16, out32 = bf16.retarget(source, target), fp32.retarget(source, target)
    assert seen and set(seen) == {torch.bfloat16}
    assert out16.shape == out32.shape and out16.dtype == np.uint8
    same = (out16 == out32).all(-1).mean()
    assert same > 0.97, same
    assert not torch.is_autocast_enabled("cpu")  # the context ends with the call
