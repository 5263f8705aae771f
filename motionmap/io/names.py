"""Names of files: the natural order of numbered names, and names from users made safe to show.

>>> sorted(["frame10.png", "frame2.png"], key=natural_key)
['frame2.png', 'frame10.png']
"""

from __future__ import annotations

import re
from typing import Tuple


def natural_key(text: str) -> Tuple:
    """Sort key that orders embedded numbers by value: ``frame2`` before ``frame10``."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p)


def safe_display_name(name: object, default: str = "upload") -> str:
    """The user's file name reduced to something safe to show and log: its last path part, characters from
    ``[A-Za-z0-9._ -]`` (others become ``_``), no leading dots, at most 80 characters. Never used as a path.

    >>> safe_display_name("../../etc/passwd"), safe_display_name("C:\\\\x\\\\hero<1>.gif"), safe_display_name("")
    ('passwd', 'hero_1_.gif', 'upload')
    """
    text = str(name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = re.sub(r"[^A-Za-z0-9._ -]", "_", text).strip().lstrip(".")
    if len(text) > 80:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: 70] + dot + suffix[:9]) if dot and len(suffix) < 10 else text[:80]
    return text or default
