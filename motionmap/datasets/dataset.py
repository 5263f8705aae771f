"""`SpriteDataset`: a validated view of a dataset folder (manifest, sheets, backgrounds, frame cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from motionmap.errors import MotionmapError
from motionmap.layout import SheetLayout
from motionmap.datasets.cache import open_frame_cache, sheet_frames, write_frame_cache
from motionmap.datasets.format import (
    FRAMES,
    CharacterEntry,
    Manifest,
    character_row_frames,
    read_manifest,
    row_offsets,
    split_indices,
)
from motionmap.io.atomic import atomic_file
from motionmap.io.images import read_image


class SpriteDataset:
    """A ``motionmap-sprites`` dataset folder (see ``data/README.md``).

    Opening validates the manifest and that every sheet and the background strip it names exist; each problem is a
    one-line :class:`MotionmapError` naming the file.

    >>> ds = SpriteDataset("data/synth")                        # doctest: +SKIP
    >>> ds.frames().shape                                       # doctest: +SKIP
    (64, 200, 64, 64, 4)
    """

    def __init__(self, root: Union[str, "os.PathLike[str]"]):
        self.root = Path(root)
        self.manifest: Manifest = read_manifest(self.root)
        for c in self.manifest.characters:
            path = self.root / c.sheet
            if not path.is_file():
                raise MotionmapError(
                    f"{path}: missing sheet of character {c.id} listed in manifest.json; rebuild the dataset"
                )
        bg = self.root / self.manifest.backgrounds
        if not bg.is_file():
            raise MotionmapError(f"{bg}: missing background strip listed in manifest.json; rebuild the dataset")
        self._frames: Optional[np.ndarray] = None

    # -- manifest views -------------------------------------------------------------------------------------------
    @property
    def layout(self) -> SheetLayout:
        return self.manifest.layout

    @property
    def characters(self) -> Tuple[CharacterEntry, ...]:
        return self.manifest.characters

    @property
    def source(self) -> str:
        return self.manifest.source

    @property
    def row_offsets(self) -> np.ndarray:
        """int64 [R+1]: row ``r``'s frames are ``frames()[:, offsets[r]:offsets[r+1]]``."""
        return row_offsets(self.layout)

    def row_frames(self) -> np.ndarray:
        """int64 [N_characters, R]: each character's real frames per row (imported characters may lack rows: 0).

        Character ``i``'s row ``r`` is ``frames()[i, offsets[r]:offsets[r] + row_frames()[i, r]]``.
        """
        return character_row_frames(self.characters, self.layout)

    @property
    def uniform_rows(self) -> bool:
        """True when every character fills every row of the layout (synthetic and LPC sets)."""
        return all(c.row_frames is None for c in self.characters)

    @property
    def frames_shape(self) -> Tuple[int, int, int, int, int]:
        """``(N_characters, F, h, w, 4)``, the shape of :meth:`frames`."""
        return (
            len(self.characters),
            int(self.row_offsets[-1]),
            self.layout.frame_height,
            self.layout.frame_width,
            4,
        )

    def split_indices(self, split: str) -> np.ndarray:
        """int64 [n]: indices into :attr:`characters` of the ``"train"`` or ``"val"`` split, ascending."""
        return split_indices(self.characters, split)

    # -- pixels -----------------------------------------------------------------------------------------------------
    def sheet(self, i: int) -> np.ndarray:
        """Character ``i``'s sheet as uint8 [H, W, 4] (decoded from its PNG)."""
        return read_image(self.root / self.characters[i].sheet)

    def sheet_frames(self, i: int) -> np.ndarray:
        """Character ``i``'s real frames, uint8 [F, h, w, 4], sliced from its sheet (not the cache)."""
        return sheet_frames(self.sheet(i), self.layout, name=str(self.root / self.characters[i].sheet))

    def backgrounds(self) -> np.ndarray:
        """The background strip cut into frames: uint8 [N_backgrounds, h, w, 3]."""
        path = self.root / self.manifest.backgrounds
        strip = read_image(path)
        h, w = self.layout.frame_height, self.layout.frame_width
        if strip.shape[0] != h or strip.shape[1] % w != 0 or strip.shape[1] == 0:
            raise MotionmapError(
                f"{path}: background strip is {strip.shape[1]}x{strip.shape[0]} pixels, expected N*{w}x{h}; "
                "rebuild the dataset"
            )
        n = strip.shape[1] // w
        return np.ascontiguousarray(strip[:, :, :3].reshape(h, n, w, 3).transpose(1, 0, 2, 3))  # (N, h, w, 3)

    def has_frame_cache(self) -> bool:
        return (self.root / FRAMES).is_file()

    def build_frame_cache(self, progress: bool = False) -> None:
        """Write ``frames.npy`` from the sheets, atomically (a no-op when it already exists)."""
        path = self.root / FRAMES
        if path.exists():
            return
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(self.characters), desc="frame cache", unit="char")
        try:
            with atomic_file(path) as tmp:
                write_frame_cache(
                    Path(tmp),
                    len(self.characters),
                    self.layout,
                    self.sheet_frames,
                    progress=(lambda i: bar.update(1)) if bar is not None else None,
                )
        except MotionmapError:
            if path.exists():  # another process finished first: its cache is as good as ours
                return
            raise
        finally:
            if bar is not None:
                bar.close()

    def frames(self, build: bool = True) -> np.ndarray:
        """Every frame of every character: read-only memmap uint8 [N_characters, F, h, w, 4] (RGBA).

        Builds ``frames.npy`` from the sheets first when it is missing (unless ``build=False``, then raises).
        """
        if self._frames is None:
            path = self.root / FRAMES
            if not path.is_file():
                if not build:
                    raise MotionmapError(f"{path}: frame cache missing; call prepare_data() or SpriteDataset.frames()")
                self.build_frame_cache()
            self._frames = open_frame_cache(path, self.frames_shape)
        return self._frames

    def __len__(self) -> int:
        return len(self.characters)

    def __repr__(self) -> str:
        return f"SpriteDataset({str(self.root)!r}, source={self.source!r}, characters={len(self)})"
