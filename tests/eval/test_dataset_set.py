"""`motionmap eval --set DIR`: the analogy cases of any dataset's validation characters (imported sets included)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motionmap.cli import main
from motionmap.datasets.build import dataset_backgrounds, write_dataset
from motionmap.datasets.format import assign_splits
from motionmap.errors import MotionmapError
from motionmap.eval.testsets import dataset_benchmark_set
from motionmap.layout import RowSpec, SheetLayout
from sprite_exports import moving_square

LAYOUT = SheetLayout(12, 20, 5, (RowSpec("walk", "down", 5), RowSpec("idle", None, 3), RowSpec("wave", None, 2)))


def _dataset(tmp_path, n=16):
    """``n`` characters of 12x20 frames; character i has walk (5 frames, or 4 when i is odd), idle (3) only when i
    is even, and wave (2); their colour says which character it is."""
    counts = [[5 if i % 2 == 0 else 4, 3 if i % 2 == 0 else 0, 2] for i in range(n)]

    def render(i):
        sheet = np.zeros((60, 60, 4), np.uint8)
        for r, t in enumerate(counts[i]):
            if t:
                frames = moving_square(t, 12, 20, colour=(10 * i, 100, 200), step=1, seed=i)
                sheet[r * 20:(r + 1) * 20, :t * 12] = frames.transpose(1, 0, 2, 3).reshape(20, -1, 4)
        return sheet

    durations = [[[100] * t for t in c] for c in counts]
    out = write_dataset(tmp_path / "ds", "import", 0, LAYOUT, [{"i": i} for i in range(n)], render,
                        dataset_backgrounds(0, LAYOUT, 4), progress=False, row_frames=counts, durations_ms=durations)
    return out, counts


def test_cases_pair_different_validation_characters_on_shared_rows(tmp_path):
    root, counts = _dataset(tmp_path)
    val = [i for i, s in enumerate(assign_splits(16, 0)) if s == "val"]
    assert len(val) == 2
    bset = dataset_benchmark_set(root)
    assert len(bset.pairs) == 2  # (A, B) and (B, A)
    assert (bset.layout.frame_width, bset.layout.frame_height) == (12, 20)
    both_even = all(i % 2 == 0 for i in val)
    for case in bset.cases:
        a, b = [int(c[1:]) for c in (bset.pairs[case.pair]["source"], bset.pairs[case.pair]["target"])]
        assert a != b and a in val and b in val
        assert case.frames == min(counts[a][case.row], counts[b][case.row]) >= 2  # the shorter take
        assert case.source_rgba.shape[1:] == (20, 12, 4)
        # Each side really is its own character: its body colour's R is 10 * index.
        for rgba, i in ((case.source_rgba, a), (case.target_rgba, b)):
            assert np.median(rgba[..., 0][rgba[..., 3] > 0]) == 10 * i
    rows = {c.row for c in bset.cases}
    assert rows == ({0, 1, 2} if both_even else {0, 2})  # idle only where both have it
    assert len(dataset_benchmark_set(root, cases=3).cases) == 3


def test_eval_cli_prints_the_table(tmp_path, capsys):
    root, _ = _dataset(tmp_path)
    out = tmp_path / "ev"
    rc = main(["eval", "--set", str(root), "--track", "scene", "--out", str(out), "--no-progress"])
    stdout, err = capsys.readouterr()
    assert rc == 0, err
    assert f"## {root} / scene" in stdout and "| identity |" in stdout
    report = json.loads((out / "results.json").read_text())
    assert report["config"]["spec"]["set"] == "dataset"


def test_one_validation_character_is_refused(tmp_path):
    root, _ = _dataset(tmp_path, n=4)
    with pytest.raises(MotionmapError, match="has 1 validation character"):
        dataset_benchmark_set(root)


def test_unknown_set_names_the_choices(tmp_path, capsys):
    rc = main(["eval", "--set", str(tmp_path), "--out", str(tmp_path / "ev")])
    assert rc == 2 and "or a dataset folder" in capsys.readouterr().err
