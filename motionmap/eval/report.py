"""Benchmark reports: the Markdown tables (``results.md``) and every number plus the configuration (``results.json``)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from motionmap import __version__
from motionmap.eval.metrics import LOWER_IS_BETTER, METRIC_LABELS, METRIC_NAMES, PSNR_CAP_DB, SSIM_WINDOW
from motionmap.eval.runner import BenchmarkResult

_FORMATS = {"sse": "{:.1f}", "mse": "{:.5f}", "char_mse": "{:.4f}", "psnr": "{:.2f}", "ssim": "{:.4f}",
            "palette": "{:.1%}", "alpha01": "{:.3%}"}

METRIC_DEFINITIONS = {
    "sse": "sum of squared error per 64x64x3 image, images in [0,1], mean over frames t>=1",
    "mse": "per-pixel mean squared error, images in [0,1], mean over frames t>=1",
    "char_mse": "MSE inside the character region (truth alpha>0 at t, or at t=0), mean over frames t>=1",
    "psnr": f"10*log10(1/MSE) per frame in dB (capped at {PSNR_CAP_DB:g}), mean over frames t>=1",
    "ssim": f"kornia.metrics.ssim, Gaussian window {SSIM_WINDOW} (sigma 1.5), padding 'same', mean over pixels, "
    "channels and frames t>=1",
    "palette": "share of the true character's pixels at t (truth alpha>0) whose exact RGB occurs in b0 as the "
    "methods were shown it (on the track's background), mean over frames t>=1",
    "alpha01": "share of alpha values exactly 0 or 255, methods returning RGBA in an RGBA run (--rgba) only, mean "
    "over frames t>=1",
}


def _fmt(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return _FORMATS[metric].format(value)


def _best(values: Sequence[float], metric: str) -> Optional[float]:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if len(finite) < 2:
        return None
    return min(finite) if LOWER_IS_BETTER[metric] else max(finite)


def _cell(metric: str, value: float, best: Optional[float]) -> str:
    text = _fmt(metric, value)
    return f"**{text}**" if best is not None and _fmt(metric, best) == text else text


def _arrow(metric: str) -> str:
    return "↓" if LOWER_IS_BETTER[metric] else "↑"


def _columns(result: BenchmarkResult) -> Sequence[str]:
    """The metrics a run's tables show: all of them, ``alpha01`` only in RGBA runs."""
    return [k for k in METRIC_NAMES if k != "alpha01" or result.rgba]


def overall_table(result: BenchmarkResult) -> str:
    """Rows = methods, columns = each metric overall; the best value of each column in bold."""
    rows = {m.name: m.overall() for m in result.methods}
    columns = _columns(result)
    header = "| method | " + " | ".join(f"{METRIC_LABELS[k]} {_arrow(k)}" for k in columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    best = {k: _best([r[k] for r in rows.values()], k) for k in columns}
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(k, r[k], best[k]) for k in columns) + " |")
    return "\n".join(lines)


def ceiling_line(result: BenchmarkResult) -> str:
    """The true frames' own palette (and, in RGBA runs, alpha) share: what the columns can reach."""
    shares = result.truth_shares
    text = f"Ceiling, the true frames themselves: palette {_fmt('palette', shares.get('palette', float('nan')))}"
    if result.rgba:
        text += f", alpha 0/255 {_fmt('alpha01', shares.get('alpha01', float('nan')))}"
    return text + "."


def per_action_table(result: BenchmarkResult, metric: str = "sse") -> str:
    """Rows = methods, columns = actions (and ``all``), cells = ``metric``'s mean over that action's frames."""
    actions = list(result.actions)
    per = {m.name: result.per_action(m) for m in result.methods}
    overall = {m.name: m.overall() for m in result.methods}
    lines = ["| method | " + " | ".join(actions) + " | all |", "|---|" + "---:|" * (len(actions) + 1)]
    best = {a: _best([per[n][a][metric] for n in per], metric) for a in actions}
    best_all = _best([overall[n][metric] for n in overall], metric)
    for name in per:
        cells = [_cell(metric, per[name][a][metric], best[a]) for a in actions]
        cells.append(_cell(metric, overall[name][metric], best_all))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_group_table(result: BenchmarkResult, metrics: Sequence[str] = ("sse", "ssim")) -> str:
    """Rows = methods, columns = the set's case groups (``ulpc``: body-type pairs), cells = ``sse / ssim``."""
    per = {m.name: result.per_group(m) for m in result.methods}
    groups = list(next(iter(per.values()), {}))
    lines = ["| method | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    best = {(g, k): _best([per[n][g][k] for n in per], k) for g in groups for k in metrics}
    for name in per:
        cells = [" / ".join(_cell(k, per[name][g][k], best[(g, k)]) for k in metrics) for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(result: BenchmarkResult, command: Optional[str] = None, refine_steps: Optional[int] = None,
                    palette: Optional[str] = None, appear: Optional[str] = None,
                    precision: Optional[str] = None, threads: Optional[int] = None) -> str:
    """The whole ``results.md``: a heading, the overall table, per-action tables of SSE/img and SSIM, the set.

    ``refine_steps``, ``palette``, ``appear``, ``precision``, ``threads``: the checkpoints' test-time flow
    refinement, palette lock, appearing pixels, numeric precision and CPU threads, stated under the tables (None: not
    mentioned)."""
    bset = result.bset
    n_frames = len(result.methods[0].scores) if result.methods else 0
    pairs = len({c.pair for c in bset.cases})
    width, height = bset.frame_size
    lines = [
        f"## motionmap eval: set `{bset.spec.set}`, track `{result.track}`, {width}x{height} frames",
        "",
        f"{len(bset.cases)} cases from {pairs} character pairs, {n_frames} scored frames (t >= 1). "
        "SSE/img: sum of squared error per 64x64x3 image on [0,1]; char-MSE: MSE inside the character region; "
        "palette: share of the true character's pixels drawn in a colour of b0"
        + ("; alpha 0/255: share of hard alpha values (RGBA run: checkpoints got transparent inputs)"
           if result.rgba else "")
        + "; ↓ lower is better, ↑ higher is better; best in bold.",
        "",
        overall_table(result),
        "",
        ceiling_line(result),
        "",
        "### SSE/img per action",
        "",
        per_action_table(result, "sse"),
        "",
        "### SSIM per action",
        "",
        per_action_table(result, "ssim"),
        "",
    ]
    if bset.case_groups():
        lines += ["### SSE/img / SSIM per body-type pair (source->target)", "", per_group_table(result), ""]
    if refine_steps is not None:
        lines += [f"Checkpoints ran with {refine_steps} steps of test-time flow refinement (flow models only; "
                  "`--refine-steps`).", ""]
    if palette is not None:
        lines += [f"Checkpoints ran with palette lock `{palette}` (`--palette`).", ""]
    if appear is not None:
        lines += [f"Checkpoints ran with appearing pixels `{appear}` (`--appear`).", ""]
    if precision is not None:
        lines += [f"Checkpoints ran with precision `{precision}` (`--precision`; `auto` is bf16 on a CPU with native "
                  "bf16, float32 elsewhere).", ""]
    if threads is not None:
        lines += [f"Checkpoints ran with {threads} CPU thread{'s' if threads != 1 else ''} (`--threads`; scores can "
                  "differ in the last digits between thread counts).", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    return "\n".join(lines)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def machine_info() -> Dict[str, Any]:
    """Where the numbers were measured: host, OS, CPU count, Python, torch (threads, CUDA), OpenCV."""
    info: Dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover
        pass
    try:
        import cv2

        info["opencv"] = cv2.__version__
    except ImportError:
        info["opencv"] = None
    return info


def json_report(
    result: BenchmarkResult,
    config_extra: Optional[Dict[str, Any]] = None,
    notes: Sequence[str] = (),
) -> Dict[str, Any]:
    """Every number and the exact configuration, as a JSON-able dict (``results.json``)."""
    bset = result.bset
    config = {
        "set": bset.spec.set,
        "track": result.track,
        "cases": len(bset.cases),
        "frame_size": list(bset.frame_size),
        "pairs": len({c.pair for c in bset.cases}),
        "spec": bset.spec.to_json(),
        "held_out": bset.held_out(),
        "testset_key": bset.key,
        "methods": [{"name": m.name, "kind": m.kind, "path": m.path} for m in result.methods],
        "checkpoints": [m.path for m in result.methods if m.kind == "checkpoint"],
        "motionmap_version": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    config.update(config_extra or {})
    per_case: Dict[str, Dict[str, List[float]]] = {}
    for m in result.methods:
        per_case[m.name] = {k: [] for k in METRIC_NAMES}
        for c in bset.cases:
            s = m.by_case_set([c.index])
            for k in METRIC_NAMES:
                per_case[m.name][k].append(s[k])
    report = {
        "config": config,
        "notes": list(notes),
        "metric_definitions": METRIC_DEFINITIONS,
        "overall": {m.name: m.overall() for m in result.methods},
        "truth_shares": dict(result.truth_shares),
        "per_action": {m.name: result.per_action(m) for m in result.methods},
        "per_group": {m.name: result.per_group(m) for m in result.methods},
        "timing": {
            m.name: {
                "seconds": m.seconds,
                "frames": m.frames,
                "frames_per_s": (m.frames / m.seconds) if m.seconds > 0 else None,
            }
            for m in result.methods
        },
        "cases": [
            {"index": c.index, "pair": c.pair, "row": c.row, "action": c.action, "facing": c.facing, "frames": c.frames}
            for c in bset.cases
        ],
        "per_case": per_case,
        "pairs": list(bset.pairs),
    }
    return _clean(report)


def dumps(report: Dict[str, Any]) -> str:
    return json.dumps(report, indent=2, allow_nan=False) + "\n"
