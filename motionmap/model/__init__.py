"""MotionMapper: networks, losses and the LightningModule (see :mod:`motionmap.model.module`)."""

from motionmap.model.config import LossConfig, NetConfig, OptimConfig

__all__ = ["LossConfig", "NetConfig", "OptimConfig", "MotionMapper"]


def __getattr__(name):
    # Lazy: importing configs must not import Lightning.
    if name == "MotionMapper":
        from motionmap.model.module import MotionMapper

        return MotionMapper
    raise AttributeError(f"module 'motionmap.model' has no attribute {name!r}")
