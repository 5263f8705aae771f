"""Procedural backgrounds: shapes, determinism, texture, kind cycling and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from motionmap.backgrounds import BACKGROUND_KINDS, background_pool, fractal_noise, make_background
from motionmap.errors import MotionmapError

TEXTURED = [k for k in BACKGROUND_KINDS if k != "solid"]


class TestMakeBackground:
    @pytest.mark.parametrize("kind", BACKGROUND_KINDS)
    @pytest.mark.parametrize("size", [(64, 64), (48, 80), (7, 13), (1, 1)])
    def test_shape_and_dtype(self, kind, size):
        img = make_background(np.random.default_rng(0), kind, size)
        assert img.shape == size + (3,) and img.dtype == np.uint8

    @pytest.mark.parametrize("kind", list(BACKGROUND_KINDS) + [None])
    def test_deterministic(self, kind):
        a = make_background(np.random.default_rng(42), kind)
        b = make_background(np.random.default_rng(42), kind)
        assert a.tobytes() == b.tobytes()
        assert a.tobytes() != make_background(np.random.default_rng(43), kind).tobytes()

    def test_solid_is_flat(self):
        img = make_background(np.random.default_rng(1), "solid")
        assert len(np.unique(img.reshape(-1, 3), axis=0)) == 1

    @pytest.mark.parametrize("kind", TEXTURED)
    def test_textured_kinds_are_not_flat(self, kind):
        for seed in range(5):
            img = make_background(np.random.default_rng(seed), kind)
            assert len(np.unique(img.reshape(-1, 3), axis=0)) >= 4
            assert img.astype(np.float32).std(axis=(0, 1)).max() > 3.0
            # Texture everywhere, not only in one corner: every 16x16 block of a texture varies...
            if kind != "gradient":  # ...while a gradient varies along its direction
                blocks = img.reshape(4, 16, 4, 16, 3).transpose(0, 2, 1, 3, 4).reshape(16, -1, 3)
                assert all(len(np.unique(b, axis=0)) >= 2 for b in blocks)

    def test_random_kind_draws_every_kind(self):
        rng = np.random.default_rng(0)
        seen = set()
        for _ in range(60):
            seen.add(make_background(rng, None, (8, 8)).tobytes())
        assert len(seen) == 60

    def test_errors(self):
        rng = np.random.default_rng(0)
        with pytest.raises(MotionmapError, match="unknown background kind 'lava'.*solid"):
            make_background(rng, "lava")
        with pytest.raises(MotionmapError, match=r"background size \(0, 64\)"):
            make_background(rng, "noise", (0, 64))
        with pytest.raises(MotionmapError, match="size"):
            make_background(rng, "noise", (64,))
        with pytest.raises(MotionmapError, match="Generator"):
            make_background(7, "noise")


class TestBackgroundPool:
    def test_shape_and_determinism(self):
        pool = background_pool(8, seed=3)
        assert pool.shape == (8, 64, 64, 3) and pool.dtype == np.uint8
        assert pool.tobytes() == background_pool(8, seed=3).tobytes()
        assert pool.tobytes() != background_pool(8, seed=4).tobytes()

    def test_prefix_property_and_size(self):
        long = background_pool(9, seed=5, size=(32, 48))
        assert long.shape == (9, 32, 48, 3)
        np.testing.assert_array_equal(background_pool(4, seed=5, size=(32, 48)), long[:4])

    def test_every_kind_appears(self):
        pool = background_pool(len(BACKGROUND_KINDS), seed=0)
        flat = [len(np.unique(b.reshape(-1, 3), axis=0)) == 1 for b in pool]
        assert sum(flat) == 1  # exactly one solid, all the others textured

    def test_kinds_subset(self):
        pool = background_pool(4, seed=0, kinds=["solid"])
        assert all(len(np.unique(b.reshape(-1, 3), axis=0)) == 1 for b in pool)

    def test_empty_pool(self):
        assert background_pool(0, seed=0).shape == (0, 64, 64, 3)

    def test_errors(self):
        with pytest.raises(MotionmapError, match="count -1"):
            background_pool(-1, seed=0)
        with pytest.raises(MotionmapError, match="seed"):
            background_pool(2, seed=-5)
        with pytest.raises(MotionmapError, match="unknown background kind 'sky'"):
            background_pool(2, seed=0, kinds=["noise", "sky"])
        with pytest.raises(MotionmapError, match="empty"):
            background_pool(2, seed=0, kinds=[])


def test_fractal_noise_range():
    t = fractal_noise(np.random.default_rng(0), (40, 30))
    assert t.shape == (40, 30) and t.dtype == np.float32
    assert t.min() == pytest.approx(0.0) and t.max() == pytest.approx(1.0)
