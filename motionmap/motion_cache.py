"""Source motions kept between retargets: the same animation onto another target costs only the target's part.

A retarget's source motion (the network's flow of ``a0 -> a_t`` and its test-time refinement, about 70 % of a
retarget's time on a CPU) depends on the source frames alone, not on the target. An artist trying targets, palettes
or backgrounds on one animation in the preview page sends the same source again and again; this cache keeps the last
few sources' motions (least recently used out) so that only the target adaptor, the rendering and the palette lock
run again.

A cached result is the one a fresh computation gives, bit for bit: the key holds every input of the computation (the
reference and the distinct frames as the model sees them, the pass size, the refinement, the precision, the thread
count and the device), and a hit replays exactly the passes that were computed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Hashable, List, Optional

import numpy as np

from motionmap.errors import MotionmapError


class MotionCache:
    """At most ``capacity`` source animations' motions, least recently used out. ``capacity`` 0 keeps none."""

    def __init__(self, capacity: int):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise MotionmapError(f"motion_cache={capacity!r}: need an integer >= 0 (0: no cache)")
        self.capacity = capacity
        self._entries: "OrderedDict[Hashable, List[Any]]" = OrderedDict()
        self.hits = 0  # lookups answered from the cache

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(reference: np.ndarray, frames: np.ndarray, *settings: Hashable) -> Hashable:
        """The key of one computation: ``reference`` ``uint8 [H,W,C]`` (or any array), the frames it is matched to
        ``uint8 [N,H,W,C]``, and every setting that changes the numbers (hashable values)."""
        digest = hashlib.blake2b(digest_size=20)
        for array in (np.ascontiguousarray(reference), np.ascontiguousarray(frames)):
            digest.update(repr((array.dtype.str, array.shape)).encode())
            digest.update(array.data)
        return (digest.hexdigest(),) + tuple(settings)

    def get(self, key: Hashable) -> Optional[List[Any]]:
        """The passes stored under ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: Hashable, passes: List[Any]) -> None:
        if self.capacity == 0:
            return
        self._entries[key] = passes
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
