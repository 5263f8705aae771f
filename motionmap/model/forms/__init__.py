"""The motion forms (transformation networks tau), one module each; :func:`make_tau` builds the one a config names.

| ``NetConfig.motion`` | class | module |
|---|---|---|
| ``"affine"`` | :class:`AffineTau` (the paper's form) | :mod:`.affine` |
| ``"dense"`` | :class:`DenseTau` | :mod:`.dense` |
| ``"flow"`` | :class:`FlowTau` (the shipped model's form) | :mod:`.flow` |

Every form follows :class:`~motionmap.model.forms.base.MotionForm`. (A fourth form, ``"parts"``, K part affines fitted
from the dense correlation, was removed: it had no recipe or trained model and lost to ``"dense"``, docs/RESEARCH.md.)
"""

from __future__ import annotations

from typing import Dict, Type

from torch import nn

from motionmap.model.config import NetConfig
from motionmap.model.forms.affine import AffineTau
from motionmap.model.forms.base import MotionForm
from motionmap.model.forms.dense import DenseTau
from motionmap.model.forms.flow import FlowTau

FORMS: Dict[str, Type[nn.Module]] = {cls.name: cls for cls in (AffineTau, DenseTau, FlowTau)}

__all__ = ["FORMS", "AffineTau", "DenseTau", "FlowTau", "MotionForm", "make_tau"]


def make_tau(cfg: NetConfig) -> nn.Module:
    """The motion form ``cfg.motion`` names (one of :data:`FORMS`), built from ``cfg``; a :class:`MotionForm`."""
    return FORMS[cfg.motion](cfg)
