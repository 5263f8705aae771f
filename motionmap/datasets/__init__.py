"""Datasets: the ``motionmap-sprites`` format, its builders, the frame cache and the Lightning DataModule.

See ``data/README.md`` for the format. Importing this package is cheap; torch and Lightning load with the DataModule.
"""

from motionmap.datasets.build import build_lpc_dataset, build_synth_dataset
from motionmap.datasets.dataset import SpriteDataset
from motionmap.datasets.format import FORMAT, VERSION, CharacterEntry, Manifest, assign_splits, read_manifest

__all__ = [
    "FORMAT",
    "VERSION",
    "CharacterEntry",
    "FramePair",
    "FramePairDataModule",
    "Manifest",
    "RawPairBatch",
    "SpriteDataset",
    "assign_splits",
    "build_lpc_dataset",
    "build_synth_dataset",
    "read_manifest",
]


def __getattr__(name):
    # Lazy: torch and Lightning are only imported when the DataModule is asked for.
    if name in ("FramePair", "FramePairDataModule", "RawPairBatch"):
        from motionmap.datasets import datamodule

        return getattr(datamodule, name)
    raise AttributeError(f"module 'motionmap.datasets' has no attribute {name!r}")
