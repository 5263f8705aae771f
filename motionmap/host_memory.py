"""Keep freed host memory in the process for reuse during training (glibc's ``mallopt``).

A training step allocates and frees the same few dozen large CPU tensors every step (a 64-pair batch's correlation
volume alone is 31 MB). glibc serves blocks above its mmap threshold with fresh ``mmap`` calls and returns freed
memory at the top of the heap to the system, so each step faults the same pages in again: tens of thousands of
page faults a step at batch 64 on the flow config (850,000 -> 190,000 over 25 steps with this module's settings).
Raising the mmap threshold and the trim threshold keeps those blocks in the heap, where the next step reuses them.
The price: the process keeps its peak memory until it exits, which a training run reaches anyway. This is what PyTorch's CPU
performance guide gets from swapping in jemalloc or tcmalloc, without a new dependency.

Only on Linux with glibc; elsewhere (macOS, musl, Windows) :func:`keep_freed_memory` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLDS = (2**30, 32 * 2**20)  # tried in turn: older glibc refuses more than 32 MB on 64-bit
TRIM_THRESHOLD = 2**31 - 1


def keep_freed_memory() -> bool:
    """Ask glibc to serve blocks up to 1 GB (32 MB on older glibc) from the heap and never trim it -> True when both
    settings took (False off glibc). Call it once, early in a training process; it changes nothing already allocated."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_set = any(mallopt(M_MMAP_THRESHOLD, size) for size in MMAP_THRESHOLDS)
    return mmap_set and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
