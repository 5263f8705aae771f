"""Run methods over a test set and score them: the benchmark's loop, with no file output.

A *method* is anything with ``.retarget(source_frames uint8 [T,H,W,3], target uint8 [H,W,3]) -> uint8 [T,H,W,3]``:
the baselines of :mod:`motionmap.eval.baselines` and :class:`motionmap.Retargeter` alike (tests pass stubs). Every
method gets exactly the same inputs: the source animation and ``b_0``, both composited on the track's background.
Frames ``t >= 1`` are scored against B's own animation (:mod:`motionmap.eval.metrics`).

RGBA runs (``rgba=True``, plain track only): methods that return RGBA themselves (``returns_rgba``, as
:class:`motionmap.Retargeter`) get the transparent source and ``b_0`` instead; their ``uint8 [T,H,W,4]`` output is
scored composited over black (the plain track's background) and its alpha gives the ``alpha01`` share. The other
methods get the plain inputs as always.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.eval.metrics import FrameScores, binary_alpha_share, palette_share, score_frames, summarize
from motionmap.eval.testsets import BenchmarkSet, check_track
from motionmap.io.images import composite_over
from motionmap.palette import target_palette


@dataclass(frozen=True)
class Method:
    """A named method under test. ``kind``: ``baseline`` or ``checkpoint``; ``path``: the checkpoint, if any;
    ``options``: keyword arguments of every ``retarget`` call (e.g. ``{"palette": "off"}`` for a Retargeter)."""

    name: str
    retargeter: Any
    kind: str = "baseline"
    path: Optional[str] = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodResult:
    """One method's scores over every scored frame of the run.

    ``scores``: each metric as ``float64 [N]`` over the frames ``t >= 1`` of all cases, case-major;
    ``frame_case``: ``int64 [N]``, the case index of each scored frame; ``seconds``: time spent in ``.retarget``;
    ``frames``: frames predicted (``t = 0`` included).
    """

    name: str
    kind: str
    path: Optional[str]
    scores: FrameScores
    frame_case: np.ndarray
    seconds: float
    frames: int

    def overall(self) -> Dict[str, float]:
        """Each metric's mean over all scored frames, plus ``frames``."""
        return summarize(self.scores)

    def by_case_set(self, case_indices: Sequence[int]) -> Dict[str, float]:
        return summarize(self.scores.select(np.isin(self.frame_case, np.asarray(case_indices))))


@dataclass(frozen=True)
class BenchmarkResult:
    """Everything a report needs: the test set, the track, one :class:`MethodResult` per method, the predicted
    frames of the grid cases (``grid[case_index][method_name] = uint8 [T,H,W,3]``), whether it was an RGBA run, and
    the true frames' own ``palette`` and ``alpha01`` shares (the ceiling of those columns; see
    :mod:`motionmap.eval.metrics`)."""

    bset: BenchmarkSet
    track: str
    methods: Tuple[MethodResult, ...]
    grid: Dict[int, Dict[str, np.ndarray]] = field(default_factory=dict)
    rgba: bool = False
    truth_shares: Dict[str, float] = field(default_factory=dict)

    @property
    def actions(self) -> Tuple[str, ...]:
        return self.bset.actions

    def per_group(self, method: MethodResult) -> Dict[str, Dict[str, float]]:
        """``{group: {metric: mean}}`` over the set's case groups (e.g. ``ulpc`` body-type pairs); empty if none."""
        return {g: method.by_case_set(idx) for g, idx in self.bset.case_groups().items()}

    def per_action(self, method: MethodResult) -> Dict[str, Dict[str, float]]:
        """``{action: {metric: mean over that action's scored frames}}`` in layout order."""
        out = {}
        for action in self.actions:
            idx = [c.index for c in self.bset.cases if c.action == action]
            out[action] = method.by_case_set(idx)
        return out


def _check_prediction(name: str, pred: Any, source: np.ndarray, rgba: bool = False) -> np.ndarray:
    pred = np.asarray(pred)
    expected = source.shape[:3] + (3,)
    if pred.dtype != np.uint8 or not (pred.shape == expected or (rgba and pred.shape == expected[:3] + (4,))):
        raise MotionmapError(
            f"method {name}: retarget returned {pred.dtype} {tuple(pred.shape)} for a {source.shape[0]}-frame source; "
            f"expected uint8 {expected}; fix the method or its checkpoint"
        )
    return pred


def _shares(pred: np.ndarray, b0: np.ndarray, mask: np.ndarray, alpha: Optional[np.ndarray]) -> Tuple[np.ndarray, ...]:
    """``palette`` and ``alpha01`` per frame for ``pred`` ``uint8 [N,H,W,3]`` against the colours of ``b0``
    ``uint8 [H,W,3]`` inside ``mask`` ``bool [N,H,W]``; ``alpha`` ``uint8 [N,H,W]`` or None (NaN)."""
    share = palette_share(pred, target_palette(b0), mask)
    return share, (binary_alpha_share(alpha) if alpha is not None else np.full(len(pred), np.nan))


def run_benchmark(
    bset: BenchmarkSet,
    track: str,
    methods: Sequence[Method],
    grid_cases: Sequence[int] = (),
    progress: bool = True,
    rgba: bool = False,
) -> BenchmarkResult:
    """Predict every case with every method and score frames ``t >= 1``.

    ``grid_cases``: case indices whose predictions are kept for the picture grid. ``rgba``: an RGBA run (plain
    track only; see the module docstring).
    """
    check_track(track)
    if rgba and track != "plain":
        raise MotionmapError(f"--rgba: RGBA runs use the plain track (transparent sprites over black), not {track!r}; "
                             "drop --rgba or use --track plain")
    if not methods:
        raise MotionmapError("no methods to evaluate; give a --checkpoint or keep the baselines")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise MotionmapError(f"method names {names}: must be unique")
    keep = set(int(i) for i in grid_cases)

    preds: Dict[str, List[np.ndarray]] = {m.name: [] for m in methods}
    seconds = {m.name: 0.0 for m in methods}
    frames = {m.name: 0 for m in methods}
    shares: Dict[str, List[Tuple[np.ndarray, ...]]] = {m.name: [] for m in methods}
    truth_shares: List[Tuple[np.ndarray, ...]] = []
    truths: List[np.ndarray] = []
    masks: List[np.ndarray] = []
    frame_case: List[np.ndarray] = []
    grid: Dict[int, Dict[str, np.ndarray]] = {}

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(bset.cases), desc=f"eval {bset.spec.set}/{track}", unit="case", file=sys.stderr)
    try:
        for case in bset.cases:
            source, truth = case.source(track), case.truth(track)  # (T, H, W, 3) each
            target = truth[0]
            truths.append(truth[1:])
            masks.append(case.character_mask()[1:])
            drawn = case.target_rgba[1:, ..., 3] > 0  # (T-1, H, W): the true character's pixels at t
            truth_shares.append(_shares(truth[1:], target, drawn, case.target_rgba[1:, ..., 3]))
            frame_case.append(np.full(case.frames - 1, case.index, dtype=np.int64))
            if case.index in keep:
                grid[case.index] = {"source": source, "truth": truth}
            for m in methods:
                transparent = rgba and getattr(m.retargeter, "returns_rgba", False)
                src, tgt = (case.source_rgba, case.target_rgba[0]) if transparent else (source, target)
                start = time.perf_counter()
                pred = m.retargeter.retarget(src.copy(), tgt.copy(), **m.options)
                seconds[m.name] += time.perf_counter() - start
                pred = _check_prediction(m.name, pred, source, rgba=transparent)
                alpha = None
                if pred.shape[-1] == 4:
                    alpha = pred[1:, ..., 3]
                    pred = composite_over(pred, np.zeros(3, np.uint8))  # the plain track's black
                shares[m.name].append(_shares(pred[1:], target, drawn, alpha))
                frames[m.name] += pred.shape[0]
                preds[m.name].append(pred[1:])
                if case.index in keep:
                    grid[case.index][m.name] = pred
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    truth_all = np.concatenate(truths)  # (N, H, W, 3)
    mask_all = np.concatenate(masks)  # (N, H, W)
    case_all = np.concatenate(frame_case)  # (N,)
    results = tuple(
        MethodResult(
            name=m.name,
            kind=m.kind,
            path=m.path,
            scores=score_frames(np.concatenate(preds[m.name]), truth_all, mask_all,
                                palette=np.concatenate([p for p, _ in shares[m.name]]),
                                alpha01=np.concatenate([a for _, a in shares[m.name]])),
            frame_case=case_all,
            seconds=seconds[m.name],
            frames=frames[m.name],
        )
        for m in methods
    )
    ceiling = {k: np.concatenate([s[i] for s in truth_shares]) for i, k in enumerate(("palette", "alpha01"))}
    return BenchmarkResult(bset=bset, track=track, methods=results, grid=grid, rgba=rgba,
                           truth_shares={k: float(v[~np.isnan(v)].mean()) for k, v in ceiling.items()})
