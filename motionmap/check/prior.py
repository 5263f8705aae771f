"""What the LPC layout's own animation does, measured once on training characters: the sheet doctor's prior.

LPC sheets share one body template, so some of their frames *naturally* look like defects to a detector that only
sees one sheet: the slash lunge moves the whole body 1-2 px, the shoot row starts with a jump in pose, the hurt row
falls. This module measures, per cell of :data:`motionmap.layout.LPC_LAYOUT`, what clean sheets do there:

- ``shift``: the displacements (dy, dx) that whole frames show against their neighbours in at least
  :data:`MIN_SHARE` of the clean sheets (so a frame moved that way is the animation, not a mistake);
- ``swap``: the largest swap evidence seen on clean sheets (the order check needs more than that);
- ``layer_shift``: the offsets of a layer against its body (:func:`motionmap.check.layers.frame_offsets`) that
  clean layer sheets show at each cell (measured on the layers of ``--layer-characters`` training characters);

It is measured on characters the benchmark never uses (``held_out="exclude"``: training looks), composed and as
single layers, and shipped as ``motionmap/assets/lpc_check_prior.json``. Regenerate with::

    python -m motionmap.check.prior --ulpc ULPC_TREE --lpc LPC_LAYERS --characters 40
    python -m motionmap.check.prior --ulpc ULPC_TREE --lpc LPC_LAYERS --characters 40 --layer-shifts-only
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import numpy as np

from motionmap.check.grid import SheetGrid, sheet_grid
from motionmap.io.images import read_image, write_png
from motionmap.layout import LPC_LAYOUT
from motionmap.lpc import LpcLayers, compose_character, sample_recipes
from motionmap.ulpc import UlpcLayers, compose_ulpc_character, sample_ulpc_recipes

PRIOR_PATH = Path(__file__).resolve().parents[1] / "assets" / "lpc_check_prior.json"
TEMPLATE_PATH = PRIOR_PATH.with_name("lpc_check_template.png")

MIN_SHARE = 0.02
MIN_EVIDENCE = 0.2
SPOT_MIN = 2  # a hole or colour outlier is the art's own when at least this many clean sheets have it there
LAYER_SHIFT_MIN = 1  # a layer offset is the art's own at a cell when this many clean layer sheets show it there


def measure_template(grids: Iterable[SheetGrid]) -> np.ndarray:
    """``float32 [R,C,h,w] in [0,1]``: how often each pixel of each cell is opaque over the character sheets."""
    total, n = None, 0
    for grid in grids:
        a = grid.alpha.astype(np.float32)
        total = a if total is None else total + a
        n += 1
    return total / max(n, 1)


def measure_prior(grids: Iterable[SheetGrid], characters: Iterable[SheetGrid] = ()) -> dict:
    """The prior (see the module docstring) of clean LPC sheets ``grids`` (layers and characters) and of the
    composed ``characters`` among them (for the order margins against :func:`lpc_template`)."""
    from motionmap.check.detect import (
        lonely_colours, order_evidence, shift_evidence, small_enclosed_regions, template_misplacement,
    )

    order: Dict[str, float] = defaultdict(float)
    template = lpc_template()
    if template is not None:
        for grid in characters:
            mis, _ = template_misplacement(grid, template)
            for r, f in zip(*np.nonzero(mis > 0)):
                order[f"{r},{f}"] = max(order[f"{r},{f}"], round(float(mis[r, f]), 4))
    shifts: Dict[str, Dict[Tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
    swap: Dict[str, float] = defaultdict(float)
    n = 0
    spots: Dict[str, Dict[str, Dict[Tuple[int, int], int]]] = {
        kind: defaultdict(lambda: defaultdict(int)) for kind in ("hole", "colour")}
    for grid in grids:
        n += 1
        keys = grid.keys()
        found = [("hole", r, f, region) for r, f, region in small_enclosed_regions(grid)]
        n_cols = grid.valid.shape[1]
        found += [("colour", cid // n_cols, cid % n_cols, region)
                  for cid, (region, _) in lonely_colours(grid)[0].items()]
        for kind, r, f, region in found:
            for y, x in zip(*(v.tolist() for v in np.nonzero(region))):
                spots[kind][f"{r},{f}"][(y, x)] += 1
        evidence, best = shift_evidence(grid, keys)
        for r, f in zip(*np.nonzero(evidence > MIN_EVIDENCE)):
            shifts[f"{r},{f}"][tuple(int(v) for v in best[r, f])] += 1
        _, sw = order_evidence(grid, keys)
        for r, f in zip(*np.nonzero(sw > 0)):
            swap[f"{r},{f}"] = max(swap[f"{r},{f}"], round(float(sw[r, f]), 4))
    allowed = {cell: sorted([list(d) for d, c in counts.items() if c >= MIN_SHARE * n])
               for cell, counts in shifts.items()}
    return {"sheets": n, "shift": {k: v for k, v in sorted(allowed.items()) if v}, "swap": dict(sorted(swap.items())),
            "order": dict(sorted(order.items())),
            "spots": {kind: {cell: sorted([y, x, c] for (y, x), c in px.items() if c >= SPOT_MIN)
                             for cell, px in sorted(by_cell.items()) if max(px.values()) >= SPOT_MIN}
                      for kind, by_cell in spots.items()}}


def measure_layer_prior(pairs: Iterable[Tuple[str, SheetGrid, SheetGrid]]) -> Dict[str, List[List[int]]]:
    """``{"r,f": [[dy, dx], ...]}``: the layer offsets (:func:`motionmap.check.layers.frame_offsets`) that at least
    :data:`LAYER_SHIFT_MIN` distinct clean layer sheets show at each cell, from ``(layer name, body, layer)``
    triples. Universal LPC layers are drawn on one body template per body type, and where a layer sheet was drawn
    on a slightly different pose than the body's (a cap one pixel higher in a rest frame, eyes that skip the walk's
    bob), every character wearing it shows the same offset: the prior keeps the checks from reporting that again
    and again on art the project ships with."""
    from motionmap.check.layers import frame_offsets, same_pose_frames

    seen: Dict[str, set] = defaultdict(set)
    last = None  # (body, its same_pose_frames): pairs come grouped by body
    for name, body, layer in pairs:
        if last is None or last[0] is not body:
            last = (body, same_pose_frames(body))
        for (r, f), (move, _, _) in frame_offsets(body, layer, last[1]).items():
            seen[f"{r},{f}"].add((move, name))
    out = {}
    for cell, found in sorted(seen.items()):
        counts: Dict[Tuple[int, int], int] = defaultdict(int)
        for move, _ in found:
            counts[move] += 1
        moves = sorted([list(m) for m, c in counts.items() if c >= LAYER_SHIFT_MIN])
        if moves:
            out[cell] = moves
    return out


@lru_cache(maxsize=1)
def lpc_prior() -> dict:
    """The shipped prior; empty tables when the file is missing (then every frame is judged on its own)."""
    if not PRIOR_PATH.is_file():
        return {"sheets": 0, "shift": {}, "swap": {}}
    return json.loads(PRIOR_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def lpc_template():
    """``float32 [21,13,64,64] in [0,1]``: the shipped LPC silhouette template, or None when missing."""
    if not TEMPLATE_PATH.is_file():
        return None
    image = read_image(TEMPLATE_PATH)[..., 0].astype(np.float32) / 255.0  # (1344, 832)
    return np.ascontiguousarray(image.reshape(21, 64, 13, 64).transpose(0, 2, 1, 3))


def natural_misplacement(grid: SheetGrid, r: int, f: int) -> float:
    """The largest template misplacement clean LPC characters show at cell ``(r, f)``."""
    return float(lpc_prior().get("order", {}).get(f"{r},{f}", 0.0))


def natural_spot(grid: SheetGrid, kind: str, r: int, f: int, pixels: np.ndarray) -> bool:
    """True when clean LPC sheets show a ``kind`` ("hole" or "colour") outlier at ``pixels`` (``bool [h,w]``) of cell
    ``(r, f)``: a drawn gap (at least half of the region) or a one-frame colour (any pixel, or 1 px off) of the LPC
    art itself."""
    if grid.layout != LPC_LAYOUT:
        return False
    known = lpc_prior().get("spots", {}).get(kind, {}).get(f"{r},{f}")
    if not known:
        return False
    ys, xs = np.nonzero(pixels)
    k = np.array(known)
    reach = 1 if kind == "colour" else 0
    near = (np.maximum(np.abs(k[:, None, 0] - ys[None]), np.abs(k[:, None, 1] - xs[None])) <= reach).any(axis=0)
    # A colour spot touching a known one is the art's; a hole is when at least half of it is a known gap.
    return bool(near.any()) if kind == "colour" else bool(near.mean() >= 0.5)


def natural_shifts(grid: SheetGrid, r: int, f: int) -> List[Tuple[int, int]]:
    """Displacements that clean LPC sheets show at cell ``(r, f)`` (none for other layouts)."""
    if grid.layout != LPC_LAYOUT:
        return []
    return [tuple(d) for d in lpc_prior()["shift"].get(f"{r},{f}", [])]


def natural_layer_shifts(grid: SheetGrid, r: int, f: int) -> List[Tuple[int, int]]:
    """Moves (dy, dx) that put a layer frame back on the body that clean LPC layers show at cell ``(r, f)`` (the
    art's own, see :func:`measure_layer_prior`; none for other layouts)."""
    if grid.layout != LPC_LAYOUT:
        return []
    return [tuple(d) for d in lpc_prior().get("layer_shift", {}).get(f"{r},{f}", [])]


def natural_swap(grid: SheetGrid, r: int, f: int) -> float:
    """The largest swap evidence clean LPC sheets show at cell ``(r, f)`` (0 for other layouts)."""
    if grid.layout != LPC_LAYOUT:
        return 0.0
    return float(lpc_prior()["swap"].get(f"{r},{f}", 0.0))


def _training_grids(ulpc: Path, lpc: Path, characters: int, seed: int, layers_too: bool = True):
    seen = set()
    if ulpc:
        layers = UlpcLayers(ulpc)
        for r in sample_ulpc_recipes(layers, characters, seed=seed, held_out="exclude"):
            yield sheet_grid(compose_ulpc_character(layers, r), LPC_LAYOUT)
            for _, rel in (r.layers() if layers_too else []):
                if rel not in seen:
                    seen.add(rel)
                    yield sheet_grid(layers.sheet(rel), LPC_LAYOUT)
    if lpc:
        layers = LpcLayers(lpc)
        for r in sample_recipes(layers, max(2, characters // 3), seed=seed, held_out="exclude"):
            yield sheet_grid(compose_character(layers, r), LPC_LAYOUT)
            for layer, option in (r.layers() if layers_too else []):
                if (layer, option) not in seen:
                    seen.add((layer, option))
                    yield sheet_grid(layers.sheet(layer, option), LPC_LAYOUT)


def _training_layer_pairs(ulpc: Path, lpc: Path, characters: int, seed: int):
    """``(layer name, body grid, layer grid)`` of the training characters' layers, each (body, layer) pair once."""
    seen = set()
    if ulpc:
        layers = UlpcLayers(ulpc)
        for r in sample_ulpc_recipes(layers, characters, seed=seed, held_out="exclude"):
            body = sheet_grid(layers.sheet(r.body), LPC_LAYOUT)
            for slot, rel in r.layers():
                if slot != "body" and (r.body, rel) not in seen:
                    seen.add((r.body, rel))
                    yield rel, body, sheet_grid(layers.sheet(rel), LPC_LAYOUT)
    if lpc:
        layers = LpcLayers(lpc)
        for r in sample_recipes(layers, max(2, characters // 3), seed=seed, held_out="exclude"):
            (_, body_option), *rest = r.layers()
            body = sheet_grid(layers.sheet("body", body_option), LPC_LAYOUT)
            for layer, option in rest:
                if (body_option, layer, option) not in seen:
                    seen.add((body_option, layer, option))
                    yield f"lpc:{layer}{option}", body, sheet_grid(layers.sheet(layer, option), LPC_LAYOUT)


def main() -> None:
    p = argparse.ArgumentParser(description="Measure the sheet doctor's LPC prior on training characters.")
    p.add_argument("--ulpc", type=Path, required=True)
    p.add_argument("--lpc", type=Path, required=True)
    p.add_argument("--characters", type=int, default=30)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--out", type=Path, default=PRIOR_PATH)
    p.add_argument("--layer-characters", type=int, default=120,
                   help="training characters whose layers give the layer offsets (more than --characters: every "
                        "layer sheet a character may wear should be seen)")
    p.add_argument("--layer-shifts-only", action="store_true",
                   help="measure only the layer offsets and update that table of the existing prior file")
    args = p.parse_args()
    if args.layer_shifts_only:
        prior = json.loads(args.out.read_text(encoding="utf-8"))
        prior["layer_shift"] = measure_layer_prior(_training_layer_pairs(args.ulpc, args.lpc, args.layer_characters,
                                                                         args.seed))
        args.out.write_text(json.dumps(prior) + "\n", encoding="utf-8")
        print(f"wrote {args.out}: {len(prior['layer_shift'])} cells with natural layer offsets")
        return
    template = measure_template(_training_grids(args.ulpc, args.lpc, args.characters, args.seed, layers_too=False))
    image = (template.transpose(0, 2, 1, 3).reshape(21 * 64, 13 * 64) * 255).round().astype(np.uint8)
    write_png(TEMPLATE_PATH, np.repeat(image[..., None], 3, axis=2), overwrite=True)
    lpc_template.cache_clear()
    prior = measure_prior(_training_grids(args.ulpc, args.lpc, args.characters, args.seed),
                          _training_grids(args.ulpc, args.lpc, args.characters, args.seed + 1, layers_too=False))
    prior["layer_shift"] = measure_layer_prior(_training_layer_pairs(args.ulpc, args.lpc, args.layer_characters,
                                                                     args.seed))
    args.out.write_text(json.dumps(prior) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {prior['sheets']} sheets, {len(prior['shift'])} cells with natural shifts")


if __name__ == "__main__":
    main()
