"""A zip of PNG frames (what an artist's "export frames" gives) unpacked into a frame folder, safely.

The zip comes from someone else (an upload to ``motionmap demo``): member names are checked before anything is
written (no absolute paths, no ``..``, no drive letters, no links), the frame count and the unpacked size are capped
while reading (a lying header does not help), and each frame must be a PNG no longer than its pixels need
(:func:`motionmap.io.images.check_png_size`). Frames are written under fixed names ``frame_000.png``... in the
natural order of the members' names, so :func:`motionmap.io.animation.read_frame_folder` reads them back in order.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path

from motionmap.errors import MotionmapError
from motionmap.io.images import check_png_size
from motionmap.io.names import natural_key, safe_display_name


def extract_frame_zip(data: bytes, out_dir: Path, display: str, max_frames: int, max_total_bytes: int) -> int:
    """Write the PNG frames of a zip as ``out_dir/frame_000.png``... in the natural order of their names.

    Refuses (:class:`MotionmapError`, naming the member) absolute names, ``..`` parts, drive letters, symlinks,
    more than ``max_frames`` PNGs, and an uncompressed total over ``max_total_bytes`` (checked while reading, so a
    lying header does not help). Non-PNG members (``__MACOSX/``, ``Thumbs.db``, text) are ignored. Returns the
    frame count.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise MotionmapError(f"{display}: not a readable zip ({e}); zip the PNG frames again") from None
    frames = []
    for info in infos:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise MotionmapError(
                f"{display}: member {safe_display_name(name)!r} has an unsafe path ({name[:60]!r}); "
                "zip the frames without absolute or '..' paths"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise MotionmapError(f"{display}: member {name[:60]!r} is a symbolic link; zip the frame files themselves")
        if info.is_dir() or parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue
        if parts[-1].lower().endswith(".png"):
            frames.append(info)
    if not frames:
        raise MotionmapError(f"{display}: no PNG frames in this zip; zip numbered frames (frame_000.png, ...)")
    if len(frames) > max_frames:
        raise MotionmapError(
            f"{display}: {len(frames)} frames is more than this demo's limit of {max_frames}; "
            "use fewer frames, or restart the demo with a larger --max-frames"
        )
    frames.sort(key=lambda i: natural_key(i.filename))
    out_dir.mkdir(parents=True, exist_ok=False)
    budget = max_total_bytes
    digits = max(3, len(str(len(frames) - 1)))
    for k, info in enumerate(frames):
        if info.file_size > budget:
            raise MotionmapError(f"{display}: frames unpack to more than {max_total_bytes // 2**20} MB; zip smaller frames")
        try:
            with zf.open(info) as src:
                chunk = src.read(budget + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as e:
            raise MotionmapError(f"{display}: cannot unpack {info.filename[:60]!r} ({e}); zip the frames again") from None
        if len(chunk) > budget:
            raise MotionmapError(f"{display}: frames unpack to more than {max_total_bytes // 2**20} MB; zip smaller frames")
        check_png_size(chunk, f"{display}: member {safe_display_name(info.filename)!r}")
        budget -= len(chunk)
        (out_dir / f"frame_{k:0{digits}d}.png").write_bytes(chunk)
    return len(frames)
