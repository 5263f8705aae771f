"""Demo fixtures: a checkpoint built without training (random weights, small config), the app, a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_data import Client


@pytest.fixture(scope="module", autouse=True)
def one_model_thread():
    """Run the demo's tests with one torch thread, as ``motionmap demo`` does (its ``--threads`` default): with
    Chromium and the test's clients busy on 2 cores, two OpenMP threads made each model call 5-50x slower. Restored
    after each module, so other tests keep torch's default."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def demo_checkpoint(tmp_path_factory) -> Path:
    """A MotionMapper checkpoint in the format ``motionmap train`` writes (state_dict + hyper_parameters), built in
    a fraction of a second: the demo's plumbing does not depend on the weights being trained. The shipped model's
    form (``motion="flow"``), so every transfer also runs the test-time refinement on the demo's model thread."""
    import torch

    from motionmap.model import NetConfig
    from motionmap.model.module import MotionMapper

    torch.manual_seed(0)
    m = MotionMapper(net=NetConfig(motion="flow", channels=8, hidden=4, flow_hidden=8))
    path = tmp_path_factory.mktemp("demo_ckpt") / "tiny.ckpt"
    torch.save({"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams)}, path)
    return path


@pytest.fixture(scope="session")
def retargeter(demo_checkpoint):
    from motionmap.retarget import Retargeter

    return Retargeter.load(demo_checkpoint)


@pytest.fixture
def app(retargeter):
    from motionmap.web import DemoApp, DemoConfig

    a = DemoApp(DemoConfig(port=0, max_frames=16, max_upload_mb=1), retargeter, checkpoint_name="tiny.ckpt")
    yield a
    a.close()


@pytest.fixture(scope="session")
def live_server(retargeter):
    """The real HTTP server on loopback, port 0, in a thread (shared by the HTTP and browser tests)."""
    from motionmap.web import DemoConfig, make_server, serve_in_thread

    server = make_server(DemoConfig(port=0), retargeter)
    serve_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(live_server) -> Client:
    return Client(live_server.url)
