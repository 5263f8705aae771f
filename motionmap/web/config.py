"""Settings of ``motionmap demo`` (:class:`DemoConfig`, its command-line options) and which hosts are loopback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from motionmap.errors import MotionmapError
from motionmap.layout import MAX_FRAME_SIDE

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a --host value) only listens on this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``motionmap demo`` (its command-line options)."""

    host: str = "127.0.0.1"  # loopback: the page is for the artist at this machine, not the network
    port: int = 7860  # Gradio's habit, so artists' bookmarks carry over; 0 picks a free port
    checkpoint: Optional[Path] = None  # None: the model shipped with the package
    device: str = "cpu"
    refine_steps: Optional[int] = None  # test-time flow refinement (None: the default, 30 steps; 0: off)
    threads: Optional[int] = None  # CPU threads of the model (None: automatic, motionmap.retarget.auto_threads)
    max_upload_mb: float = 8.0  # an LPC sheet PNG is ~0.1-0.5 MB; 8 MB leaves room for long GIFs
    max_frames: int = 64  # LPC's longest row is 13 frames; 64 keeps one CPU transfer under a few seconds
    # Largest frame side retargeted: the model's limit (motionmap.model.budget: its global correlation grows with the
    # square of the pixel count; one 512x512 x 8 transfer asked for 9.4 GB).
    max_frame_side: int = MAX_FRAME_SIDE
    # Largest upload side decoded (a sheet): an 8192 px tall LPC "universal" sheet is the biggest in common use.
    max_image_side: int = 8192
    max_zip_bytes: int = 64 * 1024 * 1024  # uncompressed total of a zip of frames (a zip bomb is refused early)
    keep_uploads: int = 64  # uploads kept on disk; the oldest are deleted beyond this
    max_stored_mb: float = 256.0  # all uploads on disk together; the oldest are deleted beyond this
    keep_clips: int = 256  # decoded clips kept in memory
    # Decoded frames kept in memory, all clips together (one clip is at most 64 frames of 256x256 RGBA, 16 MB; an LPC
    # sheet result 4.5 MB); the oldest clips are dropped beyond this.
    max_clip_memory_mb: float = 512.0
    max_connections: int = 128  # connections served or waiting at once; more get 503 at once
    workers: int = 32  # threads serving connections (a bounded pool, not a thread per connection)
    allow_remote: bool = False  # a non-loopback --host needs this, said explicitly
    max_pending_jobs: int = 4  # --all jobs queued or running at once
    quiet: bool = True  # no per-request log lines

    def __post_init__(self) -> None:
        if not 0 <= int(self.port) <= 65535:
            raise MotionmapError(f"--port {self.port}: not a port number; use 1-65535, or 0 for any free port")
        if not self.max_upload_mb > 0:
            raise MotionmapError(f"--max-upload-mb {self.max_upload_mb}: must be > 0")
        if int(self.max_frames) < 1:
            raise MotionmapError(f"--max-frames {self.max_frames}: must be >= 1")
        if not is_loopback(self.host) and not self.allow_remote:
            raise MotionmapError(f"--host {self.host}: not a loopback address, so anyone who can reach this machine "
                                 "could use the page and its model; add --allow-remote to mean it, or use --host "
                                 "127.0.0.1")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

