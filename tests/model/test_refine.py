"""Test-time flow refinement: it fits the pair it is given, leaves other forms alone, and is wired to the Retargeter."""

import numpy as np
import pytest
import torch

from motionmap.errors import MotionmapError
from motionmap.model import NetConfig
from motionmap.model.motion import warp_flow
from motionmap.model.module import MotionMapper
from motionmap.model.refine import (NO_REFINE, RefineConfig, content_box, photometric_loss, refine_content, refine_flow,
                                    refine_flow_autograd)
from motionmap.retarget import Retargeter
from motionmap.synth import render_animation, sample_character


def blocks(shift=(0, 0), seed=0):
    """Flat 4x4-pixel colour blocks on black, shifted by (dx, dy) px: ``float [1,3,64,64]``."""
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(1, 3, 64, 64)
    y0, x0 = 16 + shift[1], 20 + shift[0]
    img[:, :, y0 : y0 + 32, x0 : x0 + 16] = torch.rand(1, 3, 8, 4, generator=g).repeat_interleave(4, 2).repeat_interleave(4, 3)
    return img


def test_refinement_recovers_a_small_shift_from_no_motion():
    a0, a1 = blocks(), blocks(shift=(2, 1))
    start = torch.zeros(1, 2, 64, 64)
    flow = refine_flow(a0, a1, start, RefineConfig(steps=60))
    assert not flow.requires_grad and flow.shape == start.shape
    before, after = photometric_loss(a0, a1, start).item(), photometric_loss(a0, a1, flow).item()
    assert after < 0.3 * before
    # Backward flow: each moved pixel reads the source 2 px left and 1 px up (flat block interiors are ambiguous,
    # so only the direction and a good part of the size are asserted).
    inside = flow[0, :, 24:40, 26:32]
    assert -2.5 < inside[0].mean().item() < -1.0
    assert -1.5 < inside[1].mean().item() < -0.3


@pytest.mark.parametrize("cfg", [RefineConfig(steps=1), RefineConfig(steps=4, edge_alpha=10.0, static=0.05)])
def test_hand_written_gradient_steps_like_autograd_adam(cfg):
    """refine_flow's gradient is the autograd gradient of the same objective: one Adam step (and a few, before sign
    flips of tiny residuals can differ by rounding) land on the same flow."""
    a0 = blocks().expand(2, -1, -1, -1)
    a_t = torch.cat([blocks(shift=(2, 1)), blocks(shift=(-1, 3), seed=1)])
    start = torch.randn(2, 2, 64, 64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(refine_flow(a0, a_t, start, cfg), refine_flow_autograd(a0, a_t, start, cfg),
                               atol=1e-4, rtol=0)


def test_zero_steps_is_the_identity_and_bad_settings_are_refused():
    flow = torch.randn(2, 2, 64, 64)
    assert refine_flow(blocks(), blocks(), flow, NO_REFINE) is flow
    with pytest.raises(MotionmapError, match="--refine-steps -1"):
        RefineConfig(steps=-1)
    with pytest.raises(MotionmapError, match="lr"):
        RefineConfig(lr=0)


def test_result_does_not_depend_on_batching_and_runs_under_no_grad():
    a0 = blocks().expand(3, -1, -1, -1)
    a_t = torch.cat([blocks(shift=(s, 0)) for s in (1, 2, 3)])
    with torch.no_grad():
        together = refine_flow(a0, a_t, torch.zeros(3, 2, 64, 64), RefineConfig(steps=10))
        alone = torch.cat([refine_flow(a0[i : i + 1], a_t[i : i + 1], torch.zeros(1, 2, 64, 64), RefineConfig(steps=10))
                           for i in range(3)])
    torch.testing.assert_close(together, alone, atol=1e-3, rtol=0)


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_refinement_works_under_any_grad_mode(mode):
    """Callers (the demo's model thread) may hold inference_mode; the inputs are then inference tensors."""
    with mode():
        a0, a1, start = blocks(), blocks(shift=(2, 1)), torch.zeros(1, 2, 64, 64)
        flow = refine_flow(a0, a1, start, RefineConfig(steps=20))
        assert photometric_loss(a0, a1, flow) < photometric_loss(a0, a1, start)


def test_content_box_holds_every_frame_s_character_with_a_margin_in_whole_cells():
    a0 = blocks()  # the block covers rows 16-47, columns 20-35
    a_t = torch.cat([blocks(shift=(2, 1)), blocks(shift=(-3, 0))])  # columns 17-37, rows up to 48
    assert content_box(a0.expand(2, -1, -1, -1), a_t) == (12, 56, 12, 44)
    assert content_box(a0, a0, margin=0) == (16, 48, 20, 36)
    assert content_box(a0, torch.zeros_like(a0)) == (12, 52, 16, 40)  # the source's character counts too
    assert content_box(torch.zeros_like(a0), torch.zeros_like(a0)) is None  # nothing to refine
    scene = a0 + torch.linspace(0, 0.1, 64)  # no flat background: the whole frame
    assert content_box(scene, scene) is None


def test_refine_content_refines_the_character_s_box_only_and_as_well_as_the_whole_frame():
    a0 = blocks().expand(2, -1, -1, -1)
    a_t = torch.cat([blocks(shift=(2, 1)), blocks(shift=(-1, 3), seed=1)])
    start = torch.full((2, 2, 64, 64), 0.25)
    whole, boxed = refine_flow(a0, a_t, start), refine_content(a0, a_t, start)
    y0, y1, x0, x1 = content_box(a0, a_t)
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[y0:y1, x0:x1] = False
    assert torch.equal(boxed[..., outside], start[..., outside]) and not torch.equal(boxed, start)
    before = photometric_loss(a0, a_t, start).item()
    assert photometric_loss(a0, a_t, boxed).item() < before - 0.9 * (before - photometric_loss(a0, a_t, whole).item())
    # A frame full of character has no box: exactly the whole-frame refinement.
    full = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(refine_content(full, full.roll(1, 3), start[:1]), refine_flow(full, full.roll(1, 3),
                                                                                              start[:1]))


def test_retargeting_refines_the_character_s_box_and_keeps_the_network_s_flow_around_it():
    from motionmap.model.motion import grid_to_flow

    torch.manual_seed(0)
    net = MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=4, flow_hidden=8)).eval()
    a0, a_t = blocks(), torch.cat([blocks(shift=(2, 1)), blocks(shift=(-1, 3), seed=1)])
    with torch.inference_mode():
        plain, refined = (grid_to_flow(net.transfer_motion(a0, a_t, cfg).pixel_grid) for cfg in (NO_REFINE, RefineConfig()))
    y0, y1, x0, x1 = content_box(a0, a_t)
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[y0:y1, x0:x1] = False
    assert torch.equal(refined[..., outside], plain[..., outside])
    assert (refined[..., y0:y1, x0:x1] - plain[..., y0:y1, x0:x1]).abs().max() > 0.5


def synth_walk():
    """A synthetic character's walk (facing down) on black: ``uint8 [T,64,64,3]``."""
    frames = render_animation(sample_character(3), "walk", "down")
    return frames[..., :3] * (frames[..., 3:4] > 0)


def flow_retargeter(refine):
    """An untrained flow model whose output is the target warped by its flow (copy path pinned open)."""
    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=4, flow_hidden=8))
    with torch.no_grad():
        m.g.high[-1].weight[3].zero_()
        m.g.high[-1].bias[3] = 30.0
    return Retargeter(m, refine=refine)


def test_retargeter_refinement_brings_a_self_transfer_closer_to_the_truth():
    frames = synth_walk()
    errors = {}
    for name, refine in (("off", NO_REFINE), ("on", RefineConfig())):
        with torch.inference_mode():  # as the demo server calls it
            pred = flow_retargeter(refine).retarget(frames, frames[0])
        errors[name] = np.mean((pred[1:].astype(float) - frames[1:]) ** 2)
    assert errors["on"] < 0.8 * errors["off"], errors


def test_other_motion_forms_ignore_refinement():
    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(motion="dense", channels=8, hidden=4)).eval()
    a0, a_t = blocks(), blocks(shift=(2, 0))
    torch.testing.assert_close(m.transfer(a0, a_t, a0, RefineConfig()), m.transfer(a0, a_t, a0))
    assert warp_flow(a0, torch.zeros(1, 2, 64, 64)).shape == a0.shape


def test_refinement_smoothness_ignores_pixel_art_edges_by_default():
    """edge_alpha 0 (the refinement's default) is plain total variation: a sprite's internal edges do not cut it."""
    from motionmap.model import losses

    flow = torch.randn(1, 2, 64, 64)
    image = blocks()
    tv = (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean() + (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean()
    torch.testing.assert_close(losses.smoothness_loss(flow, image, alpha=0.0), tv)
    assert losses.smoothness_loss(flow, image) < tv  # training's edge-aware form discounts edges
    assert RefineConfig().edge_alpha == 0.0


def test_adam_written_out_equals_the_fused_kernel():
    """Where a torch has no fused Adam kernel for the device, the written-out update gives the same steps."""
    from motionmap.model.refine import _AdamStep

    g = torch.Generator().manual_seed(0)
    start = torch.randn(2, 8, 8, 2, generator=g)
    grads = [torch.randn(2, 8, 8, 2, generator=g) * 1e-6 for _ in range(5)]
    fields = []
    for fused in (True, False):
        field = start.clone()
        adam = _AdamStep(field, lr=0.1)
        adam.fused = adam.fused and fused
        for grad in grads:
            adam(grad)
        fields.append(field)
    assert not torch.equal(fields[0], start)
    torch.testing.assert_close(fields[0], fields[1], atol=1e-5, rtol=0)


def test_distill_loss_pulls_the_flow_toward_its_refinement():
    """Training's amortised-refinement term: its gradient points from the flow toward the refinement's polish of it
    (a fixed target: no gradient flows through the refinement), and it is small for a flow already polished."""
    from motionmap.model.refine import distill_loss

    a0, a1 = blocks(), blocks(shift=(2, 1))
    flow = torch.zeros(1, 2, 64, 64, requires_grad=True)
    loss = distill_loss(a0, a1, flow, steps=60)
    loss.backward()
    polished = refine_flow(a0, a1, torch.zeros(1, 2, 64, 64), RefineConfig(steps=60))
    moved = polished.abs() > 0.1  # where the refinement moved the flow (the blocks)
    assert loss.item() > 0.05 and moved.sum() > 500
    assert torch.equal(torch.sign(-flow.grad)[moved], torch.sign(polished)[moved])
    assert distill_loss(a0, a1, polished.clone(), steps=60).item() < 0.5 * loss.item()


def test_training_with_distill_logs_it_in_the_flow_loss_and_trains_the_flow():
    torch.manual_seed(0)
    from motionmap.model import LossConfig

    net = NetConfig(motion="flow", channels=8, hidden=8, flow_hidden=8)
    x = blocks().expand(2, -1, -1, -1).contiguous()
    x_next = torch.cat([blocks(shift=(2, 1)), blocks(shift=(-1, 2), seed=0)])
    batch = (x, x_next)
    plain = MotionMapper(net=net)
    distilled = MotionMapper(net=net, loss=LossConfig(distill=1.0, distill_steps=10))
    distilled.load_state_dict(plain.state_dict())
    a, b = plain.model_step(batch), distilled.model_step(batch)
    assert b.flow.item() > a.flow.item() + 1e-3  # the same network, one more term in its flow loss
    b.total.backward()
    assert distilled.tau.refine_full.net[-1].weight.grad.abs().sum() > 0
