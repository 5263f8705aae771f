"""The demo's one model thread: every transfer of every request runs on it, one at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np


class SerialRetargeter:
    """A :class:`~motionmap.retarget.Retargeter` whose ``retarget`` calls all run, one at a time, on one long-lived
    worker thread.

    One at a time: torch on 2-16 CPU cores gains nothing from parallel forward passes of one small model, memory stays
    bounded, and results are bit-identical however many requests arrive together. One long-lived thread rather than
    a lock around calls from each connection's fresh thread: torch's OpenMP pool belongs to the calling thread. The
    thread is shared by every demo app in the process. Only ``retarget`` and ``returns_rgba`` are offered.
    """

    _shared_worker: Optional[ThreadPoolExecutor] = None
    _shared_lock = threading.Lock()

    def __init__(self, retargeter):
        self._inner = retargeter
        with SerialRetargeter._shared_lock:
            if SerialRetargeter._shared_worker is None:
                SerialRetargeter._shared_worker = ThreadPoolExecutor(max_workers=1,
                                                                     thread_name_prefix="motionmap-demo-model")
        self._worker = SerialRetargeter._shared_worker

    def _run(self, source_frames, target, args, kwargs):
        import torch  # heavy: loaded with the model anyway, not by importing the demo

        with torch.inference_mode():
            return self._inner.retarget(source_frames, target, *args, **kwargs)

    def retarget(self, source_frames: np.ndarray, target: np.ndarray, *args, **kwargs) -> np.ndarray:
        """Same contract as :meth:`Retargeter.retarget`; blocks until this call's turn has run."""
        return self._worker.submit(self._run, source_frames, target, args, kwargs).result()

    @property
    def returns_rgba(self) -> bool:
        """The wrapped model's: whether it does alpha, palette lock and reference frame itself
        (:func:`motionmap.core.retarget_frames` asks)."""
        return bool(getattr(self._inner, "returns_rgba", False))

