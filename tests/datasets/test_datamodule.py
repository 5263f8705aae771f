"""FramePairDataModule: pair sampling, split by character, backgrounds, determinism, DDP sharding, Lightning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionmap.datasets import FramePair, FramePairDataModule, RawPairBatch, SpriteDataset
from motionmap.datasets.datamodule import BatchSeedSampler
from motionmap.errors import MotionmapError


def make_dm(root, **kw) -> FramePairDataModule:
    kw.setdefault("num_workers", 0)
    kw.setdefault("batch_size", 16)
    kw.setdefault("pairs_per_epoch", 64)
    kw.setdefault("val_pairs", 32)
    dm = FramePairDataModule(str(root), **kw)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def batches(loader, dm):
    return [(raw, dm.on_after_batch_transfer(raw, 0)) for raw in loader]


class TestPairs:
    def test_frame_pair_shapes_and_range(self, tiny_dataset):
        dm = make_dm(tiny_dataset)
        raw = next(iter(dm.train_dataloader()))
        assert isinstance(raw, RawPairBatch) and raw.frames.dtype == torch.uint8
        assert raw.frames.shape == (16, 2, 64, 64, 4)
        pair = dm.on_after_batch_transfer(raw, 0)
        assert isinstance(pair, FramePair) and pair.y is None and pair.y_next is None  # no partners by default
        for t in (pair.x, pair.x_next):
            assert t.shape == (16, 3, 64, 64) and t.dtype == torch.float32
            assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0

    def test_both_frames_same_character_and_row(self, tiny_dataset):
        dm = make_dm(tiny_dataset, hflip=False, color_jitter=0.0)
        offsets = SpriteDataset(tiny_dataset).row_offsets
        for raw, _ in batches(dm.train_dataloader(), dm):
            f = raw.frames.numpy()
            # the tiny sprites paint red = 40 * character, green = 80 * row in their box (see tiny_sprites)
            assert (f[:, 0, 30, 30, 0] == 40 * raw.character.numpy()).all()
            assert (f[:, 1, 30, 30, 0] == f[:, 0, 30, 30, 0]).all()
            assert (f[:, 0, 30, 30, 1] == 80 * raw.row.numpy()).all()
            assert (f[:, 1, 30, 30, 1] == f[:, 0, 30, 30, 1]).all()
            row = raw.row.numpy()
            fr = raw.frame.numpy()
            assert ((fr >= offsets[row][:, None]) & (fr < offsets[row + 1][:, None])).all()
            multi = np.diff(offsets)[row] > 1
            assert (fr[multi, 0] != fr[multi, 1]).all()

    def test_split_by_character(self, tiny_dataset):
        dm = make_dm(tiny_dataset, pairs_per_epoch=256, val_pairs=64)
        ds = SpriteDataset(tiny_dataset)
        train_chars = {int(c) for raw in dm.train_dataloader() for c in raw.character}
        val_chars = {int(c) for raw in dm.val_dataloader() for c in raw.character}
        assert train_chars == set(ds.split_indices("train").tolist())
        assert val_chars == set(ds.split_indices("val").tolist())

    @pytest.mark.parametrize("max_gap", [0, 1, 2])
    def test_max_gap(self, tiny_dataset, max_gap):
        dm = make_dm(tiny_dataset, max_gap=max_gap, pairs_per_epoch=256)
        gaps = np.concatenate([np.abs(np.diff(raw.frame.numpy(), axis=1))[:, 0] for raw in dm.train_dataloader()])
        assert gaps.max() == max_gap

    def test_plain_backgrounds_are_black(self, tiny_dataset):
        dm = make_dm(tiny_dataset, backgrounds="plain", hflip=False)
        for raw, pair in batches(dm.train_dataloader(), dm):
            assert (raw.background == -1).all()
            transparent = raw.frames[..., 3] == 0  # (B, 2, H, W)
            assert (pair.x.permute(0, 2, 3, 1)[transparent[:, 0]] == 0).all()
            assert (pair.x_next.permute(0, 2, 3, 1)[transparent[:, 1]] == 0).all()

    @pytest.mark.parametrize("mode", ["scene", "mixed"])
    def test_same_background_under_both_frames(self, tiny_dataset, mode):
        dm = make_dm(tiny_dataset, backgrounds=mode, pairs_per_epoch=128)
        seen = set()
        for raw, pair in batches(dm.train_dataloader(), dm):
            both = (raw.frames[:, 0, ..., 3] == 0) & (raw.frames[:, 1, ..., 3] == 0)  # (B, H, W), before flips
            both = torch.where(raw.flip[:, None, None], both.flip(-1), both)[:, None].expand(-1, 3, -1, -1)
            assert torch.equal(pair.x[both], pair.x_next[both])
            seen |= set((raw.background >= 0).tolist())
            scene = raw.background >= 0
            if scene.any():  # the tiny backgrounds are never pure black
                assert (pair.x[scene].amax(dim=1) > 0).float().mean() > 0.5
        assert seen == ({True} if mode == "scene" else {True, False})


class TestDeterminism:
    def test_val_set_is_fixed_and_seeded(self, tiny_dataset):
        a, b = make_dm(tiny_dataset, seed=5), make_dm(tiny_dataset, seed=5)
        sampler = a.val_dataloader().sampler
        first = [p for _, p in batches(a.val_dataloader(), a)]
        sampler.set_epoch(3)
        again = [p for _, p in batches(a.val_dataloader(), a)]
        other = [p for _, p in batches(b.val_dataloader(), b)]
        assert sum(p.x.shape[0] for p in first) == 32
        for p, q, r in zip(first, again, other):
            assert torch.equal(p.x, q.x) and torch.equal(p.x_next, q.x_next) and torch.equal(p.x, r.x)
        c = make_dm(tiny_dataset, seed=6)
        assert not torch.equal(first[0].x, next(iter(batches(c.val_dataloader(), c)))[1].x)

    def test_train_pairs_change_with_the_epoch(self, tiny_dataset):
        dm = make_dm(tiny_dataset)
        loader = dm.train_dataloader()
        e0 = [raw.frame for raw in loader]
        loader.sampler.set_epoch(1)
        e1 = [raw.frame for raw in loader]
        loader.sampler.set_epoch(0)
        assert all(torch.equal(a, b) for a, b in zip(e0, [raw.frame for raw in loader]))
        assert not all(torch.equal(a, b) for a, b in zip(e0, e1))

    def test_workers_give_the_same_batches(self, tiny_dataset):
        a, b = make_dm(tiny_dataset), make_dm(tiny_dataset, num_workers=1)
        for (ra, pa), (rb, pb) in zip(batches(a.train_dataloader(), a), batches(b.train_dataloader(), b)):
            assert torch.equal(ra.frames, rb.frames) and torch.equal(pa.x, pb.x)

    def test_frames_on_device_match(self, tiny_dataset):
        a, b = make_dm(tiny_dataset), make_dm(tiny_dataset, frames_on_device=True)
        for (ra, pa), (rb, pb) in zip(batches(a.train_dataloader(), a), batches(b.train_dataloader(), b)):
            assert rb.frames is None
            assert torch.equal(pa.x, pb.x) and torch.equal(pa.x_next, pb.x_next)


class TestSampler:
    def test_ranks_get_disjoint_equal_shares(self):
        samplers = [BatchSeedSampler(100, 16, seed=0, stream=1, fixed=True, num_replicas=3, rank=r) for r in range(3)]
        shares = [list(s) for s in samplers]
        assert [len(s) for s in shares] == [3, 3, 3]  # 7 batches padded to 9
        seeds = [seed for share in shares for seed, _ in share]
        assert len(set(seeds)) == 7
        assert sum(size for share in shares for _, size in share[:]) >= 100
        assert sorted({size for share in shares for _, size in share}) == [4, 16]

    def test_training_batches_are_full(self):
        assert {size for _, size in BatchSeedSampler(100, 16, seed=0, stream=0, fixed=False)} == {16}

    def test_is_a_distributed_sampler(self):
        # Lightning replaces any other sampler under DDP; this one already shards.
        assert isinstance(BatchSeedSampler(10, 4, 0, 0, True), torch.utils.data.DistributedSampler)


class TestArguments:
    @pytest.mark.parametrize(
        "kw, message",
        [
            ({"backgrounds": "sky"}, "backgrounds='sky'"),
            ({"max_gap": -1}, "max_gap=-1"),
            ({"batch_size": 0}, "batch_size=0"),
            ({"color_jitter": 0.9}, "color_jitter=0.9"),
            ({"auto_build": "lpc"}, "auto_build='lpc'"),
        ],
    )
    def test_bad_values(self, tmp_path, kw, message):
        with pytest.raises(MotionmapError, match=message):
            FramePairDataModule(str(tmp_path), **kw)

    def test_missing_dataset_without_auto_build(self, tmp_path):
        with pytest.raises(MotionmapError, match="manifest.json: missing"):
            FramePairDataModule(str(tmp_path)).prepare_data()

    def test_hyperparameters_saved(self, tmp_path):
        dm = FramePairDataModule(str(tmp_path), batch_size=8)
        assert dm.hparams["batch_size"] == 8 and dm.hparams["backgrounds"] == "mixed"


def test_auto_build_synth(tmp_path):
    dm = FramePairDataModule(str(tmp_path / "auto"), auto_build="synth", auto_build_characters=2, batch_size=4,
                             num_workers=0, pairs_per_epoch=8, val_pairs=4)
    dm.prepare_data()
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert manifest["source"] == "synth" and len(manifest["characters"]) == 2
    dm.setup("fit")
    pair = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert pair.x.shape == (4, 3, 64, 64)
    dm.prepare_data()  # second call: dataset exists, nothing rebuilt


@pytest.mark.parametrize("val_pairs", [8, 0])
def test_lightning_fit_receives_frame_pairs(tiny_dataset, tmp_path, val_pairs):
    import pytorch_lightning as pl

    seen = []

    class Probe(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, batch_idx):
            seen.append(batch)
            return (self.w * (batch.x_next - batch.x).mean()).sum() + self.w.pow(2).sum()

        def validation_step(self, batch, batch_idx):
            seen.append(batch)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = FramePairDataModule(str(tiny_dataset), batch_size=8, num_workers=0, pairs_per_epoch=16, val_pairs=val_pairs)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                         num_sanity_val_steps=0)
    trainer.fit(Probe(), datamodule=dm)
    assert len(seen) == 2 + val_pairs // 8 and all(isinstance(b, FramePair) and b.x.shape == (8, 3, 64, 64) for b in seen)


class TestCrossPairs:
    """Partners for the target adaptor: the same two frames played by another character of the split."""

    def test_partner_plays_the_same_frames(self, tiny_dataset):
        dm = make_dm(tiny_dataset, hflip=False, color_jitter=0.0, cross_pairs=1.0, pairs_per_epoch=128,
                     backgrounds="plain")
        train_chars = set(SpriteDataset(tiny_dataset).split_indices("train").tolist())
        others = 0
        for raw, pair in batches(dm.train_dataloader(), dm):
            f = raw.frames.numpy()
            assert f.shape[1] == 4 and pair.y is not None and pair.y.shape == pair.x.shape
            partner = raw.partner.numpy()
            assert set(partner.tolist()) <= train_chars
            # tiny sprites: red = 40 * character, green = 80 * row
            assert (f[:, 2, 30, 30, 0] == 40 * partner).all() and (f[:, 3, 30, 30, 0] == 40 * partner).all()
            assert (f[:, 2, 30, 30, 1] == 80 * raw.row.numpy()).all()
            same = torch.from_numpy(partner == raw.character.numpy())
            assert torch.equal(pair.y[same], pair.x[same]) and torch.equal(pair.y_next[same], pair.x_next[same])
            differs = (pair.y != pair.x).flatten(1).any(1)
            assert bool(differs[~same].all())
            others += int((partner != raw.character.numpy()).sum())
        assert others > 0

    def test_partner_background_is_black_with_x_and_its_own_scene_otherwise(self, tiny_dataset):
        dm = make_dm(tiny_dataset, cross_pairs=1.0, pairs_per_epoch=512, batch_size=128, backgrounds="mixed",
                     hflip=False)
        raw = list(dm.train_dataloader())
        bg = np.concatenate([r.background.numpy() for r in raw])
        pbg = np.concatenate([r.partner_background.numpy() for r in raw])
        assert ((bg < 0) == (pbg < 0)).all() and (bg < 0).any() and (bg >= 0).any()
        assert (pbg[bg >= 0] != bg[bg >= 0]).any()  # scenes drawn apart
        pair = dm.on_after_batch_transfer(raw[0], 0)
        transparent = raw[0].frames[:, 2, :, :, 3] == 0  # the partner's first frame, (B, H, W)
        plain = torch.from_numpy(raw[0].partner_background.numpy() < 0)
        y = pair.y.permute(0, 2, 3, 1)  # (B, H, W, 3)
        assert (y[plain][transparent[plain]] == 0).all()

    def test_share_of_other_characters_follows_cross_pairs(self, tiny_dataset):
        dm = make_dm(tiny_dataset, cross_pairs=0.25, pairs_per_epoch=2048, batch_size=256)
        raw = [r for r in dm.train_dataloader()]
        char = np.concatenate([r.character.numpy() for r in raw])
        partner = np.concatenate([r.partner.numpy() for r in raw])
        # a drawn partner is the character itself 1 time in (train characters) by chance
        n_train = len(SpriteDataset(tiny_dataset).split_indices("train"))
        expected = 0.25 * (1 - 1 / n_train)
        assert abs((partner != char).mean() - expected) < 0.05

    def test_partner_draws_leave_the_rest_of_the_batch_as_without_them(self, tiny_dataset):
        plain = next(iter(make_dm(tiny_dataset).train_dataloader()))
        crossed = next(iter(make_dm(tiny_dataset, cross_pairs=0.5).train_dataloader()))
        assert plain.partner is None and crossed.partner is not None
        for name in ("character", "row", "frame", "background", "flip", "jitter"):
            assert torch.equal(getattr(plain, name), getattr(crossed, name)), name
        assert torch.equal(crossed.frames[:, :2], plain.frames)

    def test_frames_on_device_gather_the_same_partners(self, tiny_dataset):
        host = make_dm(tiny_dataset, cross_pairs=1.0)
        device = make_dm(tiny_dataset, cross_pairs=1.0, frames_on_device=True)
        raw_h, raw_d = next(iter(host.train_dataloader())), next(iter(device.train_dataloader()))
        assert raw_d.frames is None
        a, b = host.on_after_batch_transfer(raw_h, 0), device.on_after_batch_transfer(raw_d, 0)
        for x, y in zip(a, b):
            assert torch.equal(x, y)

    @pytest.mark.parametrize("bad", [-0.1, 1.5, True, "half"])
    def test_bad_share(self, tiny_dataset, bad):
        with pytest.raises(MotionmapError, match="cross_pairs"):
            FramePairDataModule(str(tiny_dataset), cross_pairs=bad)


def test_imported_sets_pair_only_characters_whose_row_has_as_many_frames():
    """Imported characters have rows of their own lengths: a partner must play the row with as many frames."""
    from motionmap.datasets.datamodule import PairSampling, sample_pairs

    row_frames = np.array([[4, 2], [4, 3], [2, 2], [4, 2]])  # 4 characters, 2 rows
    s = PairSampling(characters=np.arange(4), offsets=np.array([0, 4, 7]), row_frames=row_frames, n_backgrounds=0,
                     backgrounds="plain", max_gap=None, hflip=False, color_jitter=0.0, cross_pairs=1.0)
    d = sample_pairs(s, np.random.default_rng(0), 4096)
    char, partner, row = d["character"], d["partner"], d["row"]
    assert (row_frames[partner, row] == row_frames[char, row]).all()
    assert (partner != char).mean() > 0.2  # others do get paired
    assert (d["frame"] - s.offsets[row][:, None] < row_frames[partner, row][:, None]).all()
