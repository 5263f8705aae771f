"""motion="flow": flow/grid conversions, the fixed matching step, the refinement, FlowTau and its losses."""

import pytest
import torch

from motionmap.model import LossConfig, NetConfig, losses, motion
from motionmap.model.forms.flow import FlowTau, ResidualLevel
from motionmap.model.motion import (flow_to_grid, grid_to_flow, local_correlation, match_step, resize_flow,
                                    warp_flow)
from motionmap.model.module import MotionMapper


def sprite(b=2, h=64, w=64, seed=0, shift=(0, 0)):
    """Flat 4x4-pixel colour blocks on black (LPC-like), optionally shifted by (dx, dy) pixels."""
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(b, 3, h, w)
    y0, x0 = 16 + shift[1], 20 + shift[0]
    img[:, :, y0 : y0 + 32, x0 : x0 + 16] = torch.rand(b, 3, 8, 4, generator=g).repeat_interleave(4, 2).repeat_interleave(4, 3)
    return img


class TestConversions:
    def test_zero_flow_is_identity_grid_and_warp(self):
        flow = torch.zeros(2, 2, 16, 12)
        torch.testing.assert_close(flow_to_grid(flow), motion.base_grid(16, 12).expand(2, 16, 12, 2))
        img = torch.rand(2, 3, 16, 12)
        torch.testing.assert_close(warp_flow(img, flow), img, atol=1e-5, rtol=0)

    def test_round_trip(self):
        flow = torch.randn(3, 2, 8, 10)
        torch.testing.assert_close(grid_to_flow(flow_to_grid(flow)), flow, atol=1e-5, rtol=0)

    def test_integer_shift_known_answer(self):
        img = torch.rand(1, 3, 16, 16)
        flow = torch.zeros(1, 2, 16, 16)
        flow[:, 0] = 2.0  # every target pixel reads the source 2 px to its right
        out = warp_flow(img, flow)
        torch.testing.assert_close(out[..., :-2], img[..., 2:], atol=1e-5, rtol=0)

    def test_resize_flow_rescales_values(self):
        flow = torch.full((1, 2, 16, 16), 1.5)
        up = resize_flow(flow, 64, 32)
        assert up.shape == (1, 2, 64, 32)
        torch.testing.assert_close(up[:, 0], torch.full((1, 64, 32), 3.0))
        torch.testing.assert_close(up[:, 1], torch.full((1, 64, 32), 6.0))

    def test_local_correlation_shape_and_centre(self):
        a = torch.randn(2, 5, 8, 8)
        corr = local_correlation(a, a)
        assert corr.shape == (2, 9, 8, 8)
        torch.testing.assert_close(corr[:, 4], a.pow(2).mean(1))

    def test_local_correlation_values_and_hand_written_gradient(self):
        """Each shift's channel mean of a * b shifted (zero beyond the frame), and its backward pass against
        autograd's numerical check, in float64."""
        g = torch.Generator().manual_seed(0)
        a = torch.randn(2, 4, 7, 6, dtype=torch.float64, generator=g, requires_grad=True)
        b = torch.randn(2, 4, 7, 6, dtype=torch.float64, generator=g, requires_grad=True)
        corr = local_correlation(a, b)
        # shift (dy, dx) = (-1, +1) is index 2: a(y, x) * b(y - 1, x + 1)
        torch.testing.assert_close(corr[:, 2, 1:, :-1], (a[:, :, 1:, :-1] * b[:, :, :-1, 1:]).mean(1))
        assert corr[:, 2, 0].abs().max() == 0 and corr[:, 2, :, -1].abs().max() == 0
        assert torch.autograd.gradcheck(local_correlation, (a, b))

    def test_local_correlation_gradient_through_a_channels_last_concatenation(self):
        """As in a flow training step: the correlation concatenated with other maps into a channels-last input, so
        its incoming gradient is a strided slice. The hand-written backward gives autograd's own gradients."""
        g = torch.Generator().manual_seed(1)
        a = torch.randn(2, 5, 8, 6, dtype=torch.float64, generator=g, requires_grad=True)
        b = torch.randn(2, 5, 8, 6, dtype=torch.float64, generator=g, requires_grad=True)
        w = torch.randn(2, 14, 8, 6, dtype=torch.float64, generator=g)

        def loss(corr):
            x = torch.cat([a, corr], 1).contiguous(memory_format=torch.channels_last)
            return (x * w).sum()

        loss(local_correlation(a, b)).backward()
        got = a.grad.clone(), b.grad.clone()
        a.grad = b.grad = None
        bp = torch.nn.functional.pad(b, (1, 1, 1, 1))
        shifts = [(a * bp[:, :, dy : dy + 8, dx : dx + 6]).mean(1) for dy in range(3) for dx in range(3)]
        reference = torch.stack(shifts, 1)  # autograd through plain ops
        loss(reference).backward()
        torch.testing.assert_close(got[0], a.grad)
        torch.testing.assert_close(got[1], b.grad)


class TestMatchStep:
    def test_finds_a_known_shift(self):
        src = sprite(1)
        tgt = sprite(1, shift=(1, -2))  # x'(p) = x(p - (1, -2)): backward flow (-1, +2)
        corr = match_step(src, tgt, torch.zeros(1, 2, 64, 64), radius=2, temperature=0.003, sigma=2.0)
        # inside flat 4x4 blocks the shift is ambiguous, so judge the warp: it must explain most of the change
        assert (warp_flow(src, corr) - tgt).abs().mean() < 0.25 * (src - tgt).abs().mean()
        # at block corners (unambiguous) the flow is the shift itself
        assert (corr[0, :, 14, 21] - torch.tensor([-1.0, 2.0])).abs().max() < 0.3

    def test_black_stays_put(self):
        src = tgt = torch.zeros(1, 3, 16, 16)
        corr = match_step(src, tgt, torch.zeros(1, 2, 16, 16), radius=2, temperature=0.003, sigma=2.0)
        assert corr.abs().max() < 1e-5

    def test_no_gradient(self):
        src = torch.rand(1, 3, 8, 8, requires_grad=True)
        assert not match_step(src, src, torch.zeros(1, 2, 8, 8), 1, 0.01, 2.0).requires_grad

    def test_same_under_bf16_autocast(self):
        """Mixed-precision training (bf16 on GPU) must not round the matching's logits (costs / 0.003)."""
        src, tgt = sprite(1), sprite(1, shift=(1, -2))
        flow = torch.randn(1, 2, 64, 64, generator=torch.Generator().manual_seed(0))
        plain = match_step(src, tgt, flow, 2, 0.003, 2.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = match_step(src, tgt, flow, 2, 0.003, 2.0)
        assert mixed.dtype == torch.float32
        torch.testing.assert_close(mixed, plain, atol=1e-5, rtol=0)

    # each shape through both ways of computing the costs: every shift at once, and shift by shift
    @pytest.mark.parametrize("path", ["at_once", "shift_by_shift"])
    @pytest.mark.parametrize("b,h,w,radius", [(2, 16, 16, 2), (1, 12, 20, 1), (2, 4, 6, 2), (3, 36, 40, 2)])
    def test_equals_the_27_channel_descriptor_formulation(self, b, h, w, radius, path, monkeypatch):
        """The box-sum costs are the 3x3-neighbourhood descriptor distances, borders included (the shipped
        checkpoint was trained with the descriptor form)."""
        from motionmap.model import motion
        from motionmap.model.motion import pixel_descriptor

        limit = 10**9 if path == "at_once" else 0
        monkeypatch.setattr(motion, "_SHIFTS_AT_ONCE", limit)
        monkeypatch.setattr(motion, "_PIXELS_AT_ONCE", limit)

        g = torch.Generator().manual_seed(h + radius)
        src = torch.rand(b, 3, h, w, generator=g)
        tgt = 0.6 * src.roll(1, dims=-1) + 0.4 * torch.rand(b, 3, h, w, generator=g)
        flow = torch.randn(b, 2, h, w, generator=g)
        temperature, sigma = 0.003, 2.0
        d_tgt, d_src = pixel_descriptor(tgt), pixel_descriptor(warp_flow(src, flow))
        padded = torch.nn.functional.pad(d_src, (radius,) * 4, mode="replicate")
        costs, shifts = [], []
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                cand = padded[:, :, radius + dy : radius + dy + h, radius + dx : radius + dx + w]
                costs.append((cand - d_tgt).pow(2).sum(1))
                shifts.append((dx, dy))
        sh = torch.tensor(shifts, dtype=torch.float32).view(1, -1, 2, 1, 1)
        prior = (flow.unsqueeze(1) + sh).pow(2).sum(2) / (2 * sigma**2)
        prob = (-torch.stack(costs, 1) / temperature - prior).softmax(1)
        expect = (prob.unsqueeze(2) * sh).sum(1)
        got = match_step(src, tgt, flow, radius, temperature, sigma)
        torch.testing.assert_close(got, expect, atol=2e-4, rtol=0)


class TestRefineAndTau:
    def test_refine_starts_as_identity_and_gets_gradients(self):
        r = ResidualLevel(feat=4, hidden=6)
        flow = torch.randn(2, 2, 8, 8, requires_grad=True)
        out = r(torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8), flow)
        torch.testing.assert_close(out, flow)  # zero-initialised residual head
        out.sum().backward()
        assert r.net[-1].weight.grad is not None and r.net[-1].weight.grad.abs().sum() > 0

    def test_tau_shapes(self):
        cfg = NetConfig(channels=8, motion="flow", flow_hidden=6)
        t = FlowTau(cfg)(torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16), sprite(), sprite(seed=1))
        assert t.latent_grid.shape == (2, 16, 16, 2) and t.pixel_grid.shape == (2, 64, 64, 2)
        assert [tuple(f.shape) for f in t.pyramid] == [(2, 2, 16, 16), (2, 2, 32, 32), (2, 2, 64, 64)]
        torch.testing.assert_close(t.pixel_grid, flow_to_grid(t.pyramid[-1]))

    def test_trains_after_running_under_inference_mode(self):
        """Cached constants (shift tables, the correlation prior) made under inference_mode stay usable in autograd."""
        cfg = NetConfig(channels=8, motion="flow", flow_hidden=6)
        tau = FlowTau(cfg)
        feats = torch.randn(2, 8, 16, 16)
        with torch.inference_mode():
            tau(feats, feats, sprite(), sprite(seed=1))
        tau(feats, feats, sprite(), sprite(seed=1)).pyramid[-1].sum().backward()
        assert tau.coarse.proj.weight.grad is not None

    def test_same_frame_is_near_zero_flow(self):
        torch.manual_seed(0)
        m = MotionMapper(net=NetConfig(motion="flow", channels=8))
        img = sprite()
        with torch.no_grad():
            f = m.f(img)
            t = m.transform(f, f, img, img)
        assert (motion.warp(img, t.pixel_grid) - img).abs().mean() < 0.01

    def test_untrained_flow_follows_a_shift(self):
        torch.manual_seed(0)
        m = MotionMapper(net=NetConfig(motion="flow", channels=8))
        x, xn = sprite(), sprite(shift=(3, 1))
        with torch.no_grad():
            f, fn = m.f(x), m.f(xn)
            t = m.transform(f, fn, x, xn)
        before = (x - xn).abs().mean()
        after = (motion.warp(x, t.pixel_grid) - xn).abs().mean()
        assert after < 0.5 * before


class TestFlowLosses:
    def test_warp_loss_zero_for_a_perfect_warp(self):
        x = torch.rand(2, 3, 16, 16)
        flows = [torch.zeros(2, 2, 4, 4), torch.zeros(2, 2, 8, 8), torch.zeros(2, 2, 16, 16)]
        assert losses.warp_loss(x, x, flows) == 0

    def test_smoothness_zero_for_constant_flow_and_static_zero_for_no_flow(self):
        img = torch.rand(2, 3, 16, 16)
        assert losses.smoothness_loss(torch.full((2, 2, 16, 16), 2.0), img) == 0
        assert losses.static_loss(torch.zeros(2, 2, 16, 16), img) == 0
        # flat black: any flow is penalised in full
        torch.testing.assert_close(losses.static_loss(torch.ones(1, 2, 8, 8), torch.zeros(1, 3, 8, 8)),
                                   torch.tensor(2.0))

    def test_step_losses_and_gradients(self):
        torch.manual_seed(0)
        m = MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=4, flow_hidden=6), loss=LossConfig())
        x, xn = sprite(), sprite(shift=(2, 0))
        out = m.model_step((x, xn))
        assert out.flow > 0 and torch.isfinite(out.total)
        out.total.backward()
        params = dict(m.named_parameters())
        for name in ("tau.refine_full.net.4.weight", "tau.refine_half.net.4.weight", "tau.coarse.proj.weight",
                     "f.net.0.weight", "g.high.2.weight"):
            assert params[name].grad is not None and params[name].grad.abs().sum() > 0, name
        # the zero-initialised residual heads block gradient to the refinement features until their first update
        torch.optim.SGD(m.parameters(), lr=0.1).step()
        m.zero_grad()
        m.model_step((x, xn)).total.backward()
        assert params["tau.feats.full.0.weight"].grad.abs().sum() > 0

    def test_decoder_never_sees_the_target(self):
        """Only the flow carries x' to the output: with the flow fixed, changing x' changes nothing."""
        torch.manual_seed(0)
        m = MotionMapper(net=NetConfig(motion="flow", channels=8)).eval()
        x, xn = sprite(), sprite(shift=(2, 0))
        with torch.no_grad():
            fx, fxn = m.f(x), m.f(xn)
            t = m.transform(fx, fxn, x, xn)
            a = m.render(x, fx, m.h(x), t).image
            assert torch.equal(a, m.render(x, fx, m.h(x), t).image)
        # render() takes no x' argument at all: the signature is the guarantee
        import inspect

        assert list(inspect.signature(m.render).parameters) == ["image", "feat", "background", "t"]


@pytest.mark.parametrize("bad", [{"flow_hidden": 0}, {"flow_match_steps": 0}])
def test_flow_config_validation(bad):
    from motionmap.errors import MotionmapError
    from motionmap.model.config import coerce_config

    with pytest.raises(MotionmapError, match=list(bad)[0]):
        coerce_config(NetConfig, {"motion": "flow", **bad})


@pytest.mark.parametrize("b,h,w,at_once", [(4, 16, 16, True), (64, 32, 32, True), (1, 64, 64, True),
                                           (8, 64, 64, True), (9, 64, 64, False), (1, 256, 256, False)])
def test_match_costs_take_the_every_shift_path_for_small_maps_or_batches(b, h, w, at_once, monkeypatch):
    """Every shift at once for maps up to 32x32 and for batches up to 8 frames of 64x64 (in cache); shift by shift
    beyond, where the at-once buffers fall out of cache."""
    from motionmap.model import motion

    subs = []
    real_sub = torch.sub
    monkeypatch.setattr(motion.torch, "sub", lambda *a, **k: subs.append(1) or real_sub(*a, **k))
    costs = motion.match_costs_local(torch.rand(b, 3, h, w), torch.rand(b, 3, h, w), 2)
    assert costs.shape == (b, 25, h, w)
    assert len(subs) == (3 if at_once else 25)  # one per channel at once, one per shift otherwise
