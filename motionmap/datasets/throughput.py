"""Measure the data pipeline's throughput (frame pairs/s): sampling + frame reads + on-device compositing.

    python -m motionmap.datasets.throughput DIR [--batch-size 64] [--pairs 20480] [--threads 1] [--device cpu]

Runs the train loader in the main process (no workers) and composes every batch, so on ``--threads 1`` the number is
what one CPU core delivers. Pin it to one core with ``taskset -c 0`` for a clean measurement.
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple


class Throughput(NamedTuple):
    """Pairs per second of the loader alone, of composing alone, and of both in sequence."""

    loader: float
    compose: float
    total: float


def measure(data_dir: str, batch_size: int = 64, pairs: int = 20480, device: str = "cpu") -> Throughput:
    import torch

    from motionmap.datasets.datamodule import FramePairDataModule

    dm = FramePairDataModule(data_dir, batch_size=batch_size, num_workers=0, pairs_per_epoch=pairs)
    dm.prepare_data()
    dm.setup("fit")
    loader = dm.train_dataloader()
    next(iter(loader))  # warm the page cache and the lazily opened memmap
    t0 = time.perf_counter()
    raws = [raw for raw in loader]
    t1 = time.perf_counter()
    raws = [torch.utils._pytree.tree_map(lambda t: t.to(device) if torch.is_tensor(t) else t, r) for r in raws]
    dm.on_after_batch_transfer(raws[0], 0)  # warm-up (device tables)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    for raw in raws:
        dm.on_after_batch_transfer(raw, 0)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t3 = time.perf_counter()
    return Throughput(pairs / (t1 - t0), pairs / (t3 - t2), pairs / ((t1 - t0) + (t3 - t2)))


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--pairs", type=int, default=20480)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    r = measure(a.data_dir, a.batch_size, a.pairs, a.device)
    print(f"batch {a.batch_size}, {a.threads} thread(s), {a.device}: loader {r.loader:.0f} pairs/s, "
          f"compose {r.compose:.0f} pairs/s, together {r.total:.0f} pairs/s")


if __name__ == "__main__":
    main()
