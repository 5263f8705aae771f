"""motionmap: self-supervised sprite motion transfer (Resnick et al. 2021).

Give it a character's animation and a second character drawn in one pose; it returns the second character performing
that animation. See README.md.
"""

__version__ = "0.1.0"

from motionmap.errors import MotionmapError  # noqa: E402


def __getattr__(name):
    # Lazy: importing the package must stay cheap (the CLI imports it before torch is needed).
    if name == "Retargeter":
        from motionmap.retarget import Retargeter

        return Retargeter
    raise AttributeError(f"module 'motionmap' has no attribute {name!r}")


__all__ = ["MotionmapError", "Retargeter", "__version__"]
