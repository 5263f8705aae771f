"""keep_freed_memory: a freed large tensor's pages are reused by the next one instead of being faulted in again."""

import platform
import subprocess
import sys

import pytest

from motionmap.host_memory import keep_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Rounds of large allocations as a training step makes them (a 40 MB tensor freed while a 13 MB one lives, then a
# 20 MB one); prints the minor page faults of the last five rounds. glibc maps a block over 32 MB afresh every time
# by default (its largest automatic mmap threshold), so each round faults at least the 40 MB block's pages in.
FAULTS = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from motionmap.host_memory import keep_freed_memory
    assert keep_freed_memory()
def round_():
    x = torch.empty(10_000_000).fill_(1.0)
    y = torch.empty(3_333_333).fill_(2.0)
    del x
    z = torch.empty(5_000_000).fill_(1.0)
    return float(y[0] + z[0])
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="mallopt settings exist on Linux with glibc only")
def test_freed_memory_is_reused_without_page_faults():
    default, keep = _faults("default"), _faults("keep")
    assert default > 5 * 40_000_000 // 4096  # glibc's default: the 40 MB block faulted in every round
    assert keep < default / 2


@pytest.mark.skipif(GLIBC, reason="off glibc the call must be a harmless no-op")
def test_elsewhere_it_does_nothing():
    assert keep_freed_memory() is False
