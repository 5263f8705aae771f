"""`FramePairDataModule`: frame pairs ``(x, x')`` of one animation over one background, for Lightning.

Where the work happens (fast data, issue 4):

* workers (or the main process) draw one whole batch per index: which character, which row, which two frames, which
  background, flip and jitter — a few numpy draws from a per-batch seed — and gather the two RGBA frames from the
  memory-mapped frame cache (``uint8``, two reads per pair);
* :meth:`FramePairDataModule.on_after_batch_transfer` does the pixel work — jitter, compositing, flips — as batched
  tensor ops on the training device.

A batch on its way to the device is a :class:`RawPairBatch`; what the model's ``training_step`` receives is a
:class:`FramePair`. Pairs are split by character: train pairs only use train characters, val pairs only val ones.
The val set is ``val_pairs`` pairs drawn from fixed seeds without flips or jitter: identical every epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, NamedTuple, Optional, Tuple

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from motionmap.errors import MotionmapError
from motionmap.datasets.augment import composite_pairs
from motionmap.datasets.format import FRAMES, MANIFEST

BACKGROUND_MODES = ("plain", "scene", "mixed")
AUTO_BUILD = ("synth",)


class FramePair(NamedTuple):
    """Two frames of the same animation row of the same character, over the same background.

    x: float [B, 3, H, W] in [0, 1]; x_next: float [B, 3, H, W] in [0, 1].
    y, y_next (``cross_pairs > 0``): the same two frames of a partner character (another character for a share
    ``cross_pairs`` of the samples, else the character itself), same flip and jitter, over a background of its own
    (black when x's is; else another scene, as a target is shown apart from its source); else None.
    """

    x: Tensor
    x_next: Tensor
    y: Optional[Tensor] = None
    y_next: Optional[Tensor] = None


class RawPairBatch(NamedTuple):
    """A batch as workers produce it (before :meth:`FramePairDataModule.on_after_batch_transfer`).

    frames: uint8 [B, 2, H, W, 4] RGBA of ``(x, x_next)`` ([B, 4, ...] with partners: ``(x, x_next, y, y_next)``),
    or ``None`` when frames are gathered on the device.
    character: int64 [B] index into the dataset's characters; row: int64 [B] sheet row of both frames;
    frame: int64 [B, 2] flat frame indices into the cache's ``F`` axis; background: int64 [B] (``-1`` = plain black);
    flip: bool [B]; jitter: float32 [B, 3] (hue turns, saturation factor, brightness factor);
    partner: int64 [B] the partner character of each sample, or None without ``cross_pairs``;
    partner_background: int64 [B] its background (``-1`` = plain black), or None.
    """

    frames: Optional[Tensor]
    character: Tensor
    row: Tensor
    frame: Tensor
    background: Tensor
    flip: Tensor
    jitter: Tensor
    partner: Optional[Tensor] = None
    partner_background: Optional[Tensor] = None


class PairSampling(NamedTuple):
    """What one stream of batches draws from (all plain data, cheap to pickle to workers)."""

    characters: np.ndarray  # int64 [n] character indices of the split
    offsets: np.ndarray  # int64 [R+1] row offsets into the frame axis
    row_frames: Optional[np.ndarray]  # int64 [N_all, R] per-character frames per row; None: every row full
    n_backgrounds: int
    backgrounds: str  # one of BACKGROUND_MODES
    max_gap: Optional[int]
    hflip: bool
    color_jitter: float
    cross_pairs: float = 0.0


def sample_pairs(s: PairSampling, rng: np.random.Generator, batch_size: int) -> Dict[str, np.ndarray]:
    """Draw ``batch_size`` pairs: characters, rows, frame pairs, backgrounds, flips and jitter (numpy, no pixels).

    The character is uniform over the split; the first frame uniform over that character's frames (so longer rows
    are drawn more often); the second is a different frame of the same row at most ``max_gap`` away (either
    direction), or the same frame when the row has one frame or ``max_gap == 0``. Characters with their own row
    counts (imported sets) only draw rows they have. With ``cross_pairs > 0`` each sample also gets a ``partner``:
    another character of the split with probability ``cross_pairs`` (in imported sets, only one whose row has as
    many frames, else the character itself), else itself, and a ``partner_background``: black where the sample's is,
    else a scene of its own; these draws come after all others, so the rest of the batch is the one drawn without
    partners.
    """
    b = batch_size
    character = s.characters[rng.integers(len(s.characters), size=b)]
    if s.row_frames is None:
        counts = np.diff(s.offsets)
        f = rng.integers(int(s.offsets[-1]), size=b)
        row = np.searchsorted(s.offsets, f, side="right") - 1
        n = counts[row]
        i = f - s.offsets[row]
    else:
        own = s.row_frames[character]  # (B, R)
        ends = np.cumsum(own, axis=1)  # (B, R): end of each row in the character's own frame order
        f = (rng.random(b) * ends[:, -1]).astype(np.int64)  # (B,) uniform over the character's frames
        row = (ends <= f[:, None]).sum(axis=1)  # (B,) the row holding frame f (empty rows are skipped)
        n = own[np.arange(b), row]
        i = f - (ends[np.arange(b), row] - n)
    gap = n - 1 if s.max_gap is None else np.minimum(n - 1, s.max_gap)
    lo = np.maximum(0, i - gap)
    hi = np.minimum(n - 1, i + gap)
    choices = hi - lo  # candidates in [lo, hi] other than i
    j = lo + (rng.random(b) * np.maximum(choices, 1)).astype(np.int64)
    j = np.where(choices > 0, j + (j >= i), i)
    frame = np.stack([i, j], axis=1) + s.offsets[row][:, None]  # (B, 2)
    if s.backgrounds == "plain" or s.n_backgrounds == 0:
        background = np.full(b, -1, dtype=np.int64)
    else:
        background = rng.integers(s.n_backgrounds, size=b)
        if s.backgrounds == "mixed":
            background = np.where(rng.random(b) < 0.5, -1, background)
    flip = rng.random(b) < 0.5 if s.hflip else np.zeros(b, dtype=bool)
    jitter = np.tile(np.array([0.0, 1.0, 1.0], dtype=np.float32), (b, 1))
    if s.color_jitter > 0:
        c = s.color_jitter
        jitter = np.stack(
            [rng.uniform(-c, c, b), rng.uniform(1 - c, 1 + c, b), rng.uniform(1 - c, 1 + c, b)], axis=1
        ).astype(np.float32)
    extra = {}
    if s.cross_pairs > 0:
        other = s.characters[rng.integers(len(s.characters), size=b)]
        use = rng.random(b) < s.cross_pairs
        if s.row_frames is not None:  # imported sets: only a partner whose row has as many frames plays the same
            use &= s.row_frames[other, row] == n
        extra["partner"] = np.where(use, other, character).astype(np.int64)
        scene = rng.integers(max(1, s.n_backgrounds), size=b)
        extra["partner_background"] = np.where(background < 0, -1, scene).astype(np.int64)
    return {
        **extra,
        "character": character.astype(np.int64),
        "row": row.astype(np.int64),
        "frame": frame.astype(np.int64),
        "background": background.astype(np.int64),
        "flip": flip,
        "jitter": jitter,
    }


def gather_index(character, frame, partner=None):
    """Indices ``(characters [B,K], frames [B,K])`` into the frame cache for a batch: K=2 ``(x, x_next)``, or K=4
    ``(x, x_next, y, y_next)`` with partners (the partner's frames are the same two frames of its sheet). Works on
    numpy arrays and on tensors alike."""
    if partner is None:
        return character[:, None], frame
    cat = np.concatenate if isinstance(frame, np.ndarray) else torch.cat
    stack = np.stack if isinstance(frame, np.ndarray) else torch.stack
    chars = stack([character, character, partner, partner], 1)
    return chars, cat([frame, frame], 1)


class PairBatches(Dataset):
    """Map-style dataset whose index is ``(batch_seed, batch_size)`` and whose item is a whole :class:`RawPairBatch`.

    The frame cache is opened lazily in each process (a memmap does not pickle cheaply to spawned workers).
    ``frames_path=None`` leaves ``frames`` out for device-side gathering.
    """

    def __init__(self, sampling: PairSampling, frames_path: Optional[str]):
        self.sampling = sampling
        self.frames_path = frames_path
        self._frames: Optional[np.ndarray] = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_frames"] = None
        return state

    def __getitem__(self, index: Tuple[int, int]) -> RawPairBatch:
        batch_seed, batch_size = index
        rng = np.random.default_rng(batch_seed)
        d = sample_pairs(self.sampling, rng, batch_size)
        frames = None
        if self.frames_path is not None:
            if self._frames is None:
                self._frames = np.load(self.frames_path, mmap_mode="r")
            chars, frame = gather_index(d["character"], d["frame"], d.get("partner"))
            frames = torch.from_numpy(np.asarray(self._frames[chars, frame]))  # (B,2|4,H,W,4)
        return RawPairBatch(frames=frames, **{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in d.items()})


class BatchSeedSampler(DistributedSampler):
    """Yields ``(batch_seed, batch_size)`` for this process's share of an epoch's batches.

    A :class:`DistributedSampler` subclass so Lightning leaves it in place under DDP: this sampler already splits the
    batches between ``num_replicas`` processes (padding so every process gets the same count, as DDP needs).
    ``fixed=True`` (validation) gives the same seeds every epoch and exactly ``n_pairs`` pairs; otherwise
    :meth:`set_epoch` (called by Lightning) changes the seeds, and every batch is full (``ceil(n_pairs/batch_size)``
    batches).
    """

    def __init__(self, n_pairs: int, batch_size: int, seed: int, stream: int, fixed: bool, num_replicas: int = 1,
                 rank: int = 0):
        # Deliberately not calling DistributedSampler.__init__: it needs a sized dataset and a process group.
        self.n_pairs, self.batch_size, self.seed, self.stream, self.fixed = n_pairs, batch_size, seed, stream, fixed
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0
        self.n_batches = -(-n_pairs // batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return -(-self.n_batches // self.num_replicas)

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        epoch = 0 if self.fixed else self.epoch
        seeds = np.random.SeedSequence([self.seed, self.stream, epoch]).generate_state(self.n_batches, dtype=np.uint64)
        # Training batches are all full (a short last batch only adds a shape to compile and a noisier step); the
        # fixed validation set has exactly n_pairs pairs.
        sizes = [min(self.batch_size, self.n_pairs - k * self.batch_size) if self.fixed else self.batch_size
                 for k in range(self.n_batches)]
        per_rank = len(self)
        for k in range(per_rank):
            g = (self.rank + k * self.num_replicas) % self.n_batches  # wrap around to pad the last round
            yield int(seeds[g]), sizes[g]


class FramePairDataModule(pl.LightningDataModule):
    """Frame pairs ``(x, x')`` from a ``motionmap-sprites`` dataset, split by character.

    Args:
        data_dir: dataset folder (``data/README.md``); built there first when ``auto_build`` is set and it has no
            manifest.
        batch_size: pairs per batch *per process* (under DDP each of N processes gets this many).
        num_workers: DataLoader worker processes (0 = draw batches in the main process; the per-batch work is
            small, so 1-2 are plenty).
        seed: seeds every pair drawn (train pairs also vary with the epoch; val pairs never vary).
        backgrounds: ``"plain"`` (black), ``"scene"`` (the dataset's procedural backgrounds) or ``"mixed"``
            (each pair picks one of the two at random).
        max_gap: largest frame distance between ``x`` and ``x'`` within the row; ``None`` = any two frames.
        pairs_per_epoch: training pairs per epoch over all processes, rounded up to whole batches.
        val_pairs: validation pairs (fixed, seeded, identical every epoch; no flips or jitter); 0 = no validation.
        hflip: mirror half of the training pairs (both frames and the background together).
        color_jitter: strength of the hue/saturation/brightness jitter of the character (same on both frames);
            hue shifts by up to ``±color_jitter`` turns, saturation and brightness scale by ``1 ± color_jitter``.
        auto_build: ``"synth"`` builds the synthetic dataset into ``data_dir`` when it has no manifest (the
            no-download default); ``None`` requires an existing dataset.
        auto_build_characters: characters of that synthetic build.
        frames_on_device: keep the whole frame cache on the training device and gather frames there (workers then
            only draw indices). Fastest on a GPU for datasets that fit its memory.
        cross_pairs: share of samples (train and val) whose partner ``(y, y')`` is another character playing the
            same two frames, for the target adaptor (``model.net.adapt_hidden``); the others' partner is the character
            itself. 0 (default) draws no partners. In sets whose characters have rows of their own lengths (imports),
            a partner must have as many frames in that row, else the character is its own partner.
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 64,
        num_workers: int = 2,
        seed: int = 0,
        backgrounds: str = "mixed",
        max_gap: Optional[int] = None,
        pairs_per_epoch: int = 20000,
        val_pairs: int = 512,
        hflip: bool = True,
        color_jitter: float = 0.1,
        auto_build: Optional[str] = None,
        auto_build_characters: int = 64,
        frames_on_device: bool = False,
        cross_pairs: float = 0.0,
    ):
        super().__init__()
        if backgrounds not in BACKGROUND_MODES:
            raise MotionmapError(f"backgrounds={backgrounds!r}: choose one of {', '.join(BACKGROUND_MODES)}")
        if auto_build is not None and auto_build not in AUTO_BUILD:
            raise MotionmapError(f"auto_build={auto_build!r}: choose {', '.join(AUTO_BUILD)} or null")
        for name, value, low in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0),
                                 ("pairs_per_epoch", pairs_per_epoch, 1), ("val_pairs", val_pairs, 0),
                                 ("auto_build_characters", auto_build_characters, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MotionmapError(f"{name}={value!r}: must be an integer >= {low}")
        if max_gap is not None and (isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0):
            raise MotionmapError(f"max_gap={max_gap!r}: must be null or an integer >= 0")
        if isinstance(cross_pairs, bool) or not isinstance(cross_pairs, (int, float)) or not 0.0 <= cross_pairs <= 1.0:
            raise MotionmapError(f"cross_pairs={cross_pairs!r}: must be a share between 0 and 1")
        if not 0.0 <= float(color_jitter) <= 0.5:
            raise MotionmapError(f"color_jitter={color_jitter!r}: must be between 0 and 0.5")
        self.save_hyperparameters()
        self.data_dir = str(data_dir)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = int(seed)
        self.backgrounds = backgrounds
        self.max_gap = max_gap
        self.pairs_per_epoch = pairs_per_epoch
        self.val_pairs = val_pairs
        self.hflip = hflip
        self.color_jitter = float(color_jitter)
        self.auto_build = auto_build
        self.auto_build_characters = auto_build_characters
        self.frames_on_device = frames_on_device
        self.cross_pairs = float(cross_pairs)
        self.dataset = None  # SpriteDataset, after setup()
        self._backgrounds_cpu: Optional[Tensor] = None  # uint8 [N, H, W, 3]
        self._on_device: Dict[Tuple[str, torch.device], Tensor] = {}

    # -- preparation ------------------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Once per node: build the synthetic set if asked and missing, then the frame cache if missing."""
        from motionmap.datasets.dataset import SpriteDataset

        root = Path(self.data_dir)
        if self.auto_build == "synth" and not (root / MANIFEST).exists():
            from motionmap.datasets.build import build_synth_dataset

            build_synth_dataset(root, characters=self.auto_build_characters, seed=self.seed, progress=True)
        ds = SpriteDataset(root)
        if not ds.has_frame_cache():
            ds.build_frame_cache(progress=True)

    def setup(self, stage: Optional[str] = None) -> None:
        from motionmap.datasets.dataset import SpriteDataset

        if self.dataset is not None:
            return
        ds = SpriteDataset(self.data_dir)
        ds.frames()  # validates (or, outside a Trainer, builds) the cache
        self.dataset = ds
        self._backgrounds_cpu = torch.from_numpy(ds.backgrounds())
        for split in ("train", "val"):
            if len(ds.split_indices(split)) == 0:
                raise MotionmapError(
                    f"{ds.root}: the dataset has no {split!r} characters; rebuild it with more characters"
                )

    def sampling(self, split: str) -> PairSampling:
        """The pair-sampling parameters of ``"train"`` or ``"val"`` (val: no flips, no jitter)."""
        if self.dataset is None:
            self.setup()
        train = split == "train"
        return PairSampling(
            characters=self.dataset.split_indices(split),
            offsets=self.dataset.row_offsets,
            row_frames=None if self.dataset.uniform_rows else self.dataset.row_frames(),
            n_backgrounds=int(self._backgrounds_cpu.shape[0]),
            backgrounds=self.backgrounds,
            max_gap=self.max_gap,
            hflip=self.hflip and train,
            color_jitter=self.color_jitter if train else 0.0,
            cross_pairs=self.cross_pairs,
        )

    def _world(self) -> Tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 1, 0
        return int(trainer.world_size), int(trainer.global_rank)

    def _loader(self, split: str, n_pairs: int) -> DataLoader:
        if self.dataset is None:
            self.setup()
        world, rank = self._world()
        frames_path = None if self.frames_on_device else str(self.dataset.root / FRAMES)
        sampler = BatchSeedSampler(
            n_pairs, self.batch_size, self.seed, stream=0 if split == "train" else 1, fixed=split != "train",
            num_replicas=world, rank=rank,
        )
        return DataLoader(
            PairBatches(self.sampling(split), frames_path),
            batch_size=None,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.pairs_per_epoch)

    def val_dataloader(self):
        if self.val_pairs == 0:
            return []
        return self._loader("val", self.val_pairs)

    # -- per-batch pixel work, on the training device ---------------------------------------------------------------
    def _device_table(self, name: str, device: torch.device) -> Tensor:
        key = (name, device)
        if key not in self._on_device:
            if name == "backgrounds":
                self._on_device[key] = self._backgrounds_cpu.to(device)
            else:
                self._on_device[key] = torch.from_numpy(np.array(self.dataset.frames())).to(device)
        return self._on_device[key]

    def on_after_batch_transfer(self, batch, dataloader_idx: int = 0):
        """RawPairBatch (uint8, on the device) -> :class:`FramePair` (float [B,3,H,W] in [0,1]); others pass through."""
        if not isinstance(batch, RawPairBatch):
            return batch
        return self.compose(batch)

    def compose(self, batch: RawPairBatch) -> FramePair:
        """Gather (when needed), jitter, composite and flip a raw batch on its own device."""
        if self.dataset is None:
            self.setup()
        device = batch.background.device
        frames = batch.frames
        if frames is None:
            table = self._device_table("frames", device)  # (N, F, H, W, 4)
            chars, frame = gather_index(batch.character, batch.frame, batch.partner)
            frames = table[chars, frame]  # (B, 2|4, H, W, 4)
        backgrounds, jitter = self._device_table("backgrounds", device), batch.jitter.to(device)
        out = composite_pairs(frames[:, :2], backgrounds, batch.background, batch.flip, jitter)  # (2, B, 3, H, W)
        if frames.shape[1] == 4:
            y = composite_pairs(frames[:, 2:], backgrounds, batch.partner_background, batch.flip, jitter)
            return FramePair(x=out[0], x_next=out[1], y=y[0], y_next=y[1])
        return FramePair(x=out[0], x_next=out[1])
