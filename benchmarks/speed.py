"""Speed of motionmap next to the OpenCV DIS flow warp it beats, in one run, as ratios (a script, not a test).

    python benchmarks/speed.py                          # CPU: retarget, --all sheet, training of the flow config
    python benchmarks/speed.py --only retarget sheet    # a subset
    python benchmarks/speed.py --device cuda            # on a GPU: bf16, channels_last, data on the device
    python benchmarks/speed.py --configs flow lpc paper --only train

Sections (each in its own process, so each peak memory is its own: RSS on CPU, ``max_memory_allocated`` on CUDA):

- ``retarget``: ``Retargeter.retarget`` with the shipped model and its default refinement (and with
  ``--refine-steps 0``) against ``FlowWarpBaseline`` (OpenCV DIS, the benchmark's flow warp) on the same 64x64 LPC
  rows (every animation of one facing: 5 rows, 45 frames), one row per call as a script calls it, and on the whole
  frame (``crop=False``: what the content crop of :mod:`motionmap.crop` buys). The methods run
  interleaved, ``--repeats`` times; the median of each is reported as frames/s and as a ratio to the warp. One more
  row: the same rows onto other targets with ``motion_cache`` on (the source's motion kept from the first call, as
  the preview page does), which measures what re-targeting a seen animation costs; ``--refine-steps N...`` adds a
  row per refinement step count. Last, the cost split: the longest row as a call of 2 frames and of all its frames,
  for both methods, gives what a call costs whatever its length and what each further frame adds.
- ``sheet``: ``retarget --all``: :func:`motionmap.core.retarget_lpc_sheet` of a whole LPC sheet (21 rows, onto
  transparent targets as the command does; the rows of a facing go through the model together) against the warp
  over the same rows (one pass per row: the warp has nothing to share between rows).
- ``train``: frame pairs/s of ``motionmap train fit`` steps of each ``--configs`` (default: the shipped ``flow``),
  through the real ``FramePairDataModule`` and ``Trainer`` (everything but validation and checkpoint writes), on a
  small synthetic set built once under ``--data``; ratio to the 150 pairs/s target on CPU.

Threads: the model and the training use ``--threads``, else ``Retargeter``'s automatic count (the free cores; 1 on a
busy machine, where 2 threads on 2 shared cores train many times slower than 1); OpenCV uses its own default. The table prints what each used
and the 1-minute load average before each section: numbers from a shared machine vary with its load; compare the
ratios, which are measured in the same process on the same frames. Each ratio also comes as a ratio of CPU time (this
process, all its threads; training: pairs per CPU second of the training process): the work each method does, which a
busy machine's load changes far less than the wall time (compare methods that use the same number of threads).
Precision (``--precision``, default ``auto``): what ``motionmap retarget`` and ``motionmap train`` pick, bfloat16
convolutions on a CPU that computes them natively (Intel AMX / AVX512-BF16; :mod:`motionmap.model.precision`), float32
elsewhere; the table says which ran. ``--precision fp32`` measures the float32 path on any machine.
LPC frames come from the LPC layers when found (``$MOTIONMAP_LPC_LAYERS`` or ``../shared/data/lpc``), else the
project's synthetic sprites laid out as LPC sheets (sprite-like frames: about the same cost).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("flow", "flow_adapt", "finetune", "lpc", "synth", "paper", "smoke")
SECTIONS = ("retarget", "sheet", "train")
TRAIN_TARGET = 150.0  # pairs/s on 2 CPU cores (issue 16)


def peak_mib(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


# ------------------------------------------------------------------------------------------------------- frames


def lpc_sheets():
    """Two composed LPC sheets ``uint8 [1344,832,4]`` (source A, target B) and where they came from."""
    import numpy as np

    from motionmap.eval.testsets import default_layers_dir

    layers = Path(os.environ.get("MOTIONMAP_LPC_LAYERS") or default_layers_dir())
    if (layers / "body").is_dir():
        from motionmap.lpc import LpcLayers, compose_character, sample_recipes

        lib = LpcLayers(layers)
        a, b = sample_recipes(lib, 2, seed=0, held_out="allow")
        return compose_character(lib, a), compose_character(lib, b), "LPC"
    from motionmap.layout import LPC_LAYOUT
    from motionmap.synth import render_animation, sample_character

    # The project's synthetic sprites in the LPC layout: sprite-like frames (flat colours on a transparent
    # background) cost what LPC frames cost; random pixels would not (their near-uniform matching probabilities and
    # thousands of colours to palette-lock slow the model down several-fold).
    actions = {"spellcast": "cast", "thrust": "attack", "walk": "walk", "slash": "attack", "shoot": "cast",
               "hurt": "jump"}
    sheets = []
    for seed in (1, 2):
        character = sample_character(seed)
        sheet = np.zeros((LPC_LAYOUT.size[1], LPC_LAYOUT.size[0], 4), np.uint8)
        for i, spec in enumerate(LPC_LAYOUT.rows):
            frames = render_animation(character, actions[spec.name], spec.facing or "down")
            frames = np.resize(frames, (spec.frames,) + frames.shape[1:])  # the row's frame count, cycling
            sheet[i * 64 : (i + 1) * 64, : 64 * spec.frames] = frames.transpose(1, 0, 2, 3).reshape(64, -1, 4)
        sheets.append(sheet)
    return sheets[0], sheets[1], "synthetic (no LPC layers found)"


def facing_rows(sheet, facing: str = "left"):
    """Every animation of one facing as ``uint8 [T,64,64,4]`` rows."""
    from motionmap.layout import LPC_LAYOUT

    rows = []
    for i, spec in enumerate(LPC_LAYOUT.rows):
        if spec.facing == facing:
            row = sheet[i * 64 : (i + 1) * 64, : 64 * spec.frames]
            rows.append(row.reshape(64, spec.frames, 64, 4).transpose(1, 0, 2, 3).copy())
    return rows


# ------------------------------------------------------------------------------------------------------ sections


def interleaved(methods: dict, repeats: int, device: str) -> tuple:
    """Median wall seconds and median CPU seconds (this process, all its threads) of each method over ``repeats``
    rounds, the methods taking turns within a round: ``({name: wall}, {name: cpu})``."""
    for fn in methods.values():  # warm-up
        fn()
    times = {name: [] for name in methods}
    cpu = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            sync(device)
            t, c = time.perf_counter(), time.process_time()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({name: statistics.median(ts) for name, ts in times.items()},
            {name: statistics.median(cs) for name, cs in cpu.items()})


def section_retarget(args) -> dict:
    import cv2
    import numpy as np
    import torch

    from motionmap.eval.baselines import FlowWarpBaseline
    from motionmap.model.refine import RefineConfig
    from motionmap.retarget import Retargeter

    src_sheet, tgt_sheet, what = lpc_sheets()
    sources = facing_rows(src_sheet)
    targets = [np.ascontiguousarray(row[0, ..., :3] * (row[0, ..., 3:] > 0)) for row in facing_rows(tgt_sheet)]
    frames = sum(len(s) for s in sources)
    model = Retargeter.load(args.checkpoint, device=args.device, threads=args.threads, precision=args.precision)
    model_r0 = Retargeter(model.model, args.device, RefineConfig(steps=0), threads=model.threads,
                          precision=args.precision)
    # The preview page's case: the rows again, onto other targets, their motion kept from the first call (the
    # warm-up of interleaved() fills the cache; every timed call then renders, adapts and locks anew).
    model_seen = Retargeter(model.model, args.device, threads=model.threads, precision=args.precision,
                            motion_cache=len(sources))
    others = targets[1:] + targets[:1]
    dis = FlowWarpBaseline()

    def run(r, tgts=targets):
        return lambda: [r.retarget(s, t) for s, t in zip(sources, tgts)]

    # The model on the whole 64x64 frame, without the content crop (motionmap.crop): what the crop buys.
    model_whole = Retargeter(model.model, args.device, threads=model.threads, precision=args.precision, crop=False)
    methods = {"model": run(model), "model_r0": run(model_r0), "model_seen": run(model_seen, others),
               "model_whole": run(model_whole)}
    steps = sorted({k for k in args.refine_steps if k not in (0, model.refine.steps)})
    for k in steps:
        methods[f"model_r{k}"] = run(Retargeter(model.model, args.device, RefineConfig(steps=k), threads=model.threads,
                                                precision=args.precision))
    secs, cpu = interleaved({**methods, "dis": run(dis)}, args.repeats, args.device)
    split = cost_split(model, dis, sources, targets, args)
    return {"section": "retarget", "split": split, "what": f"{len(sources)} {what} rows, {frames} frames of 64x64, one row per call",
            "fps": {k: frames / v for k, v in secs.items()}, "ratio": secs["dis"] / secs["model"],
            "ratio_r0": secs["dis"] / secs["model_r0"], "ratio_seen": secs["dis"] / secs["model_seen"], "cpu_s": cpu,
            "ratio_whole": secs["dis"] / secs["model_whole"],
            "steps": {k: secs["dis"] / secs[f"model_r{k}"] for k in steps}, "cpu_ratio": cpu["dis"] / cpu["model"],
            "cpu_ratio_r0": cpu["dis"] / cpu["model_r0"], "threads": model.threads, "cv2_threads": cv2.getNumThreads(),
            "torch_default_threads": torch.get_num_threads(), "peak_mib": peak_mib(args.device),
            "precision": "bf16" if model.bf16 else "fp32"}


def cost_split(model, dis, sources, targets, args) -> dict:
    """What a call costs whatever its length and what each further frame adds, for the model and the warp: the
    longest row as one call of 2 frames (one to retarget) and of all its frames, taking turns -> ``{"frames": n,
    "model": (ms a call, ms a frame), "dis": (...)}``. Says whether a gap to the warp is per call or per frame."""
    i = max(range(len(sources)), key=lambda k: len(sources[k]))
    row, target = sources[i], targets[i]
    n = len(row)
    secs, _ = interleaved({f"{name}_{k}": (lambda r=r, k=k: r.retarget(row[:k], target))
                           for name, r in (("model", model), ("dis", dis)) for k in (2, n)},
                          args.repeats, args.device)
    out = {"frames": n}
    for name in ("model", "dis"):
        per_frame = (secs[f"{name}_{n}"] - secs[f"{name}_2"]) / (n - 2)
        out[name] = (1000 * (secs[f"{name}_2"] - per_frame), 1000 * per_frame)
    return out


def section_sheet(args) -> dict:
    import cv2
    import numpy as np

    from motionmap.eval.baselines import FlowWarpBaseline
    from motionmap.layout import FACINGS, LPC_LAYOUT
    from motionmap.retarget import Retargeter
    from motionmap.core import retarget_lpc_sheet

    src_sheet, tgt_sheet, what = lpc_sheets()
    walk = {f: LPC_LAYOUT.row_index("walk", f) for f in FACINGS}
    targets = {f: np.ascontiguousarray(tgt_sheet[walk[f] * 64 : walk[f] * 64 + 64, :64]) for f in FACINGS}
    model = Retargeter.load(args.checkpoint, device=args.device, threads=args.threads, precision=args.precision)
    dis = FlowWarpBaseline()
    rows = []  # the warp's work: each row with its facing's walk frame as the reference, one pass, RGB
    for i, spec in enumerate(LPC_LAYOUT.rows):
        facing = spec.facing or "down"
        cells = src_sheet[i * 64 : (i + 1) * 64, : 64 * spec.frames].reshape(64, spec.frames, 64, 4).transpose(1, 0, 2, 3)
        ref = src_sheet[walk[facing] * 64 : walk[facing] * 64 + 64, :64]
        rows.append((np.concatenate([ref[None], cells]), targets[facing][..., :3]))
    frames = sum(len(r[0]) - 1 for r in rows)
    secs, cpu = interleaved({
        "model": lambda: retarget_lpc_sheet(model, src_sheet, targets, progress=False),
        "dis": lambda: [dis.retarget(s, t) for s, t in rows],
    }, max(1, args.repeats // 2), args.device)
    return {"section": "sheet", "what": f"retarget --all of a {what} sheet: {len(rows)} rows, {frames} frames",
            "seconds": secs, "ratio": secs["model"] / secs["dis"], "cpu_s": cpu,
            "cpu_ratio": cpu["model"] / cpu["dis"], "threads": model.threads,
            "cv2_threads": cv2.getNumThreads(), "peak_mib": peak_mib(args.device),
            "precision": "bf16" if model.bf16 else "fp32"}


def load_config(name: str) -> dict:
    """The config's effective settings (with ``base.yaml`` merged in), as ``motionmap train`` would run them."""
    from motionmap.commands.train import effective_config

    return effective_config(str(REPO / "train" / "configs" / f"{name}.yaml"))


def section_train(args, name: str) -> dict:
    import pytorch_lightning as pl
    import torch

    from motionmap.datasets.datamodule import FramePairDataModule
    from motionmap.host_memory import keep_freed_memory
    from motionmap.model.module import MotionMapper, count_parameters
    from motionmap.model.precision import trainer_precision

    keep_freed_memory()  # as `motionmap train` does
    cfg = load_config(name)
    model_cfg = cfg.get("model", {})
    data_cfg = dict(cfg.get("data", {}))
    cuda = args.device == "cuda"
    batch = args.cuda_batch if cuda else int(data_cfg.get("batch_size", 64))
    steps, warmup = args.steps, args.warmup
    dm = FramePairDataModule(
        data_dir=args.data, batch_size=batch, num_workers=int(data_cfg.get("num_workers", 2)), seed=0,
        backgrounds=data_cfg.get("backgrounds", "mixed"), pairs_per_epoch=batch * (steps + warmup + 2), val_pairs=0,
        frames_on_device=cuda, cross_pairs=float(data_cfg.get("cross_pairs", 0.0)),
    )
    pl.seed_everything(0, verbose=False)
    model = MotionMapper(**{k: v for k, v in model_cfg.items() if k in ("net", "loss", "optim", "init_from")})
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats()

    class Timer(pl.Callback):
        t0 = t1 = c0 = c1 = None

        def on_train_batch_start(self, trainer, pl_module, batch_, batch_idx):
            if trainer.global_step == warmup:
                sync(args.device)
                Timer.t0, Timer.c0 = time.perf_counter(), time.process_time()

        def on_train_end(self, trainer, pl_module):
            sync(args.device)
            Timer.t1, Timer.c1 = time.perf_counter(), time.process_time()

    precision = {"bf16": "bf16-mixed", "fp32": "32-true"}.get(args.precision) or (
        "bf16-mixed" if cuda else trainer_precision("cpu", False))  # auto: what `motionmap train` picks
    trainer = pl.Trainer(
        accelerator="cuda" if cuda else "cpu", devices=1, precision=precision,
        max_steps=warmup + steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0, callbacks=[Timer()],
        gradient_clip_val=cfg.get("trainer", {}).get("gradient_clip_val"),
    )
    trainer.fit(model, datamodule=dm)
    pps = steps * batch / (Timer.t1 - Timer.t0)
    return {"section": "train", "config": name, "params": count_parameters(model), "batch": batch,
            "pairs_s": pps, "pairs_cpu_s": steps * batch / (Timer.c1 - Timer.c0), "ratio": pps / TRAIN_TARGET, "threads": torch.get_num_threads(),
            "peak_mib": peak_mib(args.device), "precision": precision}


# ---------------------------------------------------------------------------------------------------------- main


def child(args) -> dict:
    import torch

    if args.section == "train":
        if args.threads is None:
            from motionmap.retarget import auto_threads

            args.threads = auto_threads()
        torch.set_num_threads(args.threads)
    if args.section == "retarget":
        return section_retarget(args)
    if args.section == "sheet":
        return section_sheet(args)
    return section_train(args, args.configs[0])


def print_table(rows: list, device: str) -> None:
    print(f"\n| what | {device} | frames/s or pairs/s | vs DIS flow warp (or target) | peak MiB | threads | load |")
    print("|---|---|---:|---:|---:|---|---:|")
    for r in rows:
        load = f"{r['load']:.1f}"
        if r["section"] == "retarget":
            fps = r["fps"]
            th = f"model {r['threads']} ({r['precision']}), cv2 {r['cv2_threads']}"
            print(f"| retarget, default refinement ({r['what']}) | model | {fps['model']:.0f} | "
                  f"**{r['ratio']:.2f}x** the warp's speed (CPU time: {r['cpu_ratio']:.2f}x) | {r['peak_mib']:.0f} | "
                  f"{th} | {load} |")
            print(f"| retarget, --refine-steps 0 | model | {fps['model_r0']:.0f} | {r['ratio_r0']:.2f}x "
                  f"(CPU time: {r['cpu_ratio_r0']:.2f}x) | | | |")
            if "model_whole" in fps:
                print(f"| retarget, default refinement on the whole frame (`crop=False`) | model | "
                      f"{fps['model_whole']:.0f} | {r['ratio_whole']:.2f}x | | | |")
            for k, ratio in r.get("steps", {}).items():
                print(f"| retarget, --refine-steps {k} | model | {fps[f'model_r{k}']:.0f} | {ratio:.2f}x | | | |")
            if "model_seen" in fps:
                print(f"| retarget, the same rows onto other targets, source motion kept (`motion_cache`, the preview "
                      f"page) | model | {fps['model_seen']:.0f} | {r['ratio_seen']:.2f}x | | | |")
            print(f"| the same rows | DIS flow warp | {fps['dis']:.0f} | 1 | | | |")
            if "split" in r:
                sp = r["split"]
                print(f"| cost of a call and of each frame (the longest row as 2 frames and as all {sp['frames']}) | "
                      f"model {sp['model'][0]:.1f} ms a call + {sp['model'][1]:.2f} ms a frame | | warp "
                      f"{sp['dis'][0]:.1f} ms a call + {sp['dis'][1]:.2f} ms a frame | | | |")
        elif r["section"] == "sheet":
            s = r["seconds"]
            th = f"model {r['threads']} ({r['precision']}), cv2 {r['cv2_threads']}"
            c = r["cpu_s"]
            print(f"| {r['what']} | model {s['model']:.2f} s, warp {s['dis']:.2f} s (CPU {c['model']:.2f} s, "
                  f"{c['dis']:.2f} s) | | **{r['ratio']:.2f}x** the warp's time (CPU time: {r['cpu_ratio']:.2f}x; "
                  f"target < 2x) | {r['peak_mib']:.0f} | {th} | {load} |")
        else:
            target = f"{r['ratio']:.2f}x the {TRAIN_TARGET:.0f} target" if device == "cpu" else ""
            print(f"| train `{r['config']}` ({r['params'] / 1e3:.0f}k params, batch {r['batch']}) | | "
                  f"{r['pairs_s']:.0f} pairs/s ({r['pairs_cpu_s']:.0f} per CPU second) | {target} | "
                  f"{r['peak_mib']:.0f} | {r['threads']} ({r['precision']}) | {load} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    p.add_argument("--configs", nargs="+", default=["flow"], choices=CONFIGS, help="training configs (train)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--checkpoint", default=None, help="model for retarget/sheet (default: the shipped one)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: motionmap.retarget.auto_threads, the free cores)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="model precision (default auto: what retarget and train pick, bf16 on a CPU with native bf16; "
                        "auto trains bf16-mixed on CUDA)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds of retarget/sheet timing")
    p.add_argument("--refine-steps", type=int, nargs="+", default=[], metavar="N",
                   help="retarget: also time these refinement step counts (each its own row; 0 is always timed)")
    p.add_argument("--steps", type=int, default=40, help="timed training steps (after warm-up)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--cuda-batch", type=int, default=1024)
    p.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "motionmap_bench_synth"),
                   help="synthetic dataset folder for training (built on first use)")
    p.add_argument("--json", action="store_true", help="also print one JSON line per section")
    p.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)  # child mode: one section
    args = p.parse_args(argv)
    if args.section:
        print("RESULT " + json.dumps(child(args)))
        return 0

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("motionmap speed: error: --device cuda: no CUDA device here", file=sys.stderr)
            return 2
    if "train" in args.only and not (Path(args.data) / "manifest.json").exists():
        from motionmap.datasets.build import build_synth_dataset
        from motionmap.datasets.dataset import SpriteDataset

        build_synth_dataset(args.data, characters=32, seed=0, progress=False)
        SpriteDataset(args.data).build_frame_cache()
    jobs = [(s, None) for s in args.only if s != "train"]
    jobs += [("train", c) for c in args.configs] if "train" in args.only else []
    rows = []
    for section, config in jobs:
        cmd = [sys.executable, __file__, "--section", section, "--device", args.device, "--repeats", str(args.repeats),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--cuda-batch", str(args.cuda_batch),
               "--data", args.data, "--configs", config or args.configs[0], "--precision", args.precision]
        cmd += ["--checkpoint", args.checkpoint] if args.checkpoint else []
        cmd += ["--threads", str(args.threads)] if args.threads else []
        cmd += ["--refine-steps", *map(str, args.refine_steps)] if args.refine_steps else []
        load = os.getloadavg()[0]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if out.returncode or not line:
            print(f"{section} {config or ''}: failed\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        row = json.loads(line[0][len("RESULT "):])
        row["load"] = load
        rows.append(row)
        if args.json:
            print(json.dumps(row))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# {cores} CPU cores; load = 1-minute load average before the section")
    print_table(rows, args.device)
    return 0 if len(rows) == len(jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
