"""The analogy benchmark behind ``motionmap eval``.

Given the source animation ``a_0..a_T`` of character A and only the first frame ``b_0`` of character B (same pose
and facing), predict ``b_1..b_T``; B's own animation is the truth. Modules:

* :mod:`~motionmap.eval.testsets`: the deterministic, cached test sets (``lpc`` with held-out layers, ``synth`` with
  held-out seeds) and the ``plain``/``scene`` tracks;
* :mod:`~motionmap.eval.metrics`: SSE per image, MSE, character-region MSE, PSNR, SSIM (pure functions);
* :mod:`~motionmap.eval.baselines`: identity, pixel analogy, optical-flow warp;
* :mod:`~motionmap.eval.runner`: runs any object with ``.retarget(source, target)`` over a set and scores it;
* :mod:`~motionmap.eval.report`, :mod:`~motionmap.eval.grid`: results.md / results.json and the picture grid;
* :mod:`~motionmap.eval.suite`: all of it in one call (:func:`evaluate`, :func:`write_outputs`).
"""

from motionmap.eval.runner import BenchmarkResult, Method, MethodResult, run_benchmark  # noqa: F401
from motionmap.eval.suite import BASELINES, EvalConfig, EvalOutput, evaluate, write_outputs  # noqa: F401

__all__ = [
    "BASELINES",
    "EvalConfig",
    "EvalOutput",
    "evaluate",
    "write_outputs",
    "BenchmarkResult",
    "Method",
    "MethodResult",
    "run_benchmark",
]
