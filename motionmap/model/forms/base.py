"""The protocol every motion form (a transformation network tau) follows.

A form takes the feature maps of the source and target frames and the frames themselves and returns a
:class:`~motionmap.model.motion.Motion`, the backward transform target -> source::

    tau(feat_src, feat_tgt, img_src, img_tgt) -> Motion

feat_src, feat_tgt: ``float [B,C,H/4,W/4]`` (``f(x)``, ``f(x')``); img_src, img_tgt: ``float [B,3,H,W] in [0,1]`` with
H and W multiples of 4 (img_src and feat_src may be one frame expanded over the batch, a retarget's ``a0``).
``Motion.latent_grid`` is ``[B,H/4,W/4,2]``, ``pixel_grid`` ``[B,H,W,2]``; ``pyramid`` holds each level's backward flow
in pixels when ``has_flow`` is true, and is empty otherwise.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from torch import Tensor

from motionmap.model.motion import Motion


@runtime_checkable
class MotionForm(Protocol):
    """A motion form: ``name`` (the ``NetConfig.motion`` value that builds it) and ``has_flow`` (its motions carry a
    full-resolution flow pyramid: the flow losses train it, test-time refinement and the target adaptor act on it)."""

    name: ClassVar[str]
    has_flow: ClassVar[bool]

    def __call__(self, feat_src: Tensor, feat_tgt: Tensor, img_src: Tensor, img_tgt: Tensor) -> Motion:
        ...
