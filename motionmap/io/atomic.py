"""Atomic outputs: a file or folder appears complete or not at all, and never replaces an input.

Writers write into a temporary path beside the destination (same folder, so the final ``os.replace`` is a rename on
one filesystem) and only move it into place when writing finished without an exception. On failure the temporary
path is removed, the destination is untouched, and folders created for the output are removed again.

Temporary names are short whatever the destination's name (at most :data:`TEMP_NAME_STEM` characters of it), so a
legal 254-byte ``--out`` does not fail at the end for want of a longer temporary name, and they carry the writer's
process id: ``.<name>.mmtmp<pid>.<random><suffix>``. A writer killed with SIGKILL cannot clean up, so every writer
first removes the temporaries beside its destination whose process is gone (:func:`remove_stale_temps`).

>>> with atomic_file("out/walk.gif") as tmp:      # doctest: +SKIP
...     write_something(tmp)                       # tmp: out/.walk.gif.mmtmp1234.<random>.gif
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, List, Union

from motionmap.errors import MotionmapError

PathLike = Union[str, "os.PathLike[str]"]


# Characters of the destination's name kept in a temporary name: with the marker, pid, random part and suffix the
# temporary name stays well under the 255-byte limit of common filesystems.
TEMP_NAME_STEM = 40
TEMP_SUFFIX_MAX = 12
# Marks motionmap's temporaries (and nobody else's) as ``.<stem>.mmtmp<pid>.<random><suffix>``.
_TEMP_PATTERN = re.compile(r"^\..*\.mmtmp(\d+)\.[^.]+(\.[^.]*)?$", re.DOTALL)
# Longest file or folder name most filesystems allow (ext4, xfs, btrfs, tmpfs, APFS: 255 bytes).
NAME_MAX = 255


def _temp_prefix(path: Path) -> str:
    """``.<first TEMP_NAME_STEM characters of the name>.mmtmp<pid>.``: bounded, and it names its writer."""
    return f".{path.name[:TEMP_NAME_STEM]}.mmtmp{os.getpid()}."


def _temp_suffix(path: Path, default: str) -> str:
    suffix = path.suffix
    return suffix if suffix and len(suffix) <= TEMP_SUFFIX_MAX else default


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, and belongs to someone else
        return True
    return True


def remove_stale_temps(folder: PathLike, pattern: "re.Pattern[str]" = _TEMP_PATTERN) -> List[Path]:
    """Remove motionmap temporaries in ``folder`` whose writer process is gone (a SIGKILL, a power cut); return them.

    Only names of the form ``.<stem>.mmtmp<pid>.<random><suffix>`` (not ``.old``) are touched, and only when no
    process ``pid`` runs (a live writer's temporaries, in this or another process, are left alone). Errors are ignored: cleaning up
    is a courtesy, never a reason to fail.
    """
    removed: List[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        # ".old" is a user's previous output moved aside by atomic_dir: a kill at that instant must not lose it.
        if not m or entry.name.endswith(".old") or _pid_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _resolve(path: Path) -> Path:
    """``path.resolve()`` with a symlink loop as a one-line :class:`MotionmapError` (Python raises RuntimeError)."""
    try:
        return path.resolve()
    except RuntimeError:
        raise MotionmapError(f"{path}: symlink loop (too many levels of symbolic links); fix or remove the link") \
            from None


def _name_destination(error: BaseException, path: Path) -> None:
    """Give an ``OSError`` that names no file (a write that hit a full disk) the destination's name, so the CLI's one
    line says which output failed, not a temporary name the user never sees."""
    if isinstance(error, OSError) and error.errno is not None and error.filename is None:
        error.filename = str(path)


def _exists_message(path: Path) -> str:
    return f"{path} already exists; pass --overwrite or choose another --out"


def _make_parents(path: Path) -> List[Path]:
    """Create the missing parent folders of ``path``; return the ones created (outermost first)."""
    created: List[Path] = []
    parent = path.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        if parent.parent == parent:
            break
        parent = parent.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            _remove_empty(created)
            raise MotionmapError(f"{folder}: cannot create the output folder ({e.strerror}); choose another --out")
        created.append(folder)
    if not path.parent.is_dir():
        _remove_empty(created)
        raise MotionmapError(f"{path.parent}: is not a folder; choose another --out")
    return created


def _remove_empty(folders: List[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _umask() -> int:
    # There is no way to read the umask without setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _check_destination(path: Path, overwrite: bool) -> None:
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise MotionmapError(_exists_message(path))


@contextlib.contextmanager
def atomic_file(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary file path beside ``path`` (same suffix); move it onto ``path`` when the block succeeds.

    The temporary file exists (empty) when the block starts; writers may replace it. On an exception the temporary
    file is removed and ``path`` is left as it was. Raises :class:`MotionmapError` if ``path`` exists and
    ``overwrite`` is false, or if ``path`` is an existing folder.
    """
    path = Path(path)
    _check_destination(path, overwrite)
    if path.is_dir():
        raise MotionmapError(f"{path}: is a folder, expected a file path; choose another --out")
    created = _make_parents(path)
    remove_stale_temps(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_temp_suffix(path, ".tmp"), dir=path.parent)
    except OSError as e:
        _remove_empty(created)
        raise MotionmapError(f"{path}: cannot write here ({e.strerror}); choose another --out")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"writer removed its temporary output {tmp}")
        # mkstemp creates 0600 files; give the output the permissions a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        _remove_empty(created)
        _name_destination(e, path)
        raise


@contextlib.contextmanager
def atomic_dir(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; it becomes ``path`` when the block succeeds.

    With ``overwrite`` an existing ``path`` is replaced only after the new folder is complete (it is moved aside,
    the new folder renamed into place, then the old one deleted). An existing *empty* folder (``mktemp -d``) is
    replaced without ``overwrite``: nothing is lost. On an exception the temporary folder is deleted and ``path``
    is left as it was. Raises :class:`MotionmapError` if ``path`` exists (and is not an empty folder) and
    ``overwrite`` is false.
    """
    path = Path(path)
    _check_destination(path, overwrite or _is_empty_dir(path))
    created = _make_parents(path)
    remove_stale_temps(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as e:
        _remove_empty(created)
        raise MotionmapError(f"{path}: cannot write here ({e.strerror}); choose another --out")
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists() or path.is_symlink():
            if not (overwrite or _is_empty_dir(path)):  # appeared while we were writing
                raise MotionmapError(_exists_message(path))
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".old", dir=path.parent))
            old.rmdir()
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    old.unlink()
        else:
            os.replace(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        _name_destination(e, path)
        raise


def _same_path(a: Path, b: Path) -> bool:
    if _resolve(a) == _resolve(b):
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


def ensure_not_input(out: PathLike, inputs: Iterable[PathLike]) -> None:
    """Raise :class:`MotionmapError` if writing ``out`` would replace or delete one of ``inputs``.

    That is the case when ``out`` is an input (also through a symlink or hard link) or when an input lies inside
    the folder ``out`` (replacing the folder would delete it).
    """
    out_path = Path(out)
    out_resolved = _resolve(out_path)
    for inp in inputs:
        if inp is None:
            continue
        inp_path = Path(inp)
        if _same_path(out_path, inp_path):
            raise MotionmapError(f"{out}: is also an input ({inp}); choose another --out")
        if out_resolved in _resolve(inp_path).parents:
            raise MotionmapError(f"{out}: contains the input {inp}; choose another --out")


def ensure_writable_output(out: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False) -> None:
    """Check an output path up front: not an input, and not existing unless ``overwrite``.

    Commands call this before any expensive work so that a bad ``--out`` fails fast; the writers check again.
    An existing empty folder passes (folder outputs fill it, see :func:`atomic_dir`).
    """
    check_output_location(out)
    ensure_not_input(out, inputs)
    _check_destination(Path(out), overwrite or _is_empty_dir(Path(out)))


def check_output_location(out: PathLike) -> None:
    """Check, before any work, that ``out`` can be created: every name in it fits :data:`NAME_MAX` bytes, and its
    nearest existing folder is a folder this process may write, on a writable filesystem.

    Raises :class:`MotionmapError` naming the path and what to do. (A full disk can only show while writing; the CLI
    reports that as one line too.)
    """
    path = Path(out)
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise MotionmapError(f"{out}: the name {part[:24]}... is {len(os.fsencode(part))} bytes, longer than "
                                 f"file names may be ({NAME_MAX} bytes); choose a shorter --out")
    folder = path.parent
    while True:
        try:
            if folder.exists():
                break
        except OSError:
            break
        if folder.parent == folder:
            break
        folder = folder.parent
    folder = _resolve(folder if str(folder) else Path("."))
    if not folder.is_dir():
        raise MotionmapError(f"{folder}: is not a folder, so {out} cannot be created there; choose another --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        if _read_only_fs(folder):
            raise MotionmapError(f"{folder}: read-only file system; choose an --out on a writable disk")
        raise MotionmapError(f"{folder}: permission denied (cannot create files in this folder); choose another "
                             "--out or fix the folder's permissions")


def _read_only_fs(folder: Path) -> bool:
    if not hasattr(os, "statvfs"):  # Windows
        return False
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
