"""Atomic outputs: a file or folder appears complete or not at all, and never replaces an input.

Writers write into a temporary path beside the destination (same folder, so the final ``os.replace`` is a rename on
one filesystem) and only move it into place when writing finished without an exception. On failure the temporary
path is removed, the destination is untouched, and folders created for the output are removed again.

>>> with atomic_file("out/walk.gif") as tmp:      # doctest: +SKIP
...     write_something(tmp)                       # tmp: out/.walk.gif.<random>.gif
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, List, Union

from motionmap.errors import MotionmapError

PathLike = Union[str, "os.PathLike[str]"]


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
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
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
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        _remove_empty(created)
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
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        _remove_empty(created)
        raise MotionmapError(f"{path}: cannot write here ({e.strerror}); choose another --out")
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists() or path.is_symlink():
            if not (overwrite or _is_empty_dir(path)):  # appeared while we were writing
                raise MotionmapError(_exists_message(path))
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        raise


def _same_path(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
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
    out_resolved = out_path.resolve()
    for inp in inputs:
        if inp is None:
            continue
        inp_path = Path(inp)
        if _same_path(out_path, inp_path):
            raise MotionmapError(f"{out}: is also an input ({inp}); choose another --out")
        if out_resolved in inp_path.resolve().parents:
            raise MotionmapError(f"{out}: contains the input {inp}; choose another --out")


def ensure_writable_output(out: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False) -> None:
    """Check an output path up front: not an input, and not existing unless ``overwrite``.

    Commands call this before any expensive work so that a bad ``--out`` fails fast; the writers check again.
    An existing empty folder passes (folder outputs fill it, see :func:`atomic_dir`).
    """
    ensure_not_input(out, inputs)
    _check_destination(Path(out), overwrite or _is_empty_dir(Path(out)))
