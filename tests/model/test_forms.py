"""The motion forms: one module each, the MotionForm protocol, one name per form, and no import cycle in the model."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motionmap.model import NetConfig
from motionmap.model.config import MOTIONS
from motionmap.model.forms import FORMS, MotionForm, make_tau
from motionmap.model.module import MotionMapper

MODEL_DIR = Path(__file__).resolve().parents[2] / "motionmap" / "model"


def test_every_config_name_builds_its_own_form():
    assert set(FORMS) == set(MOTIONS)
    for name in MOTIONS:
        tau = make_tau(NetConfig(motion=name, channels=8))
        assert tau.name == name and type(tau) is FORMS[name]
        assert isinstance(tau, MotionForm)


@pytest.mark.parametrize("name", MOTIONS)
def test_has_flow_is_what_the_motion_carries(name):
    """``has_flow`` (what module.py asks instead of testing strings or the pyramid) is true exactly when the form's
    motions carry a flow pyramid ending at full resolution."""
    torch.manual_seed(0)
    cfg = NetConfig(motion=name, channels=8)
    tau = make_tau(cfg)
    img = torch.rand(2, 3, 32, 32)
    t = tau(torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8), img, img.flip(-1))
    assert t.latent_grid.shape == (2, 8, 8, 2) and t.pixel_grid.shape == (2, 32, 32, 2)
    assert bool(t.pyramid) == tau.has_flow == (name == "flow")
    if tau.has_flow:
        assert t.pyramid[-1].shape == (2, 2, 32, 32)


def test_the_flow_losses_follow_has_flow():
    """A model whose form has no flow reports a zero flow loss, one with a flow a positive one."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    for name in ("dense", "flow"):
        m = MotionMapper(net=NetConfig(motion=name, channels=8, hidden=4, flow_hidden=4))
        assert (m.model_step((x, x.roll(2, -1))).flow > 0) == m.tau.has_flow


def _inner_model_imports(path: Path):
    """``motionmap.model`` imports that sit inside a function of ``path``: what holds an import cycle apart."""
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("motionmap.model"):
                    found.append(f"{path.name}:{node.lineno} {node.module}")
    return found


def test_no_model_module_imports_the_model_inside_a_function():
    """The model's modules import each other at the top only: forms -> nets/motion/config, module -> forms. An
    import inside a function is how a cycle is hidden (nets.py and flownet.py imported each other that way)."""
    files = sorted(MODEL_DIR.rglob("*.py"))
    assert any(p.parent.name == "forms" for p in files)
    found = [hit for p in files if p.name != "__init__.py" for hit in _inner_model_imports(p)]
    assert found == []


@pytest.mark.parametrize("first", ["motionmap.model.forms.flow", "motionmap.model.motion", "motionmap.model.losses",
                                   "motionmap.model.adapt", "motionmap.model.module"])
def test_each_model_module_imports_first(first):
    """Any of them imported first, in a fresh interpreter, loads (a cycle of top-level imports would fail for some
    order)."""
    subprocess.run([sys.executable, "-c", f"import {first}"], check=True, timeout=120)


def test_the_shipped_checkpoint_names_the_default_form_and_older_ones_load_with_their_retired_fields(tmp_path):
    """default.ckpt names the form NetConfig defaults to. Checkpoints from before the ``parts`` form was removed
    store its fields (``parts``, ``ridge``): they are dropped on load, and every stored weight still fits the model
    (``load_model`` is strict)."""
    import torch

    from motionmap.checkpoint import load_model, read_checkpoint
    from motionmap.retarget import DEFAULT_CHECKPOINT

    shipped = read_checkpoint(DEFAULT_CHECKPOINT)
    assert shipped["hyper_parameters"]["net"]["motion"] == NetConfig().motion == "flow"
    older = dict(shipped, hyper_parameters=dict(shipped["hyper_parameters"]))
    older["hyper_parameters"]["net"] = dict(shipped["hyper_parameters"]["net"], parts=8, ridge=0.01)
    path = tmp_path / "older.ckpt"
    torch.save(older, path)
    loaded = load_model(path).model
    assert loaded.net_cfg.motion == "flow"
    assert loaded.tau.has_flow and type(loaded.tau) is FORMS["flow"]
    assert not hasattr(loaded.net_cfg, "parts") and "parts" not in loaded.hparams["net"]
    for key, value in load_model(DEFAULT_CHECKPOINT).model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_the_removed_parts_form_is_refused_with_a_way_out():
    from motionmap.errors import MotionmapError
    from motionmap.model.config import coerce_config

    with pytest.raises(MotionmapError, match="'parts' form was removed; retrain with 'dense' or 'flow'"):
        coerce_config(NetConfig, {"motion": "parts", "parts": 8, "ridge": 0.01})


def test_dense_tau_describes_a_broadcast_bf16_source_once():
    """A retarget's a0 comes as one frame expanded over the batch, its features in bf16 under autocast: the
    correlation describes it once (its projection sees one frame), with the same matches as a per-frame copy."""
    torch.manual_seed(0)
    tau = make_tau(NetConfig(motion="dense", channels=8))
    feat_src = torch.randn(1, 8, 8, 8).to(torch.bfloat16)
    feat_tgt = torch.randn(3, 8, 8, 8).to(torch.bfloat16)
    img_src, img_tgt = torch.rand(1, 3, 32, 32), torch.rand(3, 3, 32, 32)
    seen = []
    hook = tau.proj.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    with torch.no_grad():
        broadcast = tau(feat_src.expand(3, -1, -1, -1), feat_tgt, img_src.expand(3, -1, -1, -1), img_tgt)
        assert sorted(seen) == [1, 3]  # the source once, the three targets
        copied = tau(feat_src.repeat(3, 1, 1, 1), feat_tgt, img_src.repeat(3, 1, 1, 1), img_tgt)
    hook.remove()
    torch.testing.assert_close(broadcast.latent_grid, copied.latent_grid, atol=1e-5, rtol=0)
