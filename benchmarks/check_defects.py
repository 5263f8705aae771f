"""Benchmark the sheet doctor (``motionmap check``): inject known defects into clean held-out sheets, count hits.

Clean sheets are characters the project never trains on: Universal LPC characters wearing a held-out look
(``motionmap.ulpc.sample_ulpc_recipes(held_out="require")``) and LPC characters wearing a held-out layer
(``motionmap.lpc.sample_recipes(held_out="require")``). Each clean sheet is checked as is (every flag is a false
alarm), then again with one defect of each kind (hole, speck, shift, order, colour) injected at a random frame of a
random row, each kind in a different animation. A flag is a hit when its cell is one the defect made wrong and its
kind is the defect's kind. Layer shifts (``--layers``, :func:`layer_shift_benchmark`): ``--layer-sheets`` Universal
LPC characters of the same split, drawn apart from the sheets above, each checked as layer sheets as is, then with
one layer (not the body) moved 1-3 px in one frame where both it and the body are drawn.

    python benchmarks/check_defects.py --ulpc ULPC_TREE --lpc LPC_LAYERS --sheets 30 --layer-sheets 40

Prints precision and recall per kind, false alarms per clean sheet and seconds per sheet.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from motionmap.check.detect import KINDS
from motionmap.check.grid import sheet_grid
from motionmap.check.inject import INJECTORS, inject_shift
from motionmap.check.sheets import check_layers, check_sheet_array
from motionmap.layout import LPC_LAYOUT


# The held-out looks, split in two: the checks are tuned on characters wearing only TUNE_LOOKS and reported on
# characters wearing only REPORT_LOOKS, so a reported number never comes from art the tuning looked at.
TUNE_LOOKS = frozenset({"bedhead", "pixie", "chain", "lpc:hair7"})
REPORT_LOOKS = frozenset({"longhawk", "shoulderl", "tunics", "dark2", "lpc:body5", "lpc:topwear5"})
SPLITS = {"tune": TUNE_LOOKS, "report": REPORT_LOOKS, "all": TUNE_LOOKS | REPORT_LOOKS}


def held_out_looks(recipe) -> set:
    """The held-out looks a Universal LPC or LPC recipe wears (names as in :data:`SPLITS`)."""
    from pathlib import PurePosixPath

    from motionmap.lpc import HELD_OUT_LAYERS, LpcRecipe
    from motionmap.ulpc import HELD_OUT

    if isinstance(recipe, LpcRecipe):
        return {f"lpc:{layer}{option}" for layer, option in recipe.layers() if option in HELD_OUT_LAYERS.get(layer, ())}
    looks = set()
    for slot, names in HELD_OUT.items():
        path = getattr(recipe, slot)
        if path is not None:
            rel = PurePosixPath(path)
            looks |= {n for n in names if n in rel.parts or n == rel.stem}
    return looks


def _draw_split(sample, n: int, seed: int, looks: frozenset) -> list:
    """``n`` held-out recipes from ``sample(k, seed=..., held_out="require")`` that wear only ``looks``."""
    for k in (4 * n, 16 * n, 64 * n):
        chosen = [r for r in sample(k, seed=seed, held_out="require") if held_out_looks(r) <= looks][:n]
        if len(chosen) == n:
            return chosen
    raise SystemExit(f"could not draw {n} characters wearing only {sorted(looks)}; ask for fewer --sheets")


def clean_sheets(ulpc: Path, lpc: Path, n: int, seed: int, split: str = "all"):
    """``n`` held-out characters of ``split``, about two thirds Universal LPC: yields (name, sheet, {layer: sheet})."""
    from motionmap.lpc import LpcLayers, compose_character, sample_recipes
    from motionmap.ulpc import UlpcLayers, compose_ulpc_character, sample_ulpc_recipes

    looks = SPLITS[split]
    n_lpc = n // 3 if lpc else 0
    if ulpc:
        layers = UlpcLayers(ulpc)
        recipes = _draw_split(lambda k, **kw: sample_ulpc_recipes(layers, k, **kw), n - n_lpc, seed, looks)
        for i, r in enumerate(recipes):
            yield f"ulpc{i}", compose_ulpc_character(layers, r), {slot: layers.sheet(rel) for slot, rel in r.layers()}
    if lpc:
        layers = LpcLayers(lpc)
        for i, r in enumerate(_draw_split(lambda k, **kw: sample_recipes(layers, k, **kw), n_lpc, seed, looks)):
            yield f"lpc{i}", compose_character(layers, r), {k: layers.sheet(k, o) for k, o in r.layers()}


def inject_all(sheet: np.ndarray, rng: np.random.Generator):
    """One defect of each kind, each in a different animation. Returns (sheet, {kind: [cells]})."""
    grid = sheet_grid(sheet.copy(), LPC_LAYOUT)
    groups = grid.facing_groups()
    truth = {}
    for kind, g in zip(KINDS, rng.permutation(len(groups))[: len(KINDS)]):
        for _ in range(50):
            r = int(rng.choice(groups[g]))
            n = grid.row_frames(r)
            if n == 0:
                break
            cells = INJECTORS[kind](grid, r, int(rng.integers(n)), rng)
            if cells:
                truth[kind] = cells
                break
    out = grid.cells.transpose(0, 2, 1, 3, 4).reshape(sheet.shape)
    return out, truth


def layer_cases(ulpc: Path, n: int, seed: int, split: str):
    """``n`` held-out Universal LPC characters of ``split`` as their layer sheets: yields (name, {slot: sheet})."""
    from motionmap.ulpc import UlpcLayers, sample_ulpc_recipes

    if not n:
        return
    layers = UlpcLayers(ulpc)
    recipes = _draw_split(lambda k, **kw: sample_ulpc_recipes(layers, k, **kw), n, seed, SPLITS[split])
    for i, r in enumerate(recipes):
        yield f"ulpc{i}", {slot: layers.sheet(rel) for slot, rel in r.layers()}


def inject_layer_shift(layer_sheets: dict, rng: np.random.Generator):
    """Move one layer (not the body) 1-3 px in one frame where both it and the body are drawn.

    Returns (layer sheets with the moved one, its name, [cell])."""
    names = [k for k in layer_sheets if k != "body"]
    which = names[int(rng.integers(len(names)))]
    grid = sheet_grid(layer_sheets[which].copy(), LPC_LAYOUT)
    body = sheet_grid(layer_sheets["body"], LPC_LAYOUT)
    cells = np.argwhere(grid.valid & body.valid)
    for _ in range(50):
        r, f = (int(v) for v in cells[int(rng.integers(len(cells)))])
        moved = inject_shift(grid, r, f, rng)
        if moved:
            out = dict(layer_sheets)
            out[which] = grid.cells.transpose(0, 2, 1, 3, 4).reshape(layer_sheets[which].shape)
            return out, which, moved
    raise SystemExit(f"could not move layer {which} in any frame")


def layer_shift_benchmark(ulpc: Path, n: int, seed: int, split: str, verbose: bool = True) -> dict:
    """Layer shifts, checked with ``--layers`` (:func:`motionmap.check.sheets.check_layers`): ``n`` clean layered
    characters of ``split`` (their own draw and random stream, so the count does not change the other kinds' cases),
    each checked as is (every layer flag is a false alarm), then with one layer moved in one frame."""
    rng = np.random.default_rng([seed, 1])
    out = {"characters": 0, "false_alarms": [], "injected": 0, "hits": 0, "flags": 0, "true_flags": 0, "cases": []}
    for name, layer_sheets in layer_cases(ulpc, n, seed, split):
        clean = [fl for fl in check_layers(layer_sheets) if fl.layer is not None]
        out["characters"] += 1
        out["false_alarms"].append(len(clean))
        for fl in clean:
            if verbose:
                print(f"  layer false alarm {name}: {fl.layer} row {fl.row} frame {fl.frame} {fl.score} "
                      f"{fl.explanation}")
        moved, which, cells = inject_layer_shift(layer_sheets, rng)
        flags = [fl for fl in check_layers(moved) if fl.layer is not None]
        hit = any(fl.layer == which and (fl.row, fl.frame) in cells for fl in flags)
        out["injected"] += 1
        out["hits"] += hit
        out["flags"] += len(flags)
        out["true_flags"] += sum(1 for fl in flags if fl.layer == which and (fl.row, fl.frame) in cells)
        out["cases"].append((name, which, cells, hit))
        if verbose and not hit:
            print(f"  layer missed {name}: {which} at {cells}")
        for fl in flags:
            if verbose and not (fl.layer == which and (fl.row, fl.frame) in cells):
                print(f"  layer wrong flag {name}: {fl.layer} row {fl.row} frame {fl.frame} {fl.score} "
                      f"{fl.explanation}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ulpc", type=Path, required=True, help="a Universal LPC layer tree (body/male, hair/female...)")
    p.add_argument("--lpc", type=Path, required=True, help="an LPC layer folder (body/, hair/...)")
    p.add_argument("--sheets", type=int, default=40)
    p.add_argument("--layer-sheets", type=int, default=20, help="Universal LPC characters for the layer-shift test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=sorted(SPLITS), default="report",
                   help="which held-out looks the clean sheets wear: tune (the checks were tuned on these), report "
                        "(never looked at while tuning; the README's numbers), all")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    hits = defaultdict(int)
    injected = defaultdict(int)
    hits_upright = defaultdict(int)  # outside the hurt row (the last row: a fall, every frame a unique pose)
    injected_upright = defaultdict(int)
    flagged = defaultdict(int)
    true_flags = defaultdict(int)
    false_alarms = []
    seconds = []
    misses = []
    for name, sheet, layer_sheets in clean_sheets(args.ulpc, args.lpc, args.sheets, args.seed, args.split):
        t0 = time.perf_counter()
        clean_flags = check_sheet_array(sheet, LPC_LAYOUT)
        seconds.append(time.perf_counter() - t0)
        false_alarms.append(len(clean_flags))
        for fl in clean_flags:
            print(f"  false alarm {name}: row {fl.row} frame {fl.frame} {fl.kind} {fl.score} {fl.explanation}")
        bad, truth = inject_all(sheet, rng)
        flags = check_sheet_array(bad, LPC_LAYOUT)
        last_row = len(LPC_LAYOUT.rows) - 1
        for kind, cells in truth.items():
            injected[kind] += 1
            upright = cells[0][0] != last_row
            injected_upright[kind] += upright
            if any(fl.kind == kind and (fl.row, fl.frame) in cells for fl in flags):
                hits[kind] += 1
                hits_upright[kind] += upright
            else:
                misses.append((name, kind, cells))
        for fl in flags:
            flagged[fl.kind] += 1
            if (fl.row, fl.frame) in truth.get(fl.kind, []):
                true_flags[fl.kind] += 1
            else:
                print(f"  wrong flag {name}: row {fl.row} frame {fl.frame} {fl.kind} {fl.score} {fl.explanation}")
    for m in misses:
        print("  missed", m)

    layer = layer_shift_benchmark(args.ulpc, args.layer_sheets, args.seed, args.split)

    print(f"\n{len(false_alarms)} clean held-out sheets (Universal LPC and LPC), one defect of each kind injected "
          f"per sheet; seed {args.seed}, {args.split} split\n")
    print("| kind | injected | recall | recall outside the hurt row | flags | precision |")
    print("|---|---|---|---|---|---|")
    for kind in KINDS:
        rec = hits[kind] / max(injected[kind], 1)
        rec_up = hits_upright[kind] / max(injected_upright[kind], 1)
        prec = true_flags[kind] / flagged[kind] if flagged[kind] else float("nan")
        print(f"| {kind} | {injected[kind]} | {rec:.2f} | {rec_up:.2f} ({injected_upright[kind]}) | {flagged[kind]} "
              f"| {prec:.2f} |")
    if layer["injected"]:
        n, lflags = layer["injected"], layer["flags"]
        print(f"| shift (one layer, --layers) | {n} | {layer['hits'] / n:.2f} | | {lflags} | "
              f"{layer['true_flags'] / lflags if lflags else float('nan'):.2f} |")
    if false_alarms:
        print(f"\nfalse alarms per clean sheet: {np.mean(false_alarms):.3f} ({sum(false_alarms)} on "
              f"{len(false_alarms)})")
    if layer["characters"]:
        print(f"layer flags on the clean layered characters: {sum(layer['false_alarms'])} on {layer['characters']} "
              f"({np.mean(layer['false_alarms']):.3f} per character; per character: {layer['false_alarms']})")
    if seconds:
        print(f"seconds per sheet (check only): median {np.median(seconds):.2f}, max {np.max(seconds):.2f}")


if __name__ == "__main__":
    main()
