"""The retargeting core every front end calls (``motionmap retarget``, ``motionmap demo``, ``motionmap eval``).

The model (:class:`~motionmap.retarget.Retargeter`) replays ``a_0 -> a_t`` on a target ``b_0`` drawn *in the pose of
a_0*. This module adds what production use needs around it; the front ends only parse input, call it, and present
the result:

- :func:`load_retargeter`: the model from plain settings (checkpoint path, device name with ``auto``, refinement
  steps, pixel scale, threads), the one place a flag's value becomes a :class:`~motionmap.retarget.Retargeter`;
- :func:`load_target`: the target from an image, or from a sheet (the matching facing's first frame);
- :func:`load_animation_inputs`: a source animation, its target and reference frame from files, checked before the
  model loads; :func:`load_lpc_inputs`: the same for a whole LPC sheet;
- :func:`retarget_frames` / :func:`retarget_animation`: one animation, RGBA out when the target has a transparent
  background (see :mod:`motionmap.alpha`), and an optional *reference* frame: the source frame whose pose the target
  is drawn in, when that is not the animation's first frame;
- :func:`load_facing_targets` and :func:`retarget_lpc_sheet`: every animation and facing of an LPC sheet onto a
  character drawn once per facing. The target is drawn in the pose of the source's first *walk* frame of its facing
  (the LPC standing pose), so each row is retargeted with that walk frame as the reference: the motion is
  ``walk_0 -> a_t``, which also carries the target from the standing pose into the row's first pose.

Images are ``uint8``: RGBA ``[H,W,4]`` (alpha 0 transparent) or RGB ``[H,W,3]``; animations ``[T,H,W,3|4]``.

>>> r = Retargeter.load("model.ckpt")                                          # doctest: +SKIP
>>> targets = load_facing_targets("hero_sheet.png")                            # doctest: +SKIP
>>> sheet = retarget_lpc_sheet(r, read_sheet("knight.png"), targets)           # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from motionmap.alpha import BLACK, has_transparent_background, over_solid, two_pass_rgba
from motionmap.errors import MotionmapError
from motionmap.io.animation import Animation, read_animation, read_sheet
from motionmap.io.images import read_image, to_rgba
from motionmap.io.sheets import detect_layout, first_frame, frames_strip, is_lpc_size, parse_frame_size, row_frames
from motionmap.layout import FACINGS, LPC_LAYOUT, SheetLayout
from motionmap.palette import DEFAULT_PALETTE, Palette, check_palette, lock_frames, palette_for, target_palette
from motionmap.retarget import Retargeter, check_model_frame_size

PathLike = Union[str, "os.PathLike[str]"]

# The animation whose first frame is the target's pose in a sheet (and in --all): LPC's standing pose.
REFERENCE_ANIMATION = "walk"


class TargetFrame(NamedTuple):
    """A target image and where it came from. image: ``uint8 [H,W,4]``; animation/facing: the sheet row it was
    taken from (``None`` for a plain image); sheet_palette: the colours of the whole sheet, ``uint8 [K,3]``
    (:func:`motionmap.palette.target_palette`; ``None`` for a plain image): what palette lock snaps to."""

    image: np.ndarray
    animation: Optional[str]
    facing: Optional[str]
    sheet_palette: Optional[np.ndarray] = None


# ---------------------------------------------------------------------------------------------------- the model


def is_device(device: object, allow_auto: bool = True) -> bool:
    """Whether ``device`` names a device the model runs on: ``cpu``, ``cuda``, ``cuda:N``, and (``allow_auto``)
    ``auto``. Each front end says no in its own words (its flag's message)."""
    if not isinstance(device, str):
        return False
    if device == "auto":
        return allow_auto
    return device in ("cpu", "cuda") or (device.startswith("cuda:") and device[len("cuda:"):].isdigit())


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when PyTorch sees a GPU, else ``cpu``; any other name is returned as it is."""
    if device != "auto":
        return device
    import torch  # heavy: only a command that runs the model pays for it

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_retargeter(checkpoint: Optional[PathLike] = None, *, device: str = "auto", refine_steps: Optional[int] = None,
                    scale: str = "auto", threads: Optional[int] = None, precision: str = "auto",
                    appear: str = "source", motion_cache: int = 0) -> Retargeter:
    """The model every front end runs, from plain settings (the values of ``--checkpoint``, ``--device``,
    ``--refine-steps``, ``--scale``, ``--threads``, ``--precision``, ``--appear``).

    checkpoint: a file from ``motionmap train`` (None: the model shipped with the package); device: see
    :func:`resolve_device`; refine_steps: test-time flow refinement of flow models, None for
    :class:`~motionmap.model.refine.RefineConfig`'s default, ``N >= 0`` steps otherwise (0: off; anything else is a
    one-line :class:`MotionmapError`); scale, threads, precision, appear, motion_cache: see :meth:`Retargeter.load`.
    """
    from motionmap.model.refine import refine_config  # imports torch

    return Retargeter.load(checkpoint, device=resolve_device(device), refine=refine_config(refine_steps), scale=scale,
                           threads=threads, precision=precision, appear=appear, motion_cache=motion_cache)


# ---------------------------------------------------------------------------------------------------- targets


def _is_sheet_image(width: int, height: int, frame_size) -> bool:
    size = parse_frame_size(frame_size)
    if size is None:
        return is_lpc_size(width, height)
    return (width, height) != size and width % size[0] == 0 and height % size[1] == 0


def _lpc_row(layout: SheetLayout, animation: str, facing: Optional[str], name: str) -> int:
    try:
        if layout.facings_of(animation) == (None,) or len(layout.facings_of(animation)) == 1:
            return layout.row_index(animation)
        return layout.row_index(animation, facing)
    except MotionmapError as e:
        raise MotionmapError(f"{name}: {e}") from None


def load_target_frame(
    path: PathLike,
    *,
    facing: Optional[str] = None,
    frame_size: object = None,
    animation: Optional[str] = None,
    layout: Optional[SheetLayout] = None,
) -> TargetFrame:
    """Like :func:`load_target`, also saying which sheet row the image came from (see :class:`TargetFrame`).

    ``layout``: the sheet's layout when the caller knows it (the demo recognises motionmap's synthetic sheet by its
    size); None detects it from the size and ``frame_size``. A layout other than LPC's takes the row of
    ``animation`` (else its first row) in ``facing`` (else that animation's first facing)."""
    p = Path(path)
    if not p.exists():
        raise MotionmapError(f"{path}: no such file or folder; check the --target path")
    image = read_sheet(p) if p.is_dir() else read_image(p)  # a folder: one character's LPC layer sheets
    height, width = image.shape[:2]
    if layout is None:
        if not _is_sheet_image(width, height, frame_size):
            return TargetFrame(image, None, None)
        layout = detect_layout(width, height, frame_size, name_for_errors=str(path))
    if layout is LPC_LAYOUT:
        if facing is None and animation is not None and len(layout.facings_of(animation)) == 1:
            facing = layout.facings_of(animation)[0]  # hurt: front-facing only
        if facing is None:
            raise MotionmapError(
                f"{path}: is an LPC sheet; say which facing to take the target from with --facing ({', '.join(FACINGS)})"
            )
        if facing not in FACINGS:
            raise MotionmapError(f"--facing {facing!r}: unknown facing; use one of {', '.join(FACINGS)}")
        wanted = animation or REFERENCE_ANIMATION
        row = _lpc_row(layout, wanted, facing, str(path))
        frame = first_frame(image, layout, row)
        if not frame[..., 3].any() and wanted != REFERENCE_ANIMATION:
            # This sheet lacks the animation (older LPC sheets have no shoot rows): take the standing pose.
            wanted = REFERENCE_ANIMATION
            row = _lpc_row(layout, wanted, facing, str(path))
            frame = first_frame(image, layout, row)
        used_facing = layout.rows[row].facing
    else:
        names = layout.animation_names
        wanted = animation if animation in names else names[0]
        facings = layout.facings_of(wanted)  # (None,) for a grid sheet
        row = layout.row_index(wanted, facing if facing in facings else facings[0])
        frame = first_frame(image, layout, row)
        used_facing = layout.rows[row].facing
    if not frame[..., 3].any():
        raise MotionmapError(
            f"{path}: the first frame of {wanted}{'/' + used_facing if used_facing else ''} is empty; "
            "give a sheet with that row drawn, or the target as an image"
        )
    return TargetFrame(frame, wanted, used_facing, target_palette(image))


def load_target(path: PathLike, *, facing: Optional[str] = None, frame_size: object = None,
                animation: Optional[str] = None) -> np.ndarray:
    """The target character ``b_0`` as ``uint8 [H,W,4]``.

    ``path`` is an image (PNG, or the first frame of a GIF/APNG), an LPC sheet (832x1344, or a folder of one
    character's LPC layer sheets) or a grid sheet (with ``frame_size``, ``"WxH"``). From an LPC sheet the first frame
    of ``animation``'s row in ``facing`` is taken (``animation`` defaults to walk, the standing pose; a missing row
    falls back to walk); from a grid sheet the first frame of the row named ``animation`` (default the first row).
    Raises :class:`MotionmapError` (one line) for an unreadable file, a missing ``facing`` for an LPC sheet, or an
    empty frame.
    """
    return load_target_frame(path, facing=facing, frame_size=frame_size, animation=animation).image


def load_facing_targets(
    paths_or_sheet: Union[PathLike, Sequence[PathLike]], frame_size: object = None
) -> Dict[str, np.ndarray]:
    """One target per facing, ``{facing: uint8 [H,W,4]}`` in :data:`~motionmap.layout.FACINGS` order.

    ``paths_or_sheet``: four images in FACINGS order (up, left, down, right), or one LPC sheet (or layer folder),
    from which the first walk frame of each facing is taken. Any other count raises :class:`MotionmapError`.
    """
    if isinstance(paths_or_sheet, (str, os.PathLike)):
        paths = [paths_or_sheet]
    else:
        paths = list(paths_or_sheet)
    if len(paths) == 1:
        p = Path(paths[0])
        if p.is_file() or p.is_dir():
            frame = load_target_frame(p, facing="down", frame_size=frame_size)
            if frame.animation is not None and frame.facing is not None:
                return {f: load_target(p, facing=f, frame_size=frame_size) for f in FACINGS}
    if len(paths) != len(FACINGS):
        word = "image" if len(paths) == 1 else "images"
        raise MotionmapError(
            f"--target: got {len(paths)} {word}; --all needs one per facing ({', '.join(FACINGS)}) or a sheet"
        )
    out = {}
    for facing, p in zip(FACINGS, paths):
        out[facing] = load_target(p, facing=facing, frame_size=frame_size)
    return out


def check_target_size(target: np.ndarray, frame_hw, name: str = "--target") -> None:
    """Raise :class:`MotionmapError` unless ``target`` ``[H,W,C]`` has the source frames' ``(H, W)``."""
    th, tw = target.shape[:2]
    h, w = int(frame_hw[0]), int(frame_hw[1])
    if (th, tw) == (h, w):
        return
    if th < h or tw < w:
        raise MotionmapError(
            f"{name}: {tw}x{th} is smaller than the source frames ({w}x{h}); draw the target at the frame size "
            "(pad it with transparency)"
        )
    raise MotionmapError(
        f"{name}: {tw}x{th} is larger than the source frames ({w}x{h}); crop the target to the frame size, "
        "or give a sheet with --frame-size"
    )


def reference_frame(source: PathLike, target: TargetFrame, animation: Optional[str],
                    frame_size: object = None) -> Optional[np.ndarray]:
    """The source frame whose pose ``target`` is in, when the target came from another row of an LPC sheet than the
    source animation ``animation`` of the LPC sheet ``source`` (a target sheet without that animation falls back to
    walk): that row's first source frame, ``uint8 [64,64,4]``. None when the target is in the source's first pose
    (a plain image, the same row, a source that is not an LPC sheet) or that source frame is empty."""
    if animation is None or target.animation in (None, animation) or target.facing is None:
        return None
    sheet = read_sheet(source)
    if detect_layout(sheet.shape[1], sheet.shape[0], frame_size) is not LPC_LAYOUT:
        return None
    frame = first_frame(sheet, LPC_LAYOUT, LPC_LAYOUT.row_index(target.animation, target.facing))
    return frame if frame[..., 3].any() else None


def palette_for_target(palette: Palette, target: TargetFrame) -> Palette:
    """The palette lock for ``target``: ``"target"`` from a sheet locks to the colours of the whole sheet (a limb the
    first frame hides still keeps its colour); anything else is returned as it is."""
    if isinstance(palette, str) and palette == "target" and target.sheet_palette is not None:
        return target.sheet_palette
    return palette


class AnimationInputs(NamedTuple):
    """What one animation's retarget needs, read and checked: the source (``uint8 [T,H,W,4]`` and durations), the
    target with where it came from, and the reference frame (see :func:`reference_frame`; None: ``source[0]``)."""

    source: Animation
    target: TargetFrame
    reference: Optional[np.ndarray]


def load_animation_inputs(source: PathLike, target: PathLike, *, animation: Optional[str] = None,
                          facing: Optional[str] = None, frame_size: object = None,
                          scale: str = "auto") -> AnimationInputs:
    """Read the source animation (:func:`~motionmap.io.animation.read_animation`), its target
    (:func:`load_target_frame`, same ``animation`` and ``facing``) and the reference frame, and check, before any
    model loads, that the target has the frames' size and that the frames fit the model at ``scale``. Bad input is
    a one-line :class:`MotionmapError` naming the file."""
    anim = read_animation(source, animation=animation, facing=facing, frame_size=frame_size)
    picked = load_target_frame(target, facing=facing, frame_size=frame_size, animation=animation)
    check_target_size(picked.image, anim.frames.shape[1:3], name=f"--target {target}")
    check_model_frame_size(anim.frames, picked.image, scale, name=str(source))
    return AnimationInputs(anim, picked, reference_frame(source, picked, animation, frame_size))


class LpcSheetInputs(NamedTuple):
    """What a whole-sheet retarget needs: the LPC source sheet ``uint8 [H,832,4]``, one target per facing
    ``{facing: uint8 [64,64,4]}`` and the palette lock (a target sheet's own colours for ``"target"``)."""

    sheet: np.ndarray
    targets: Dict[str, np.ndarray]
    palette: Palette


def load_lpc_inputs(source: PathLike, targets: Sequence[PathLike], frame_size: object = None,
                    palette: Palette = DEFAULT_PALETTE) -> LpcSheetInputs:
    """Read an LPC source sheet (or one character's layer folder) and its targets (:func:`load_facing_targets`:
    four images, or one sheet whose colours then are the ``"target"`` palette). Raises :class:`MotionmapError` for a
    source that is not an LPC sheet, or targets that do not give one image per facing."""
    sheet = read_sheet(source)
    if not is_lpc_size(sheet.shape[1], sheet.shape[0]):
        lw, lh = LPC_LAYOUT.size
        raise MotionmapError(
            f"{source}: {sheet.shape[1]}x{sheet.shape[0]} is not an LPC sheet ({lw}x{lh}); "
            "--all needs an LPC source sheet (or one character's LPC layer folder)"
        )
    facing_targets = load_facing_targets(targets, frame_size=frame_size)
    if len(targets) == 1 and isinstance(palette, str) and palette == "target":  # a target sheet: its colours
        palette = palette_for_target(palette, load_target_frame(targets[0], facing="down", frame_size=frame_size))
    return LpcSheetInputs(sheet, facing_targets, palette)


# ---------------------------------------------------------------------------------------------------- retargeting


def retarget_frames(retargeter, source_frames: np.ndarray, target: np.ndarray,
                    reference: Optional[np.ndarray] = None, palette: Palette = DEFAULT_PALETTE) -> np.ndarray:
    """B performing A's motion: ``uint8 [T,H,W,3|4]`` frames, ``uint8 [H,W,3|4]`` target -> ``uint8 [T,H,W,C]``.

    C is 4 when ``target`` is RGBA with a transparent background (see
    :func:`motionmap.alpha.has_transparent_background`; the background stays transparent, the character opaque),
    else 3 (an RGBA target is then composited over black). ``reference`` (``uint8 [H,W,3|4]``, a frame of A): the pose the target
    is drawn in, when it is not ``source_frames[0]``; the motion is then ``reference -> a_t`` for every t.
    ``palette``: palette lock (:mod:`motionmap.palette`): ``"target"`` (default; the target's colours, hard alpha),
    colours ``uint8 [K,3]``, or ``"off"``.
    """
    source_frames = np.asarray(source_frames)
    target = np.asarray(target)
    rgba = has_transparent_background(target)
    colours = palette_for(palette, target, rgba_output=rgba)
    if getattr(retargeter, "returns_rgba", False):  # motionmap.retarget.Retargeter: does the alpha, palette, reference
        return retargeter.retarget(source_frames, target, palette="off" if colours is None else colours,
                                   reference=None if reference is None else np.asarray(reference))
    # Any other retargeter: the reference goes first and its own output is dropped.
    src = source_frames if reference is None else np.concatenate([np.asarray(reference)[None], source_frames])
    if rgba:
        # A retargeter that renders RGB only: render over black and over white and solve for alpha here.
        out = two_pass_rgba(lambda opaque: retargeter.retarget(src, opaque), target,
                            binary=True if colours is not None else None)
    else:
        out = retargeter.retarget(src, over_solid(target, BLACK) if target.shape[-1] == 4 else target)
    out = out if colours is None else lock_frames(out, colours)
    return out if reference is None else out[1:]


def retarget_animation(retargeter, source: Animation, target: np.ndarray,
                       reference: Optional[np.ndarray] = None, palette: Palette = DEFAULT_PALETTE) -> Animation:
    """``source`` replayed with ``target``'s look: an :class:`Animation` with the source's frame durations.

    target: ``uint8 [H,W,3|4]`` of the source frames' size (else :class:`MotionmapError`); RGBA with a transparent
    background gives RGBA frames with that background transparent. ``reference``, ``palette``: see
    :func:`retarget_frames`.
    """
    check_target_size(np.asarray(target), source.frames.shape[1:3])
    frames = retarget_frames(retargeter, source.frames, target, reference, palette)
    return Animation(frames, source.durations_ms)


def _check_lpc_sheet(sheet: np.ndarray) -> np.ndarray:
    sheet = np.asarray(sheet)
    lw, lh = LPC_LAYOUT.size
    if sheet.dtype != np.uint8 or sheet.ndim != 3 or sheet.shape[-1] not in (3, 4):
        raise MotionmapError(f"source sheet: expected uint8 [H,W,4], got {sheet.dtype} {tuple(sheet.shape)}")
    if not is_lpc_size(sheet.shape[1], sheet.shape[0]):
        raise MotionmapError(
            f"source sheet: {sheet.shape[1]}x{sheet.shape[0]} is not an LPC sheet ({lw}x{lh}); "
            "--all needs an LPC source sheet"
        )
    return to_rgba(sheet)


def _row_groups(sheet: np.ndarray, reference_animation: Optional[str]):
    """The LPC rows retargeted together: ``(facing, reference frame uint8 [64,64,4] or None, [row index...])`` per
    group. The rows of a facing share its reference frame (the first ``reference_animation`` frame), so their frames
    go through the model in one call: bigger batches, which keep both cores of a 2-core CPU busy. Without a reference
    (``reference_animation=None``, or an empty reference row) each row is its own group, starting at its own first
    frame. Hurt (front-facing only) counts as ``"down"``."""
    groups = {}
    for i, spec in enumerate(LPC_LAYOUT.rows):
        facing = spec.facing or "down"
        reference = None
        if reference_animation is not None:
            ref = first_frame(sheet, LPC_LAYOUT, LPC_LAYOUT.row_index(reference_animation, facing))
            reference = ref if ref[..., 3].any() else None
        key = facing if reference is not None else (facing, i)
        groups.setdefault(key, (facing, reference, []))[2].append(i)
    return list(groups.values())


def retarget_lpc_sheet(
    retargeter,
    source_sheet: np.ndarray,
    targets: Mapping[str, np.ndarray],
    progress: Union[bool, Callable[[int, int], None]] = True,
    reference_animation: Optional[str] = REFERENCE_ANIMATION,
    palette: Palette = DEFAULT_PALETTE,
) -> np.ndarray:
    """Every animation and facing of an LPC sheet, retargeted onto a character drawn once per facing.

    source_sheet: ``uint8 [1344,832,4]`` (taller LPC sheets are accepted; extra rows are ignored).
    targets: ``{facing: uint8 [64,64,3|4]}`` for every facing in :data:`~motionmap.layout.FACINGS`, each drawn in the
        pose of the source's first ``reference_animation`` frame of that facing (``None``: in each row's first pose).
        Hurt (front-facing only) uses ``"down"``.
    progress: ``True`` shows a tqdm bar; a function is called as ``progress(rows_done, rows_total)`` after each
        facing's rows, which go through the model together (:func:`_row_groups`; the demo page's progress bar);
        ``False`` is silent.
    palette: palette lock (:mod:`motionmap.palette`); ``"target"`` (default) locks every row to the colours of all
        four targets together (a limb that one facing hides may show in another), colours ``uint8 [K,3]`` to those
        (``motionmap retarget --all`` passes the target sheet's colours), ``"off"`` gives the soft output.
    Returns ``uint8 [1344,832,4]`` in :data:`~motionmap.layout.LPC_LAYOUT`: transparent where the source is (unused
    cells, empty rows). With opaque targets the filled cells are opaque; with transparent backgrounds, the character.
    One source sheet onto many targets (a catalogue): a retargeter loaded with ``motion_cache=4`` or more computes the
    source's motion once per facing and reuses it for every later target, with the same result.
    """
    sheet = _check_lpc_sheet(source_sheet)
    palette = check_palette(palette)
    missing = [f for f in FACINGS if f not in targets]
    if missing:
        raise MotionmapError(f"--target: no target for facing {', '.join(missing)}; --all needs one per facing")
    if isinstance(palette, str) and palette == "target":
        palette = target_palette([np.asarray(targets[f]) for f in FACINGS])
    fw, fh = LPC_LAYOUT.frame_width, LPC_LAYOUT.frame_height
    for facing in FACINGS:
        check_target_size(np.asarray(targets[facing]), (fh, fw), name=f"--target ({facing})")
    width, height = LPC_LAYOUT.size
    out = np.zeros((height, width, 4), np.uint8)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(LPC_LAYOUT.rows), desc="retarget", unit="row")
    done = 0
    try:
        for facing, reference, rows in _row_groups(sheet, reference_animation):
            frames = [row_frames(sheet, LPC_LAYOUT, i) for i in rows]  # (n_i, 64, 64, 4) each
            present = [f[..., 3].reshape(len(f), -1).any(axis=1) for f in frames]  # (n_i,) each
            drawn = np.concatenate([f[p] for f, p in zip(frames, present)])
            if len(drawn):
                result = to_rgba(retarget_frames(retargeter, drawn, targets[facing], reference, palette))
                start = 0
                for i, f, p in zip(rows, frames, present):
                    cells = np.zeros_like(f)
                    cells[p] = result[start : start + int(p.sum())]
                    start += int(p.sum())
                    out[i * fh : (i + 1) * fh, : len(f) * fw] = frames_strip(cells)
            done += len(rows)
            if bar is not None:
                bar.update(len(rows))
            elif callable(progress):
                progress(done, len(LPC_LAYOUT.rows))
    finally:
        if bar is not None:
            bar.close()
    return out
