"""User-facing errors.

Every problem a user can fix (a corrupt image, a wrong sheet size, an empty folder, an unknown animation name, a
mismatched checkpoint) is raised as :class:`MotionmapError` with a one-line message that names the file or value and
says how to fix it. The CLI prints ``motionmap: error: <message>`` and exits with status 2, without a traceback.
Library callers can catch it like any other exception (it is a ``ValueError``).

Failures of the operating system (no space left, no permission, a read-only disk, a name too long, a symlink loop)
are not the program's fault either: the CLI turns any ``OSError`` that reaches it into the same one line with
:func:`os_error_message` (the path, what happened, what to do) instead of a traceback.
"""

import errno
import os

# What to do about an OS error, by errno. The path is named before it.
_OS_ERROR_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space or choose another --out",
    errno.EDQUOT: "disk quota exceeded; free some space or choose another --out",
    errno.EACCES: "permission denied; check the permissions of the file and its folder, or choose another path",
    errno.EPERM: "operation not permitted; check the permissions of the file and its folder, or choose another path",
    errno.EROFS: "read-only file system; choose an --out on a writable disk",
    errno.ENAMETOOLONG: "file name too long (at most 255 bytes per name); use a shorter name",
    errno.ELOOP: "symlink loop (too many levels of symbolic links); fix or remove the link",
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENOTDIR: "a part of the path is not a folder; check the path",
    errno.EISDIR: "is a folder, expected a file; check the path",
    errno.EEXIST: "already exists; choose another path",
    errno.EMFILE: "too many open files; close other programs or raise the limit (ulimit -n)",
    errno.EIO: "input/output error; check the disk",
    errno.EXDEV: "cannot move across file systems; keep the output on one disk",
}


class MotionmapError(ValueError):
    """A problem with the user's input, stated in one line: what is wrong, where, and how to fix it."""

    exit_code = 2


def os_error_message(e: OSError) -> str:
    """One line for an ``OSError``: ``PATH: what happened; what to do`` (the path when the error carries one)."""
    where = e.filename if e.filename is not None else ""
    if isinstance(where, bytes):
        where = os.fsdecode(where)
    hint = _OS_ERROR_HINTS.get(e.errno)
    if hint is None:
        lines = str(e).strip().splitlines()
        text = e.strerror or (lines[0] if lines else type(e).__name__)
        hint = f"{text}; check the path and the disk"
    return f"{where}: {hint}" if where else hint
