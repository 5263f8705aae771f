"""Retargeter.retarget with RGBA targets: RGBA out with the background transparent (the README's Python interface)."""

import numpy as np

from motionmap.alpha import BLACK, WHITE, matte, over_solid
from motionmap.core import retarget_frames
from motionmap.palette import in_palette, lock_frames, target_palette
from motionmap.retarget import Retargeter
from retarget_helpers import blob_frames, character


def test_transparent_target_gives_rgba(ckpt):
    r = Retargeter.load(ckpt)
    out = r.retarget(blob_frames(), character())
    assert out.shape == (5, 32, 32, 4) and out.dtype == np.uint8
    assert set(np.unique(out[..., 3])) == {0, 255}  # pixel-art target: binary alpha
    assert (out[:, :3, :3, 3] == 0).all() and (out[:, -3:, -3:, 3] == 0).all()  # background stays transparent
    assert (out[out[..., 3] == 0] == 0).all()
    # Exactly the two renderings' matte: the same as doing it by hand through the RGB path (palette lock off) ...
    by_hand = matte(r.retarget(blob_frames(), over_solid(character(), BLACK), palette="off"),
                    r.retarget(blob_frames(), over_solid(character(), WHITE), palette="off"), binary=True)
    np.testing.assert_array_equal(r.retarget(blob_frames(), character(), palette="off"), by_hand)
    # ... and, by default, that matte with every opaque pixel snapped to the target's colours.
    np.testing.assert_array_equal(out, lock_frames(by_hand, target_palette(character())))
    np.testing.assert_array_equal(out, r.retarget(blob_frames(), character()))  # deterministic


def test_opaque_targets_and_keep_alpha_false_give_rgb(ckpt):
    r = Retargeter.load(ckpt)
    opaque = character()
    opaque[..., 3] = 255
    assert r.retarget(blob_frames(), opaque).shape == (5, 32, 32, 3)
    assert r.retarget(blob_frames(), character()[..., :3]).shape == (5, 32, 32, 3)
    flat = r.retarget(blob_frames(), character(), keep_alpha=False)
    np.testing.assert_array_equal(flat, r.retarget(blob_frames(), over_solid(character(), BLACK)))
    # Palette lock of an opaque target: every pixel takes one of the colours the model was shown (black included).
    assert in_palette(flat, target_palette(over_solid(character(), BLACK))).all()


def test_transfer_uses_the_native_path(ckpt):
    r = Retargeter.load(ckpt)
    assert r.returns_rgba
    np.testing.assert_array_equal(retarget_frames(r, blob_frames(), character()), r.retarget(blob_frames(), character()))
