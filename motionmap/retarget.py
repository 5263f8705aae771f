"""The user API: load a trained MotionMapper and replay one character's motion with another's look.

>>> from motionmap import Retargeter
>>> r = Retargeter.load("runs/lpc/checkpoints/last.ckpt")      # doctest: +SKIP
>>> frames = r.retarget(source_frames, target)                  # doctest: +SKIP

``source_frames``: ``uint8 [T,H,W,3|4]`` character A's animation; ``target``: ``uint8 [H,W,3|4]`` character B drawn in
the pose of ``source_frames[0]``; result: ``uint8 [T,H,W,3]``, B performing A's motion on B's background. An RGBA
source is composited over black. An RGBA target with a transparent background gives ``uint8 [T,H,W,4]``: the background
stays transparent, the character opaque (rendered over black and over white, alpha solved per pixel; see
:mod:`motionmap.alpha`). By default the output is palette-locked: only the target's own colours, alpha 0 or 255
(``retarget(..., palette="off")`` for the soft output; :mod:`motionmap.palette`).
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional, Union

import numpy as np

from motionmap.crop import CropPlan, plan_crop
from motionmap.errors import MotionmapError
from motionmap.layout import MIN_FRAME_SIDE
from motionmap.motion_cache import MotionCache
from motionmap.palette import DEFAULT_PALETTE
from motionmap.scale import ScalePlan, plan_scale

if TYPE_CHECKING:
    from motionmap.model.refine import RefineConfig
    from motionmap.palette import Palette

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "default.ckpt"

SCALE_MODES = ("auto", "native")
"""``auto``: run the model at its training pixel scale (:mod:`motionmap.scale`); ``native``: at the input's size."""


def _to_float(images: np.ndarray):
    """``uint8 [...,H,W,3|4]`` -> ``float [...,3,H,W] in [0,1]``; RGBA is composited over black."""
    import torch

    t = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True)).float() / 255.0
    if t.shape[-1] == 4:
        t = t[..., :3] * t[..., 3:4]
    return t.movedim(-1, -3).contiguous()


def _to_uint8(images) -> np.ndarray:
    """``float [B,3,H,W] in [0,1]`` -> ``uint8 [B,H,W,3]``."""
    import torch

    return (images.float() * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _moving_frames(source_frames: np.ndarray, a0, step: int) -> np.ndarray:
    """Indices of the frames of ``uint8 [T,H,W,3|4]`` that differ from ``a0`` (``float [1,3,H,W]``, the reference) as
    the model sees them (RGBA over black), converted ``step`` frames at a time -> ``int [M]``."""
    return np.concatenate([
        i + np.flatnonzero((_to_float(source_frames[i : i + step]).to(a0.device) != a0).flatten(1).any(1).cpu().numpy())
        for i in range(0, len(source_frames), step)])


def _distinct_frames(source_frames: np.ndarray, frames: np.ndarray):
    """Of the frame indices ``frames`` (``int [M]``) into ``uint8 [T,H,W,C]``, the first of each set of identical
    frames (``int [U]``, in order) and, for each of ``frames``, the position of its first in that list (``int [M]``).
    Animations repeat frames (a held pose, a cycle drawn twice): a repeat is drawn once and copied."""
    position = {}
    inverse = np.array([position.setdefault(source_frames[i].tobytes(), len(position)) for i in frames], np.intp)
    firsts = np.empty(len(position), np.intp)
    firsts[inverse[::-1]] = frames[::-1]  # the last write per position is its first occurrence
    return firsts, inverse


CPU_PIXELS_PER_THREAD = 16 * 64 * 64
"""Frame pixels per model pass and CPU thread: a pass's working set then stays in the cores' caches (on one thread,
an LPC sheet's facings, 43 frames of 64x64 each, took 1.62 s in passes of up to 64 frames, 1.54 s in passes of 16
and 1.62 s in passes of 8)."""


def cpu_frames_per_pass(height: int, width: int, threads: int) -> int:
    """Frames of ``height x width`` per model pass on a CPU with ``threads`` threads (at least 1)."""
    return max(1, CPU_PIXELS_PER_THREAD * threads // (height * width))


MAX_AUTO_THREADS = 4  # 64x64 sprites gain little from more


def check_threads(threads, flag: bool = False) -> None:
    """A one-line :class:`MotionmapError` unless ``threads`` is None (automatic) or an integer >= 1; ``flag``: name it
    as the ``--threads`` option rather than the keyword argument."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        name = f"--threads {threads!r}" if flag else f"threads={threads!r}"
        raise MotionmapError(f"{name}: need an integer >= 1 (or none: automatic)")


def auto_threads() -> int:
    """CPU threads for the model: the cores this process may use minus the machine's load (1-minute average,
    rounded), at least 1 and at most :data:`MAX_AUTO_THREADS`. More threads than free cores makes PyTorch many times
    slower (its threads wait on each other while other work holds the cores), so a busy machine gets 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return max(1, min(MAX_AUTO_THREADS, cores, int(cores - load + 0.5)))


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the body with ``threads`` PyTorch CPU threads, then restore the caller's setting."""
    import torch

    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads != before:
            torch.set_num_threads(before)


def _check_frames(name: str, arr, ndim: int) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise MotionmapError(f"{name}: expected a numpy uint8 array, got {type(arr).__name__}; convert it with numpy.asarray")
    shape = "[T,H,W,3|4]" if ndim == 4 else "[H,W,3|4]"
    if arr.dtype != np.uint8 or arr.ndim != ndim or arr.shape[-1] not in (3, 4):
        raise MotionmapError(f"{name}: expected uint8 {shape}, got {arr.dtype} {list(arr.shape)}; pass RGB or RGBA frames")
    if min(arr.shape[-3], arr.shape[-2]) < MIN_FRAME_SIDE:  # any other size works: the model pads internally
        raise MotionmapError(f"{name}: frame size {arr.shape[-2]}x{arr.shape[-3]} is below the {MIN_FRAME_SIDE} px minimum; "
                             "use frames at least 8x8")
    return arr


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise MotionmapError(f"batch_size={batch_size!r}: must be an integer >= 1 (frames per model pass)")


def _check_same_size(source_frames: np.ndarray, target: np.ndarray, name: str = "target") -> None:
    if source_frames.shape[1:3] != target.shape[:2]:
        raise MotionmapError(f"{name}: size {target.shape[1]}x{target.shape[0]} differs from the source frames' "
                             f"{source_frames.shape[2]}x{source_frames.shape[1]}; resize one to match")
    if len(source_frames) == 0:
        raise MotionmapError("source_frames: empty animation; pass at least one frame")


def check_model_frame_size(source_frames: np.ndarray, target: np.ndarray, scale: str = "auto",
                           name: str = "source_frames") -> None:
    """Refuse, before a model is loaded, frames that are over the model's limit at the scale it would run them at
    (:mod:`motionmap.model.budget`: 256 px a side; a 512 px export of 128 px art at 4x is fine)."""
    from motionmap.model.budget import check_frame_size

    plan = plan_scale(source_frames, target) if scale == "auto" else ScalePlan()
    check_frame_size(*plan.to_model(source_frames[:1]).shape[1:3], name=name)


class Retargeter:
    """A trained MotionMapper in eval mode on one device. Build it with :meth:`load`.

    ``threads``: PyTorch CPU threads used inside :meth:`retarget` (the caller's setting is restored after each call);
    None picks :func:`auto_threads` once, here: the free cores, 1 on a busy machine.
    ``precision``: ``auto`` (default) runs the network's convolutions in bfloat16 on a CPU that computes it natively
    (Intel AMX / AVX512-BF16; about 1.3x faster retargeting, the same benchmark scores) and in float32 elsewhere;
    ``bf16`` or ``fp32`` force one (:mod:`motionmap.model.precision`).
    ``appear``: ``source`` (default) redraws the pixels that come into view in the source's frames (a limb swinging
    out from behind the body), which the target has no pixels for, in the target's colours for the source's colours
    there (:mod:`motionmap.appear`); ``off`` leaves them to the model.
    ``motion_cache``: how many source animations' motions to keep (default 0: none). The source's motion (network and
    refinement, most of a retarget's time) does not depend on the target, so the same animation onto another target,
    palette or background then costs only the target's part, with the same result bit for bit
    (:mod:`motionmap.motion_cache`; the preview page keeps 4). It assumes the model's weights do not change; call
    ``motion_cache.clear()`` if they do.
    ``crop``: run the model only on the box that holds the character, with 8 px of background around it, and keep the
    target's own pixels outside it (default True; :mod:`motionmap.crop`): on LPC rows 70-80 % of the frame, the
    same benchmark scores. Over a scene background the box is the whole frame.
    """

    def __init__(self, model, device: str = "cpu", refine: Optional["RefineConfig"] = None, scale: str = "auto",
                 threads: Optional[int] = None, precision: str = "auto", appear: str = "source",
                 motion_cache: int = 0, crop: bool = True):
        from motionmap.appear import check_appear
        from motionmap.model.precision import uses_bf16
        from motionmap.model.refine import RefineConfig

        if scale not in SCALE_MODES:
            raise MotionmapError(f"scale={scale!r}: expected one of {', '.join(SCALE_MODES)}")
        check_threads(threads)
        self.model = model.eval().to(device)
        self.device = device
        self.refine = RefineConfig() if refine is None else refine
        self.scale = scale
        self.threads = auto_threads() if threads is None else threads
        self.bf16 = uses_bf16(precision, device)
        self.appear = check_appear(appear, "appear")
        self.motion_cache = MotionCache(motion_cache)
        if not isinstance(crop, bool):
            raise MotionmapError(f"crop={crop!r}: need True or False")
        self.crop = crop

    @classmethod
    def load(cls, path: Optional[Union[str, "os.PathLike[str]"]] = None, device: str = "cpu",
             refine: Optional["RefineConfig"] = None, scale: str = "auto",
             threads: Optional[int] = None, precision: str = "auto", appear: str = "source",
             motion_cache: int = 0, crop: bool = True) -> "Retargeter":
        """Load a checkpoint written by ``motionmap train`` (``None``: the default model shipped with the package).

        ``refine``: test-time flow refinement for ``motion="flow"`` models (:mod:`motionmap.model.refine`); None uses
        its defaults (30 steps), ``RefineConfig(steps=0)`` turns it off (faster, less accurate).
        ``scale``: ``"auto"`` (default) runs pixel art exported k-times upscaled (every art pixel a k x k block) at
        its art size and blows the result up again; ``"native"`` runs every input at its own size (:mod:`motionmap.scale`).
        ``threads``: CPU threads (None: automatic, see the class); ``precision``, ``appear``, ``motion_cache``,
        ``crop``: see the class.

        Raises :class:`MotionmapError` (one line) for a missing, corrupt or mismatched file, and refuses (without
        running it) a checkpoint carrying pickled code; see :func:`motionmap.checkpoint.load_model`.
        """
        import torch

        from motionmap.appear import check_appear
        from motionmap.model.precision import check_precision

        check_precision(precision)  # before the checkpoint is read
        check_appear(appear, "appear")
        if path is None:
            if not DEFAULT_CHECKPOINT.is_file():
                raise MotionmapError("no default model shipped yet; pass --checkpoint")
            path = DEFAULT_CHECKPOINT
        from motionmap.checkpoint import load_model

        # Weights-only, format-version and config/weights checks live in one place (motionmap.checkpoint): a
        # checkpoint carrying pickled code is refused without running it.
        model = load_model(path, network_only=True).model
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise MotionmapError(f"device={device!r}: CUDA is not available here; use device='cpu'")
        return cls(model, device, refine, scale, threads, precision, appear, motion_cache, crop)

    # retarget() itself returns RGBA for targets with a transparent background (motionmap.core checks this).
    returns_rgba = True

    def retarget(self, source_frames: np.ndarray, target: np.ndarray, batch_size: int = 64,
                 keep_alpha: bool = True, palette: "Palette" = DEFAULT_PALETTE,
                 reference: Optional[np.ndarray] = None) -> np.ndarray:
        """Replay ``source_frames`` (A's animation, ``uint8 [T,H,W,3|4]``) with the look of ``target`` (B in A's first
        pose, ``uint8 [H,W,3|4]``, same H and W) -> ``uint8 [T,H,W,3]``. Deterministic for a given thread count
        (``threads``; between counts a few pixels can differ, as PyTorch's CPU kernels split sums by thread); at most
        ``batch_size`` frames per model pass, fewer where the memory budget says so (:mod:`motionmap.model.budget`)
        and, on a CPU, no more than its caches hold well (:func:`cpu_frames_per_pass`: 16 frames of 64x64 per thread).
        Frames over 256 px a side are refused (:class:`MotionmapError`, naming the limit).

        With ``keep_alpha`` (default) and an RGBA target with a transparent background (at least 5% of its pixels at
        alpha 0, :func:`motionmap.alpha.has_transparent_background`), returns ``uint8 [T,H,W,4]``:
        transparent where the target's background shows, opaque on the character (two renderings of one motion, over
        black and over white, and :func:`motionmap.alpha.matte`). Otherwise an RGBA target is composited over black
        and the result is RGB.

        ``palette`` (:mod:`motionmap.palette`): ``"target"`` (default) snaps every visible output pixel to the nearest
        colour of the target (:func:`~motionmap.palette.target_palette`: its RGB colours, transparent pixels left
        out) and makes RGBA alpha hard, 0 or 255; colours ``uint8 [K,3]`` snap to those instead (e.g. the colours
        of the whole sheet the target came from); ``"off"`` gives the model's soft output (blended colours; alpha
        hard only when the target's alpha is). Anything else raises :class:`MotionmapError`.

        ``reference`` (``uint8 [H,W,3|4]``, a frame of A, RGBA over black): the pose ``target`` is drawn in, when that is
        not ``source_frames[0]``; the motion is then ``reference -> a_t`` for every t (the same frames as prepending it
        to ``source_frames`` and dropping its own output, without computing that output).

        A frame identical to the pose ``target`` is drawn in (``source_frames[0]`` or ``reference``, compared over
        black) gets ``target`` itself, pixel for pixel, without a model pass; a frame identical to an earlier one
        gets that one's answer, without a pass of its own.
        """
        from motionmap.alpha import BLACK, WHITE, has_transparent_background, is_binary_alpha, matte, over_solid
        from motionmap.palette import lock_frames, palette_for

        _check_batch_size(batch_size)
        _check_frames("source_frames", source_frames, 4)
        _check_frames("target", target, 3)
        _check_same_size(source_frames, target)
        if reference is not None:
            _check_frames("reference", reference, 3)
            _check_same_size(source_frames, reference, "reference")
        rgba = keep_alpha and has_transparent_background(target)
        colours = palette_for(palette, target, rgba_output=rgba)  # checks the option before the model runs
        with torch_threads(self.threads):
            if rgba:
                # Difference matting (motionmap.alpha): the target over black and over white, one motion for both.
                over_black, over_white = self._render(
                    source_frames, [over_solid(target, BLACK), over_solid(target, WHITE)], batch_size, reference)
                hard = colours is not None or is_binary_alpha(target[..., 3])
                out = matte(over_black, over_white, binary=hard)
            else:
                out = self._render(source_frames, [target], batch_size, reference)[0]
        return out if colours is None else lock_frames(out, colours)

    def _render(self, source_frames: np.ndarray, targets: List[np.ndarray], batch_size: int,
                reference: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """``uint8 [T,H,W,3|4]`` onto each of ``targets`` ``uint8 [H,W,3|4]`` (RGBA over black) -> one
        ``uint8 [T,H,W,3]`` per target, run at the model's pixel scale (:func:`motionmap.scale.plan_scale`, planned on
        the first target and the reference) unless ``scale="native"``. Inputs are checked by :meth:`retarget`."""
        plan = plan_scale(source_frames, targets[0], reference) if self.scale == "auto" else ScalePlan()
        if plan.is_identity:
            return self._cropped_pass(source_frames, targets, batch_size, reference)
        outs = self._cropped_pass(plan.to_model(source_frames), [plan.to_model(t) for t in targets], batch_size,
                                  None if reference is None else plan.to_model(reference))
        return [plan.from_model(o) for o in outs]

    def _cropped_pass(self, source_frames: np.ndarray, targets: List[np.ndarray], batch_size: int,
                      reference: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """:meth:`_model_pass` on the box that holds the character (:func:`motionmap.crop.plan_crop`; the whole frame
        over a scene background), the targets themselves outside it. Same shapes as :meth:`_model_pass`."""
        crop = plan_crop(source_frames, targets, reference) if self.crop else CropPlan()
        if crop.is_identity:
            return self._model_pass(source_frames, targets, batch_size, reference)
        outs = self._model_pass(crop.to_model(source_frames), [crop.to_model(t) for t in targets], batch_size,
                                None if reference is None else crop.to_model(reference))
        return [crop.from_model(o, t) for o, t in zip(outs, targets)]

    def _model_pass(self, source_frames: np.ndarray, targets: List[np.ndarray], batch_size: int,
                    reference: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """The model pass at the given size: ``uint8 [T,H,W,3|4]`` and targets ``uint8 [H,W,3|4]`` -> one
        ``uint8 [T,H,W,3]`` per target. A's motion from ``reference`` (default ``source_frames[0]``) is computed once
        per chunk of frames (the model's ``transfer_motion``, with the flow refinement), moved onto the target's body
        (``adapt_motion``, a no-op without a target adaptor) and rendered onto every target (``transfer_render``)."""
        import torch

        from motionmap.appear import appearing_mask, colour_correspondence, paint_appearing
        from motionmap.model.budget import check_frame_size, frames_per_pass
        from motionmap.model.precision import autocast

        height, width = source_frames.shape[1:3]
        check_frame_size(height, width, name="source_frames")
        # Chunked over frames (motionmap.model.budget): the peak is a few passes plus the uint8 input and output,
        # whatever T (the allocator keeps freed pass memory for reuse; it levels off).
        step = frames_per_pass(height, width, batch_size)
        if torch.device(self.device).type == "cpu":
            step = min(step, cpu_frames_per_pass(height, width, self.threads))
        outs = [np.empty(source_frames.shape[:3] + (3,), np.uint8) for _ in targets]  # (T, H, W, 3) each
        # A frame identical to the reference is the pose the target is drawn in: its answer is the target itself,
        # pixel for pixel (the model would only redraw it), and it costs nothing. A frame identical to an earlier
        # one gets that one's answer.
        with torch.inference_mode(), autocast(self.device, self.bf16):
            pose = source_frames[:1] if reference is None else reference[None]  # uint8 [1,H,W,C]: the target's pose
            a0 = _to_float(pose).to(self.device)  # (1, 3, H, W)
            moving = _moving_frames(source_frames, a0, step)
            distinct, copy_of = _distinct_frames(source_frames, moving)
            b0s = [_to_float(t[None]).to(self.device) for t in targets]  # (1, 3, H, W) each
            for out, b0 in zip(outs, b0s):
                out[:] = _to_uint8(b0)
            # A's colour -> each target's colour, for the pixels that come into view (motionmap.appear)
            colours = [colour_correspondence(_to_uint8(a0)[0], o[0]) for o in outs] if self.appear == "source" else None
            if len(distinct):  # passes of even size: 43 frames in steps of 16 go as 15, 14, 14, not 16, 16, 11
                step = math.ceil(len(distinct) / math.ceil(len(distinct) / step))
            # A's motion per pass (and the pixels coming into view), from the cache when this source was seen
            key = None
            if self.motion_cache.capacity:
                key = MotionCache.key(pose, source_frames[distinct], step, self.refine, self.bf16, self.threads,
                                      str(self.device), self.appear)
            cached = self.motion_cache.get(key) if key is not None else None
            passes = []
            for n, i in enumerate(range(0, len(distinct), step)):
                frames = distinct[i : i + step]
                a_t = _to_float(source_frames[frames]).to(self.device)  # (n, 3, H, W)
                if cached is not None:
                    motion, appearing = cached[n]
                else:
                    motion = self.model.transfer_motion(a0, a_t, self.refine)
                    appearing = appearing_mask(a0, a_t, motion.pixel_grid).cpu().numpy() if colours else None  # (n,H,W)
                    if key is not None:  # kept for the cache only: without one, each pass's motion is freed after it
                        passes.append((motion, appearing))
                if colours:
                    a_t_uint8 = _to_uint8(a_t)
                # The targets are one character over different backgrounds: its body is adapted to once.
                motion = self.model.adapt_motion(motion, a0, a_t, b0s[0])
                for k, (out, b0) in enumerate(zip(outs, b0s)):
                    rendered = _to_uint8(self.model.transfer_render(b0, motion))  # (n, H, W, 3)
                    if colours:
                        rendered = paint_appearing(rendered, a_t_uint8, appearing, colours[k])
                    out[frames] = rendered
            if key is not None and cached is None:
                self.motion_cache.put(key, passes)
        if len(distinct) < len(moving):  # repeated frames: the answer of their first
            for out in outs:
                out[moving] = out[distinct[copy_of]]
        return outs
