"""keep_freed_memory: a freed large tensor's pages are reused by the next one instead of being faulted in again."""

import platform
import subprocess
import sys

import pytest

from motionmap.host_memory import keep_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# A few rounds of what a training step does with its large tensors (a padded feature map, a local product, a
# 64 x 256 x 484 correlation softmax); prints the minor page faults of the last five rounds.
FAULTS = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from motionmap.host_memory import keep_freed_memory
    assert keep_freed_memory()
def round_():
    x = torch.randn(64, 8, 64, 64)
    y = torch.nn.functional.pad(x, (1, 1, 1, 1))
    z = (y[..., 1:-1, 1:-1] * x).sum(1)
    w = torch.randn(64, 256, 484).softmax(-1)
    return float(z.sum() + w.sum())
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
    assert default > 5 * 31 * 2**20 // 4096  # glibc's default: at least the 31 MB softmax faulted in every round
    assert keep < default / 2


@pytest.mark.skipif(GLIBC, reason="off glibc the call must be a harmless no-op")
def test_elsewhere_it_does_nothing():
    assert keep_freed_memory() is False
