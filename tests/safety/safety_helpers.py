"""Helpers shared by the safety tests (a module of its own name: `conftest` is ambiguous across tests/)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "train" / "configs" / "smoke.yaml")


class MarkerPayload:
    """Unpickling this object would create ``path`` (``open(path, "w")``): the proof that no code ran is that the
    file never appears."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class ShellPayload:
    """Unpickling this object would run ``touch path`` through ``os.system``."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))
