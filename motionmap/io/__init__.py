"""Sprite I/O: safe image decoding, atomic writes, sprite sheets, and animations (GIF, APNG, frame folders).

Images are ``numpy.uint8``: RGBA ``[H,W,4]`` (alpha 0 transparent), RGB ``[H,W,3]``; animations ``[T,H,W,4]``.
Submodules: :mod:`~motionmap.io.atomic`, :mod:`~motionmap.io.images`, :mod:`~motionmap.io.sheets`,
:mod:`~motionmap.io.animation`.
"""

from motionmap.io.animation import (
    DEFAULT_DURATION_MS,
    Animation,
    read_animation,
    read_frame_folder,
    read_sheet,
    write_animation,
    write_apng,
    write_frames,
    write_gif,
    write_sheet,
)
from motionmap.io.atomic import atomic_dir, atomic_file, ensure_not_input, ensure_writable_output
from motionmap.io.images import alpha_over, composite_over, read_image, to_rgba, write_png
from motionmap.io.sheets import animation_from_sheet, assemble_sheet, detect_layout, slice_sheet

__all__ = [
    "DEFAULT_DURATION_MS",
    "Animation",
    "alpha_over",
    "animation_from_sheet",
    "assemble_sheet",
    "atomic_dir",
    "atomic_file",
    "composite_over",
    "detect_layout",
    "ensure_not_input",
    "ensure_writable_output",
    "read_animation",
    "read_frame_folder",
    "read_image",
    "read_sheet",
    "slice_sheet",
    "to_rgba",
    "write_animation",
    "write_apng",
    "write_frames",
    "write_gif",
    "write_png",
    "write_sheet",
]
