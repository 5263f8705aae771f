"""The whole benchmark as one call: test set, baselines and checkpoints, scores, and the files of ``--out``.

>>> out = evaluate(EvalConfig(set="lpc", track="plain"))           # doctest: +SKIP
>>> write_outputs("runs/eval_plain", out)                          # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from motionmap.appear import check_appear
from motionmap.core import is_device, load_retargeter, resolve_device
from motionmap.errors import MotionmapError
from motionmap.eval.baselines import FlowWarpBaseline, IdentityBaseline, PixelAnalogyBaseline, flow_available
from motionmap.eval.grid import pick_grid_cases, render_grid
from motionmap.eval.report import dumps, json_report, markdown_report
from motionmap.eval.runner import BenchmarkResult, Method, run_benchmark
from motionmap.eval.testsets import (
    SETS,
    benchmark_set_for,
    check_track,
    LAYERED_SETS,
    default_cache_dir,
    default_layers_for,
    is_dataset_dir,
)
from motionmap.io import write_png
from motionmap.io.atomic import atomic_dir
from motionmap.model.precision import check_precision
from motionmap.palette import DEFAULT_PALETTE, PALETTE_MODES, check_palette
from motionmap.retarget import check_threads

BASELINES = ("identity", "analogy", "flow")

MIN_SIZE, MAX_SIZE = 8, 256
"""Frame sides ``--size`` accepts (the sizes motionmap supports)."""


@dataclass(frozen=True)
class EvalConfig:
    """One benchmark run.

    ``set``: ``lpc`` | ``synth`` | a dataset folder (its validation characters); ``track``: ``plain`` | ``scene``; ``cases``: the first N cases of the set
    (``ceil(N/21)`` LPC pairs), None for the default 10 pairs (210 LPC cases, 200 synthetic); ``layers``: LPC layer folder (default :func:`default_layers_dir`); ``checkpoints``:
    models to score through :class:`motionmap.Retargeter`; ``cache``: test-set cache folder (None: no cache);
    ``seed``: the test-set seed (0 is the published set); ``device``: ``cpu``, ``cuda`` or ``auto`` for the
    checkpoints; ``refine_steps``: test-time flow refinement of flow checkpoints (None: the default, 30; 0: off);
    ``baselines``: which of :data:`BASELINES` to run; ``grid_cases``: cases shown in the PNG grid;
    ``size``: ``(width, height)`` to resample every case to (nearest neighbour), None keeps the set's frame size;
    ``scale``: the checkpoints' pixel-scale mode (``auto`` or ``native``, :mod:`motionmap.scale`); ``palette``:
    the checkpoints' palette lock (:mod:`motionmap.palette`: ``target``, the default output, or ``off``);
    ``rgba``: an RGBA run (plain track only: checkpoints get the transparent inputs and are scored over black; see
    :mod:`motionmap.eval.runner`); ``precision``: the checkpoints' numeric precision (``auto``, ``bf16`` or
    ``fp32``, :mod:`motionmap.model.precision`); ``appear``: the checkpoints' appearing-pixel colours (``source``
    or ``off``, :mod:`motionmap.appear`); ``threads``: the checkpoints' CPU threads (None: the free cores when the
    run starts, :func:`motionmap.retarget.auto_threads`; scores can differ in the last digits between thread counts,
    so runs that are compared should fix it).
    """

    set: str = "lpc"
    track: str = "plain"
    cases: Optional[int] = None
    layers: Optional[Path] = None
    checkpoints: Tuple[Path, ...] = ()
    cache: Optional[Path] = field(default_factory=default_cache_dir)
    seed: int = 0
    device: str = "auto"
    refine_steps: Optional[int] = None
    baselines: Tuple[str, ...] = BASELINES
    grid_cases: int = 4
    progress: bool = True
    size: Optional[Tuple[int, int]] = None
    scale: str = "auto"
    palette: str = DEFAULT_PALETTE
    rgba: bool = False
    precision: str = "auto"
    appear: str = "source"
    threads: Optional[int] = None

    def __post_init__(self):
        if self.set not in SETS and not is_dataset_dir(self.set):
            raise MotionmapError(f"--set {self.set!r}: unknown test set; choose one of {', '.join(SETS)} "
                                 "or a dataset folder")
        check_track(self.track)
        if self.cases is not None and (isinstance(self.cases, bool) or not isinstance(self.cases, int) or self.cases < 1):
            raise MotionmapError(f"--cases {self.cases!r}: need a positive integer")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise MotionmapError(f"baselines {unknown}: unknown; choose from {', '.join(BASELINES)}")
        if self.refine_steps is not None and (not isinstance(self.refine_steps, int) or self.refine_steps < 0):
            raise MotionmapError(f"--refine-steps {self.refine_steps}: need an integer >= 0 (0 turns refinement off)")
        if self.size is not None:
            w, h = self.size
            if not (MIN_SIZE <= w <= MAX_SIZE and MIN_SIZE <= h <= MAX_SIZE):
                raise MotionmapError(f"--size {w}x{h}: frame sides must be {MIN_SIZE} to {MAX_SIZE} px")
        if not is_device(self.device):
            raise MotionmapError(f"--device {self.device!r}: unknown; choose auto, cpu or cuda")
        check_threads(self.threads, flag=True)
        if not isinstance(self.palette, str):
            raise MotionmapError(f"--palette {self.palette!r}: choose one of {', '.join(PALETTE_MODES)}")
        check_palette(self.palette)
        check_precision(self.precision)
        check_appear(self.appear)
        if self.rgba and self.track != "plain":
            raise MotionmapError(f"--rgba: RGBA runs use the plain track (transparent sprites over black), not "
                                 f"{self.track!r}; drop --rgba or use --track plain")

    @property
    def layers_dir(self) -> Optional[Path]:
        """The layer folder of a layered set (``lpc``, ``ulpc``); None for ``synth``."""
        if self.set not in LAYERED_SETS:
            return None
        return Path(self.layers) if self.layers is not None else default_layers_for(self.set)


@dataclass(frozen=True)
class EvalOutput:
    """A finished run: its config, the scores, and notes printed along the way (e.g. a skipped baseline)."""

    config: EvalConfig
    result: BenchmarkResult
    notes: Tuple[str, ...] = ()
    seconds: float = 0.0
    threads: Optional[int] = None  # the checkpoints' CPU threads (None without checkpoints)


def baseline_methods(names: Sequence[str] = BASELINES) -> Tuple[List[Method], List[str]]:
    """The requested baselines as :class:`Method` s, and notes for those skipped (flow without OpenCV)."""
    methods, notes = [], []
    for name in names:
        if name == "identity":
            methods.append(Method("identity", IdentityBaseline()))
        elif name == "analogy":
            methods.append(Method("analogy", PixelAnalogyBaseline()))
        elif name == "flow":
            if flow_available():
                methods.append(Method("flow", FlowWarpBaseline()))
            else:
                notes.append("flow baseline skipped: OpenCV is not installed (pip install 'motionmap[flow]')")
    return methods, notes


def _method_names(paths: Sequence[Path]) -> List[str]:
    """Report names for checkpoints: the file stem, ``folder/stem`` where stems collide (``runA/last``,
    ``runB/last``), then ``#2``, ``#3`` for anything still repeated or equal to a baseline's name."""
    stems = [p.stem or p.name for p in paths]
    names: List[str] = []
    for p, stem in zip(paths, stems):
        name = f"{p.parent.name}/{stem}" if (stems.count(stem) > 1 or stem in BASELINES) and p.parent.name else stem
        base, k = name, 2
        while name in names or name in BASELINES:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names


def load_checkpoint_methods(paths: Sequence[Path], device: str = "auto",
                            refine_steps: Optional[int] = None, scale: str = "auto",
                            palette: str = DEFAULT_PALETTE, precision: str = "auto",
                            appear: str = "source", threads: Optional[int] = None) -> List[Method]:
    """Each checkpoint through :func:`motionmap.core.load_retargeter` (``device``, ``refine_steps``, ``scale``),
    run with ``retarget(..., palette=palette)``; any failure is a one-line :class:`MotionmapError`. ``refine_steps``,
    ``scale``, ``palette``, ``precision``, ``appear``, ``threads``: see :class:`EvalConfig`."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise MotionmapError(f"{p}: checkpoint not found; pass the path of a checkpoint written by motionmap train")
        if not os.access(p, os.R_OK):
            raise MotionmapError(f"{p}: checkpoint is not readable (permissions); fix its permissions or copy it")
    if not paths:
        return []
    try:
        import motionmap.model.refine  # noqa: F401 - the model code (torch) is importable
    except ImportError as e:
        raise MotionmapError(f"--checkpoint: the model code is not available ({e}); reinstall motionmap") from None
    dev = resolve_device(device)
    methods = []
    for p, name in zip(paths, _method_names(paths)):
        try:
            retargeter = load_retargeter(str(p), device=dev, refine_steps=refine_steps, scale=scale,
                                          threads=threads, precision=precision, appear=appear)
        except MotionmapError:
            raise
        except Exception as e:  # noqa: BLE001 - a bad checkpoint must not end in a traceback
            detail = " ".join(str(e).split())[:200]
            raise MotionmapError(
                f"{p}: cannot load the checkpoint ({type(e).__name__}: {detail}); "
                "pass a checkpoint written by motionmap train"
            ) from None
        methods.append(Method(name, retargeter, kind="checkpoint", path=str(p.resolve()), options={"palette": palette}))
    return methods


def evaluate(config: EvalConfig) -> EvalOutput:
    """Run the benchmark of ``config``: checkpoints load first (fail fast), then the test set, then every method."""
    start = time.perf_counter()
    models = load_checkpoint_methods(config.checkpoints, config.device, config.refine_steps, config.scale,
                                     config.palette, config.precision, config.appear, config.threads)
    methods, notes = baseline_methods(config.baselines)
    for note in notes:
        print(f"motionmap: note: {note}", file=sys.stderr)
    bset = benchmark_set_for(
        config.set,
        config.cases,
        layers=config.layers_dir,
        seed=config.seed,
        cache_dir=config.cache,
    )
    if config.size is not None and tuple(config.size) != bset.frame_size:
        bset = bset.resized(*config.size)
    grid = pick_grid_cases(bset, config.grid_cases) if config.grid_cases > 0 else ()
    result = run_benchmark(bset, config.track, methods + models, grid_cases=grid, progress=config.progress,
                           rgba=config.rgba)
    threads = models[0].retargeter.threads if models else None
    return EvalOutput(config=config, result=result, notes=tuple(notes), seconds=time.perf_counter() - start,
                      threads=threads)


def _refine_steps_used(config: EvalConfig) -> Optional[int]:
    """The flow refinement the checkpoints ran with (None without checkpoints)."""
    if not config.checkpoints:
        return None
    from motionmap.model.refine import RefineConfig

    return RefineConfig().steps if config.refine_steps is None else int(config.refine_steps)


def write_outputs(
    out: Path, output: EvalOutput, overwrite: bool = False, command: Optional[str] = None
) -> Tuple[Path, ...]:
    """Write ``results.md``, ``results.json`` and ``grid_<track>.png`` into the folder ``out`` (atomically)."""
    result, config = output.result, output.config
    extra = {
        "cache": str(config.cache) if config.cache is not None else None,
        "device": resolve_device(config.device) if config.checkpoints else None,
        "refine_steps": _refine_steps_used(config),
        "scale": config.scale,
        "palette": config.palette if config.checkpoints else None,
        "precision": config.precision if config.checkpoints else None,
        "appear": config.appear if config.checkpoints else None,
        "threads": output.threads,
        "rgba": config.rgba,
        "grid_cases": sorted(result.grid),
        "command": command,
        "wall_seconds": round(output.seconds, 2),
    }
    names = ("results.md", "results.json", f"grid_{result.track}.png")
    with atomic_dir(out, overwrite=overwrite) as tmp:
        tmp = Path(tmp)
        report = markdown_report(result, command, extra["refine_steps"], extra["palette"], extra["appear"],
                                 extra["precision"], extra["threads"])
        (tmp / names[0]).write_text(report, encoding="utf-8")
        (tmp / names[1]).write_text(dumps(json_report(result, extra, output.notes)), encoding="utf-8")
        write_png(tmp / names[2], render_grid(result))
    return tuple(Path(out) / n for n in names)
