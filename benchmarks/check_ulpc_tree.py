"""Run the sheet doctor over every sheet of a Universal LPC tree, each layer as worn: over a plain body of its type.

A single layer sheet (a hair style, a shirt) is not a character, and the checks that assume one (a whole silhouette
for shifts and order, one body for specks) are noisy on it. So each layer is checked as worn over the light body of
its body type (``female`` in its path, else ``male``): :func:`motionmap.check.sheets.check_worn`. Body sheets are
checked as they are.

    python benchmarks/check_ulpc_tree.py --ulpc ULPC_TREE --json ulpc_findings.json [--jobs 2]

Prints a table of flags per top folder and kind, and writes every flag (sheet path relative to the tree's parent,
row, frame, animation, facing, kind, score, explanation) to ``--json``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path
from typing import List

from motionmap.check.detect import KINDS
from motionmap.check.sheets import check_sheet_array, check_worn
from motionmap.layout import LPC_LAYOUT
from motionmap.lpc import load_layer_sheet


def body_of(rel: str) -> str:
    """The body sheet a layer sheet is worn over: ``body/<type>/light.png``."""
    kind = "female" if "female" in rel.split("/") or "female" in Path(rel).stem.split("_") else "male"
    return f"body/{kind}/light.png"


@lru_cache(maxsize=4)
def _body(path: Path):
    return load_layer_sheet(path)


def check_one(args) -> List[dict]:
    root, rel = args
    sheet = load_layer_sheet(root / rel)
    if rel.startswith("body/") and "/eyes/" not in rel:
        flags = check_sheet_array(sheet, LPC_LAYOUT)
    else:
        flags = check_worn(sheet, _body(root / body_of(rel)), Path(rel).stem)
    out = []
    for fl in flags:
        spec = LPC_LAYOUT.rows[fl.row]
        out.append({"path": f"{root.name}/{rel}", "row": fl.row, "frame": fl.frame, "animation": spec.name,
                    "facing": spec.facing, "kind": fl.kind, "score": fl.score, "layer": fl.layer is not None,
                    "explanation": fl.explanation})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ulpc", type=Path, required=True)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args()
    root = args.ulpc.resolve()
    rels = sorted(q.relative_to(root).as_posix() for q in root.rglob("*.png"))
    with Pool(args.jobs) as pool:
        results = pool.map(check_one, [(root, r) for r in rels], chunksize=4)
    flags = [fl for r in results for fl in r]
    args.json.write_text(json.dumps({"sheets": len(rels), "flags": flags}, indent=1) + "\n", encoding="utf-8")

    def folder(rel: str) -> str:
        parts = rel.split("/")
        return "eyes" if "eyes" in parts else parts[0]

    sheets = Counter(folder(r) for r in rels)
    flagged = defaultdict(set)
    counts = defaultdict(Counter)
    for fl in flags:
        f = folder(fl["path"].split("/", 1)[1])
        flagged[f].add(fl["path"])
        counts[f][fl["kind"]] += 1
    print("| folder | sheets | flagged sheets | " + " | ".join(KINDS) + " |")
    print("|---|---|---|" + "---|" * len(KINDS))
    for f in sorted(sheets):
        print(f"| {f} | {sheets[f]} | {len(flagged[f])} | " + " | ".join(str(counts[f][k]) for k in KINDS) + " |")
    print(f"\n{len(rels)} sheets, {len(flags)} flags; wrote {args.json}")


if __name__ == "__main__":
    main()
