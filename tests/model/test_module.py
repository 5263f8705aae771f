"""MotionMapper: shapes at every boundary, identity behaviour, configs, checkpoint round trip."""

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from motionmap.errors import MotionmapError
from motionmap.model import LossConfig, NetConfig, OptimConfig, motion
from motionmap.model.config import coerce_config
from motionmap.model.module import MotionMapper, build_from_hparams, lr_factor
from motionmap.model.forms import AffineTau, DenseTau
from motionmap.model.nets import Decoder, Encoder

MOTIONS = [NetConfig(motion="dense"), NetConfig(motion="affine", copy_path=False), NetConfig(motion="affine"),
           NetConfig(motion="flow")]


def frames(b=2, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g), torch.rand(b, 3, h, w, generator=g)


class TestNets:
    def test_encoder_shape(self):
        cfg = NetConfig(channels=12, hidden=6)
        assert Encoder(cfg)(torch.rand(3, 3, 64, 48)).shape == (3, 12, 16, 12)

    @pytest.mark.parametrize("tau_cls", [AffineTau, DenseTau])
    def test_tau_shapes(self, tau_cls):
        cfg = NetConfig(channels=8, motion=tau_cls.name)
        f = torch.randn(2, 8, 16, 16)
        img = torch.rand(2, 3, 64, 64)
        t = tau_cls(cfg)(f, f, img, img)
        assert t.latent_grid.shape == (2, 16, 16, 2)
        assert t.pixel_grid.shape == (2, 64, 64, 2)
        assert t.pyramid == ()

    def test_affine_tau_starts_at_identity(self):
        cfg = NetConfig(motion="affine", channels=8)
        a, b = torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16)
        t = AffineTau(cfg)(a, b, torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
        torch.testing.assert_close(t.latent_grid, motion.base_grid(16, 16).expand(2, 16, 16, 2))
        torch.testing.assert_close(t.pixel_grid, motion.base_grid(64, 64).expand(2, 64, 64, 2))

    def test_same_frame_is_near_identity(self):
        torch.manual_seed(0)
        cfg = NetConfig(channels=8, motion="dense")
        img = torch.zeros(2, 3, 64, 64)
        # a "character" of flat 4x4-pixel colour blocks on black (sprite-like)
        img[:, :, 16:48, 24:40] = torch.rand(2, 3, 8, 4).repeat_interleave(4, 2).repeat_interleave(4, 3)
        f = Encoder(cfg)(img)
        t = DenseTau(cfg)(f, f, img, img)
        # On the textured cells the match is exact to half a cell (one cell = 2/16 in normalised units). Flat black
        # cells are ambiguous (any black matches), so there only the warped pixels are checked: still the same frame.
        ident_grid = motion.base_grid(16, 16)
        err = (t.latent_grid - ident_grid).abs().amax(-1)  # (B, 16, 16)
        assert err[:, 5:11, 6:10].max() < 0.5 * 2 / 16
        assert (motion.warp(img, t.pixel_grid) - img).abs().mean() < 0.01

    @pytest.mark.parametrize("copy_path", [True, False])
    def test_decoder_shape_and_range(self, copy_path):
        cfg = NetConfig(channels=8, hidden=4, copy_path=copy_path)
        out = Decoder(cfg)(torch.randn(2, 8, 8, 8), torch.rand(2, 3, 32, 32) if copy_path else None)
        assert out.image.shape == (2, 3, 32, 32)
        assert out.image.min() >= 0 and out.image.max() <= 1
        assert (out.alpha is not None) == copy_path


class TestMotionMapper:
    @pytest.mark.parametrize("net", MOTIONS, ids=["dense", "paper", "affine+copy", "flow"])
    def test_forward_step_and_transfer_shapes(self, net):
        m = MotionMapper(net=net)
        x, xn = frames()
        pred = m(x, xn)
        c = net.channels
        assert pred.image.shape == (2, 3, 32, 32)
        assert pred.warped.shape == pred.background.shape == (2, c, 8, 8)
        out = m.model_step((x, xn))
        for v in out:
            assert v.dim() == 0 and torch.isfinite(v)
        out.total.backward()
        assert all(p.grad is not None for n, p in m.named_parameters() if not n.startswith("h."))
        tr = m.transfer(x[:1], xn, x[1:])
        assert tr.shape == (2, 3, 32, 32) and 0 <= tr.min() and tr.max() <= 1

    def test_bad_input_shape(self):
        with pytest.raises(ValueError, match=r"got \(2, 3, 6, 32\)"):
            MotionMapper()(torch.rand(2, 3, 6, 32), torch.rand(2, 3, 6, 32))

    @pytest.mark.parametrize("size", [(30, 30), (32, 48), (9, 13)])
    def test_any_frame_size_is_padded_and_cropped_back(self, size):
        h, w = size
        m = MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=8, flow_hidden=8))
        x, xn = torch.rand(2, 3, h, w), torch.rand(2, 3, h, w)
        assert m(x, xn).image.shape == (2, 3, h, w)
        assert torch.isfinite(m.model_step((x, xn)).total)
        assert m.transfer(x[:1], xn, x[1:]).shape == (2, 3, h, w)

    def test_pad_to_cell_repeats_the_edge(self):
        from motionmap.model.module import pad_to_cell

        x = torch.arange(30.0).view(1, 1, 5, 6)
        p = pad_to_cell(x)
        assert p.shape == (1, 1, 8, 8)
        assert torch.equal(p[..., :5, :6], x) and torch.equal(p[..., 7, :6], x[..., 4, :])
        assert torch.equal(p[..., :5, 7], x[..., :, 5])
        same = torch.rand(1, 3, 8, 12)
        assert pad_to_cell(same) is same

    def test_image_grid(self):
        m = MotionMapper()
        grid = m.image_grid(*frames(3))
        assert grid.shape == (5 * 32, 3 * 32, 3) and grid.dtype.name == "uint8"

    def test_hparams_are_plain_and_rebuild(self):
        m = MotionMapper(net=NetConfig(channels=8, motion="dense"), loss=LossConfig(latent=0.5))
        hp = dict(m.hparams)
        assert hp["net"]["channels"] == 8 and isinstance(hp["net"], dict)
        m2 = build_from_hparams(hp)
        assert m2.net_cfg == m.net_cfg and m2.loss_cfg == m.loss_cfg

    def test_config_validation(self):
        with pytest.raises(MotionmapError, match="net.motion: got 'optical'"):
            MotionMapper(net=NetConfig(motion="optical"))
        with pytest.raises(MotionmapError, match="unknown fields"):
            coerce_config(NetConfig, {"motion": "dense", "bogus": 1})
        with pytest.raises(MotionmapError, match="latent_form"):
            coerce_config(LossConfig, {"latent_form": "l2"})
        with pytest.raises(MotionmapError, match="optim.lr"):
            coerce_config(OptimConfig, {"lr": 0})
        with pytest.raises(MotionmapError, match="optim.decay_to"):
            coerce_config(OptimConfig, {"decay_to": 0})
        with pytest.raises(MotionmapError, match="optim.decay_from"):
            coerce_config(OptimConfig, {"decay_from": -5})


def test_lr_schedule_warms_up_holds_then_decays_to_the_floor():
    cfg = OptimConfig(warmup_steps=10, decay_from=100, decay_to=0.1)
    assert lr_factor(0, cfg, 200) == pytest.approx(0.1)
    assert lr_factor(50, cfg, 200) == 1.0
    assert lr_factor(100, cfg, 200) == 1.0
    assert lr_factor(150, cfg, 200) == pytest.approx(0.55)
    assert lr_factor(200, cfg, 200) == pytest.approx(0.1)
    assert lr_factor(10_000, cfg, 200) == pytest.approx(0.1)
    # No decay without a start step or without a step budget (max_steps -1: train by time or epochs).
    assert lr_factor(150, OptimConfig(warmup_steps=10), 200) == 1.0
    assert lr_factor(150, cfg, -1) == 1.0


def test_training_run_ends_at_the_decayed_rate():
    pl.seed_everything(0)
    m = MotionMapper(net=NetConfig(channels=8, hidden=4, motion="dense"),
                     optim=OptimConfig(lr=1e-3, warmup_steps=1, decay_from=2, decay_to=0.25))
    x, xn = frames(4)
    trainer = pl.Trainer(max_steps=6, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(m, DataLoader(list(zip(x, xn)) * 4, batch_size=2))
    assert trainer.global_step == 6
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.25e-3)


def test_checkpoint_round_trip(tmp_path):
    """A Lightning checkpoint rebuilds the same model (weights_only load) with the same outputs."""
    from motionmap.retarget import Retargeter

    pl.seed_everything(0)
    net = NetConfig(channels=8, hidden=4, motion="dense")
    m = MotionMapper(net=net, optim=OptimConfig(warmup_steps=1))
    x, xn = frames(4)
    trainer = pl.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(m, DataLoader(list(zip(x, xn)), batch_size=2))
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert ckpt["hyper_parameters"]["net"]["channels"] == 8
    m.eval()
    loaded = MotionMapper.load_from_checkpoint(path, map_location="cpu").eval()
    r = Retargeter.load(path)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, xn).image, m(x, xn).image)
        torch.testing.assert_close(r.model.transfer(x[:1], xn, x[1:2]), m.transfer(x[:1], xn, x[1:2]))


def test_init_from_default_copies_the_shipped_weights_and_refuses_another_net():
    import torch

    from motionmap.checkpoint import load_model
    from motionmap.errors import MotionmapError
    from motionmap.model.module import MotionMapper
    from motionmap.retarget import DEFAULT_CHECKPOINT

    shipped = load_model(DEFAULT_CHECKPOINT)
    net = shipped.info.hyper_parameters["net"]
    model = MotionMapper(net=net, init_from="default")
    assert any(not torch.equal(p, q) for p, q in zip(model.state_dict().values(), shipped.model.state_dict().values()))
    model.setup("fit")
    for key, value in shipped.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    other = MotionMapper(net={**net, "flow_hidden": 8}, init_from=str(DEFAULT_CHECKPOINT))
    with pytest.raises(MotionmapError, match="flow_hidden"):
        other.setup("fit")


def test_lr_schedule_by_time_follows_the_share_of_the_time_budget_not_the_steps():
    cfg = OptimConfig(warmup_steps=10, decay_from=100, decay_to=0.1, decay_over="time")
    # Before decay_from it warms up and holds, whatever the clock says.
    assert lr_factor(0, cfg, -1, time_spent=lambda: 0.9) == pytest.approx(0.1)
    assert lr_factor(50, cfg, -1, time_spent=lambda: 0.9) == 1.0
    # After it, the cosine follows the time spent (max_steps is ignored, here unset).
    assert lr_factor(150, cfg, -1, time_spent=lambda: 0.0) == 1.0
    assert lr_factor(150, cfg, -1, time_spent=lambda: 0.5) == pytest.approx(0.55)
    assert lr_factor(150, cfg, -1, time_spent=lambda: 1.0) == pytest.approx(0.1)
    # Without a time limit (the clock returns None) it falls back to the step schedule.
    assert lr_factor(150, cfg, 200, time_spent=lambda: None) == pytest.approx(0.55)
    with pytest.raises(MotionmapError, match="optim.decay_over"):
        coerce_config(OptimConfig, {"decay_over": "epochs"})


class TestTargetAdaptor:
    """net.adapt_hidden: the flow moved onto the target's body; optim.train adapt trains it alone."""

    def adapted(self, **optim):
        """The shipped model with a fresh (zero) adaptor of 8 channels in place of its own."""
        from motionmap.checkpoint import load_model
        from motionmap.retarget import DEFAULT_CHECKPOINT

        m = MotionMapper(net=NetConfig(motion="flow", adapt_hidden=8), optim=OptimConfig(**optim))
        shipped = load_model(DEFAULT_CHECKPOINT).model.state_dict()
        m.load_state_dict({k: v for k, v in shipped.items() if not k.startswith("adapt.")}, strict=False)
        m.setup("fit")
        return m

    def test_a_zero_adaptor_changes_nothing_and_the_shipped_one_moves_the_target(self):
        from motionmap.checkpoint import load_model
        from motionmap.retarget import DEFAULT_CHECKPOINT

        shipped = load_model(DEFAULT_CHECKPOINT).model.eval()
        assert shipped.adapt is not None
        base = MotionMapper(net={**shipped.hparams["net"], "adapt_hidden": 0}).eval()
        base.load_state_dict({k: v for k, v in shipped.state_dict().items() if not k.startswith("adapt.")})
        m = self.adapted().eval()
        g = torch.Generator().manual_seed(0)
        a0, a_t, b0 = torch.rand(1, 3, 32, 32, generator=g), torch.rand(3, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
        assert torch.equal(m.transfer(a0, a_t, b0), base.transfer(a0, a_t, b0))
        assert not torch.equal(shipped.transfer(a0, a_t, b0), base.transfer(a0, a_t, b0))

    def test_init_from_a_model_without_adaptor_keeps_a_zero_adaptor(self, tmp_path):
        base = MotionMapper(net=NetConfig(motion="flow"))
        path = tmp_path / "base.ckpt"
        torch.save({"state_dict": base.state_dict(), "hyper_parameters": dict(base.hparams)}, path)
        m = MotionMapper(net=NetConfig(motion="flow", adapt_hidden=8), init_from=str(path))
        m.setup("fit")
        assert float(m.adapt.out.weight.abs().sum()) == 0.0
        for key, value in base.state_dict().items():
            assert torch.equal(m.state_dict()[key], value), key

    def test_training_the_adaptor_alone_moves_only_its_weights(self):
        from motionmap.datasets import FramePair

        m = self.adapted(train="adapt", lr=1e-2)
        m.train()
        before = {k: v.clone() for k, v in m.state_dict().items()}
        opt = m.configure_optimizers()["optimizer"]
        g = torch.Generator().manual_seed(1)
        x = torch.rand(4, 3, 32, 32, generator=g)
        batch = FramePair(x, x.roll(1, 2), x.flip(0), x.flip(0).roll(2, 3))
        out = m.model_step(batch)
        assert float(out.cross) > 0
        out.total.backward()
        opt.step()
        changed = {k for k, v in m.state_dict().items() if not torch.equal(v, before[k])}
        assert changed and all(k.startswith("adapt.") for k in changed)
        assert "adapt.out.weight" in changed
        # The frozen network's own losses are not computed in training (they would train nothing); the total is the
        # adaptor's; validation reports every loss.
        assert out.pixel is None and out.latent is None and out.background is None and out.flow is None
        assert torch.allclose(out.total, m.loss_cfg.cross * out.cross)
        m.eval()
        with torch.no_grad():
            val = m.model_step(batch)
        assert all(v is not None for v in val) and float(val.pixel) > 0
        assert float(val.total) > m.loss_cfg.cross * float(val.cross)

    def test_adaptor_needs_partners_and_the_flow_form(self):
        from motionmap.datasets import FramePair

        m = self.adapted(train="adapt")
        m.train()
        x = torch.rand(2, 3, 32, 32)
        with pytest.raises(MotionmapError, match="cross_pairs"):
            m.model_step(FramePair(x, x))
        with pytest.raises(MotionmapError, match="adapt_hidden"):
            MotionMapper(net=NetConfig(motion="dense", adapt_hidden=8))
        with pytest.raises(MotionmapError, match="adapt_hidden > 0"):
            MotionMapper(net=NetConfig(motion="flow"), optim=OptimConfig(train="adapt"))
        with pytest.raises(MotionmapError, match="optim.train"):
            coerce_config(OptimConfig, {"train": "decoder"})
