"""Checkpoints: one safe loader for untrusted files, a format version, and atomic writes.

Artists download checkpoints from the internet, so loading one must never run code from it. Every checkpoint motionmap
reads goes through :func:`read_checkpoint`, which calls ``torch.load(..., weights_only=True)``: only tensors and plain
containers (dict, list, str, int, float, bool, None) are unpickled; a file that carries pickled code or any other
object is refused with one line naming the object it tried to load, and nothing from it runs.

A checkpoint is the dict ``motionmap train`` (Lightning) writes::

    {"state_dict": {name: Tensor}, "hyper_parameters": {"net": {...}, "loss": {...}, "optim": {...}, ...},
     "motionmap": {"format_version": 1, "architecture": "MotionMapper", "motionmap_version": "0.1.0"},
     "global_step": int, ...}                      # plus Lightning's optimizer/loop state when written by training

``motionmap`` (the stamp) is written by :class:`motionmap.training_guards.FormatStamp` during training and by
:func:`save_model_checkpoint` for hand-built checkpoints. A checkpoint **without** the stamp (written before it
existed, or by ``torch.save({"state_dict": ..., "hyper_parameters": ...})``) is read as format version 1: the weights-
only load and the strict config/weights check below protect it just as well, and refusing it would break every
checkpoint trained before the stamp. A checkpoint stamped with a newer format version, another architecture, config
fields this version does not know, or weights that do not fit its config is refused, naming what differs.

>>> model, info = load_model("runs/synth/checkpoints/last.ckpt")     # doctest: +SKIP
>>> info.format_version, info.global_step                            # doctest: +SKIP
(1, 4000)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Union

from motionmap import __version__
from motionmap.errors import MotionmapError

PathLike = Union[str, "os.PathLike[str]"]

# Bump when the checkpoint layout changes in a way older readers cannot follow; readers accept <= FORMAT_VERSION.
FORMAT_VERSION = 1
# The only model class motionmap checkpoints hold.
ARCHITECTURE = "MotionMapper"
# Key of the stamp in the checkpoint dict.
STAMP_KEY = "motionmap"

_HOW_TO_FIX = "pass a .ckpt written by `motionmap train`"
# Largest checkpoint read, on disk and unpacked. The shipped model is 0.27 MB and a training checkpoint with Adam's
# state about three times its weights; the largest config allowed (model.config.NET_RANGES) is ~0.3 GB with it.
MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024


class CheckpointInfo(NamedTuple):
    """What a checkpoint says about itself. ``motionmap_version`` is None for unstamped (legacy) checkpoints;
    ``global_step`` is None for hand-built ones."""

    path: Path
    format_version: int
    stamped: bool
    motionmap_version: Optional[str]
    global_step: Optional[int]
    hyper_parameters: Dict[str, Any]


class LoadedModel(NamedTuple):
    """A MotionMapper rebuilt from its checkpoint's config, with the checkpoint's weights (CPU, train mode)."""

    model: Any
    info: CheckpointInfo


def format_stamp() -> Dict[str, Any]:
    """The ``checkpoint["motionmap"]`` dict written with every checkpoint (plain types: weights-only loadable)."""
    return {"format_version": FORMAT_VERSION, "architecture": ARCHITECTURE, "motionmap_version": str(__version__)}


# --- reading -----------------------------------------------------------------------------------------------------------


def _blocked_global(message: str) -> Optional[str]:
    """The ``module.name`` a weights-only unpickler refused to import, from torch's message (None when none)."""
    m = re.search(r"GLOBAL ([\w.]+)", message) or re.search(r"Unsupported global: (?:GLOBAL )?([\w.]+)", message)
    return m.group(1) if m else None


def _weights_only_reason(message: str) -> str:
    """torch's reason for a failed weights-only load, without its advice to retry unsafely (one short line)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines[1:]:
        if not line.startswith(("Check the documentation", "Please file an issue")):
            return line.replace("WeightsUnpickler error:", "").strip()[:100]
    return "unsupported pickle content"


def _check_archive(p: Path, path: PathLike) -> None:
    """Refuse, before torch reads it, a checkpoint over :data:`MAX_CHECKPOINT_BYTES` on disk or unpacked, and a zip
    checkpoint with compressed members: ``torch.save`` stores every member uncompressed, so a compressed one can only
    be a decompression bomb (2 MB of deflate that unpacks to GBs)."""
    size = p.stat().st_size
    limit_mb = MAX_CHECKPOINT_BYTES // 2**20
    if size > MAX_CHECKPOINT_BYTES:
        raise MotionmapError(f"{path}: checkpoint is {size / 2**20:.0f} MB, more than motionmap reads ({limit_mb} MB); "
                             f"{_HOW_TO_FIX}")
    if not zipfile.is_zipfile(p):
        return  # torch's legacy format: bounded by the file size checked above
    try:
        with zipfile.ZipFile(p) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # torch.load reports it
    packed = [m.filename for m in members if m.compress_type != zipfile.ZIP_STORED]
    if packed:
        raise MotionmapError(f"{path}: refused: the checkpoint has compressed members ({packed[0][:60]}), which "
                             f"torch.save never writes (a decompression bomb); {_HOW_TO_FIX}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_CHECKPOINT_BYTES:
        raise MotionmapError(f"{path}: checkpoint unpacks to {unpacked / 2**20:.0f} MB, more than motionmap reads "
                             f"({limit_mb} MB); {_HOW_TO_FIX}")


def _check_finite(state: Dict[str, Any], path: PathLike) -> None:
    """Refuse NaN or Inf in any floating-point weight: such a model writes black or garbage frames with exit 0."""
    import torch

    for name, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise MotionmapError(f"{path}: weight {name} holds {bad} NaN or Inf values (a diverged or damaged "
                                 f"model); use an earlier checkpoint of the run or retrain")


def read_checkpoint(path: PathLike) -> Dict[str, Any]:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with every failure as one-line MotionmapError.

    Returns the checkpoint dict (tensors on the CPU). Refuses, without running anything from the file: a missing
    path or folder, a file that is not a torch checkpoint, a truncated one, one that carries pickled code or
    objects other than tensors and plain containers (the message names the refused object, e.g. ``posix.system``),
    and one over :data:`MAX_CHECKPOINT_BYTES` on disk or unpacked, or with compressed zip members (a bomb).
    """
    import torch

    p = Path(path)
    if not p.exists():
        raise MotionmapError(f"{path}: checkpoint not found; {_HOW_TO_FIX}")
    if not p.is_file():
        raise MotionmapError(f"{path}: is not a file; {_HOW_TO_FIX}")
    _check_archive(p, path)
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        message = str(e)
        what = _blocked_global(message)
        if what:
            raise MotionmapError(
                f"{path}: refused: the checkpoint carries pickled code or objects ({what}) that a weights-only load "
                f"does not run; motionmap never executes code from a checkpoint; {_HOW_TO_FIX} from a source you trust"
            ) from None
        raise MotionmapError(f"{path}: not a readable motionmap checkpoint (refused by the weights-only loader: "
                             f"{_weights_only_reason(message)}); {_HOW_TO_FIX}") from None
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file; all mean "not loadable"
        text = str(e).strip()
        reason = text.splitlines()[0][:120] if text else type(e).__name__
        raise MotionmapError(f"{path}: not a readable motionmap checkpoint ({reason}); {_HOW_TO_FIX}") from None
    if not isinstance(ckpt, dict):
        raise MotionmapError(f"{path}: not a motionmap checkpoint (holds a {type(ckpt).__name__}, not a dict); "
                             f"{_HOW_TO_FIX}")
    return ckpt


def check_checkpoint(ckpt: Dict[str, Any], path: PathLike = "checkpoint") -> CheckpointInfo:
    """Check the stamp and layout of a loaded checkpoint dict; return what it says about itself.

    Raises :class:`MotionmapError` naming what differs: a newer format version, another architecture, no
    ``state_dict`` / ``hyper_parameters.net``. An unstamped checkpoint counts as format version 1.
    """
    stamp = ckpt.get(STAMP_KEY)
    stamped = stamp is not None
    if stamped and not isinstance(stamp, dict):
        raise MotionmapError(f"{path}: checkpoint['{STAMP_KEY}'] is a {type(stamp).__name__}, expected a dict; "
                             f"{_HOW_TO_FIX}")
    stamp = stamp or {}
    version = stamp.get("format_version", 1)
    written_by = stamp.get("motionmap_version")
    by = f" (written by motionmap {written_by})" if written_by else ""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MotionmapError(f"{path}: format_version {version!r} is not a positive integer; {_HOW_TO_FIX}")
    if version > FORMAT_VERSION:
        raise MotionmapError(f"{path}: checkpoint format version {version}{by} is newer than this motionmap reads "
                             f"(<= {FORMAT_VERSION}); upgrade motionmap (pip install -U motionmap)")
    arch = stamp.get("architecture", ARCHITECTURE)
    if arch != ARCHITECTURE:
        raise MotionmapError(f"{path}: checkpoint holds architecture {arch!r}{by}, this motionmap builds "
                             f"{ARCHITECTURE!r}; {_HOW_TO_FIX}")
    missing = [k for k in ("state_dict", "hyper_parameters") if k not in ckpt]
    if missing:
        raise MotionmapError(f"{path}: not a motionmap checkpoint (no {'/'.join(missing)}); {_HOW_TO_FIX}")
    hp = ckpt["hyper_parameters"]
    if not isinstance(hp, dict) or not isinstance(hp.get("net"), dict):
        raise MotionmapError(f"{path}: checkpoint has no MotionMapper config (hyper_parameters.net); {_HOW_TO_FIX}")
    if not isinstance(ckpt["state_dict"], dict):
        raise MotionmapError(f"{path}: checkpoint state_dict is a {type(ckpt['state_dict']).__name__}, expected a "
                             f"dict of tensors; {_HOW_TO_FIX}")
    step = ckpt.get("global_step")
    return CheckpointInfo(Path(path), version, stamped, written_by, step if isinstance(step, int) else None, hp)


def _describe_mismatch(expected: Dict[str, Any], got: Dict[str, Any], limit: int = 3) -> str:
    """Name the weights that differ between a model's state dict and a checkpoint's, at most ``limit`` of each kind."""
    parts: List[str] = []
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shapes = [
        f"{k} {list(got[k].shape)} vs {list(expected[k].shape)}"
        for k in expected
        if k in got and hasattr(got[k], "shape") and tuple(got[k].shape) != tuple(expected[k].shape)
    ]
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape (checkpoint vs config)", shapes)):
        if items:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            parts.append(f"{label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts)


def load_model(path: PathLike, network_only: bool = False) -> LoadedModel:
    """Read ``path`` safely (:func:`read_checkpoint`), check it (:func:`check_checkpoint`), rebuild the MotionMapper
    from its config and load its weights strictly. Returns the model on the CPU, with the checkpoint's info.
    ``network_only``: a :class:`~motionmap.model.network.MotionNetwork` (the same weights, what retargeting runs,
    without the losses and Lightning, whose import takes about a second) instead of the MotionMapper.

    Raises :class:`MotionmapError` (one line) for a missing, corrupt, unsafe or mismatched checkpoint, naming the
    config fields or weights that differ; for settings out of range or not finite (checked before the model is
    built, :func:`motionmap.model.config.validate`), and for NaN or Inf weights.
    """
    ckpt = read_checkpoint(path)
    info = check_checkpoint(ckpt, path)
    if network_only:
        from motionmap.model.network import build_network as build
    else:
        from motionmap.model.module import build_from_hparams as build

    try:
        model = build(info.hyper_parameters)
    except MotionmapError as e:
        raise MotionmapError(f"{path}: config does not fit this motionmap ({e})") from None
    except (TypeError, ValueError) as e:
        raise MotionmapError(f"{path}: config does not fit this motionmap ({str(e).splitlines()[0][:160]}); "
                             f"{_HOW_TO_FIX}") from None
    expected = model.state_dict()
    state = ckpt["state_dict"]
    diff = _describe_mismatch(expected, state)
    if not diff:
        _check_finite(state, path)
    if diff:
        net = info.hyper_parameters.get("net", {})
        raise MotionmapError(f"{path}: weights do not match its config (net.motion={net.get('motion')!r}: "
                             f"{diff}); the checkpoint is from another model version")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as e:
        first = str(e).strip().splitlines()[0][:160]
        raise MotionmapError(f"{path}: weights do not match its config ({first}); "
                             "the checkpoint is from another model version") from None
    return LoadedModel(model, info)


# --- writing -----------------------------------------------------------------------------------------------------------


def temp_path_for(path: PathLike) -> Path:
    """A fresh temporary file beside ``path`` named ``.<name>.<random>.tmp`` (created empty).

    The name starts with a dot and does not end in ``.ckpt``, so Lightning's ``--ckpt_path last`` search and
    ``*.ckpt`` globs never pick up a half-written file.
    """
    p = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    return Path(name)


def remove_stale_temps(path: PathLike) -> List[Path]:
    """Remove temporary files a killed writer left beside ``path`` (``.<name>.*.tmp``); return what was removed."""
    p = Path(path)
    removed = []
    if p.parent.is_dir():
        for tmp in p.parent.glob(f".{p.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _umask() -> int:
    mask = os.umask(0)  # there is no way to read the umask without setting it; set it straight back
    os.umask(mask)
    return mask


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save(obj, path)`` so that ``path`` is either its old content or the complete new file, never partial.

    Writes a temp file in the same folder, flushes it to disk (fsync), then ``os.replace``s it onto ``path``; on any
    exception (or a kill before the rename) ``path`` is untouched. Overwrites ``path`` (checkpoints are replaced
    every save; the atomic rename is what keeps the previous one safe until the new one is whole).
    """
    import torch

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(p)
    tmp = temp_path_for(p)
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what a plain open() would
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return p


def save_model_checkpoint(model: Any, path: PathLike, overwrite: bool = False, global_step: int = 0) -> Path:
    """Write ``model`` (a MotionMapper) as a checkpoint :func:`load_model` and ``Retargeter.load`` read: its
    ``state_dict``, its ``hyper_parameters`` (plain dicts), the format stamp and ``global_step``. Atomic.

    For tests, benchmarks and tools that build checkpoints without Lightning's Trainer. Raises
    :class:`MotionmapError` when ``path`` exists and ``overwrite`` is false.
    """
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise MotionmapError(f"{p} already exists; pass --overwrite or choose another --out")
    if p.is_dir():
        raise MotionmapError(f"{p}: is a folder, expected a .ckpt file path; choose another --out")
    ckpt = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "hyper_parameters": dict(model.hparams),
        STAMP_KEY: format_stamp(),
        "global_step": int(global_step),
    }
    return atomic_torch_save(ckpt, p)
