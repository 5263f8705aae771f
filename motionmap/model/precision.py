"""Numeric precision of the model's passes: bfloat16 where the processor computes it natively, float32 elsewhere.

Recent x86 CPUs (Intel AMX, AVX512-BF16) multiply bfloat16 matrices several times faster than float32: measured on the
development machine (a 2-core Xeon slice with AMX), one 3x3 convolution of 9 frames of 64x64 with 32 channels runs
in 0.8 ms under bf16 autocast against 3.6 ms in float32. Without those instructions bf16 is emulated and slower, so
``auto`` uses it only where it is native. Autocast casts only the matrix products (convolutions, matmuls); the fixed
soft-argmin matching and the test-time refinement keep float32 (:func:`motionmap.model.motion.match_step` turns
autocast off; the refinement's ops are not on autocast's list), and the model's outputs are float32.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import ContextManager

from motionmap.errors import MotionmapError

PRECISIONS = ("auto", "bf16", "fp32")
"""``auto``: bf16 on a CPU with native bf16 (:func:`cpu_has_native_bf16`), float32 otherwise (and on CUDA);
``bf16``: bfloat16 autocast wherever; ``fp32``: float32 throughout."""


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (Intel AMX tiles or AVX512-BF16), per PyTorch's own check."""
    import torch

    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # a torch build that cannot tell
            continue
    return False


def check_precision(precision: object) -> str:
    if precision not in PRECISIONS:
        raise MotionmapError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    return precision


def uses_bf16(precision: str, device: str) -> bool:
    """Whether ``precision`` (one of :data:`PRECISIONS`) runs bf16 autocast on ``device`` (``cpu``, ``cuda[:N]``)."""
    check_precision(precision)
    if precision == "auto":
        return device == "cpu" and cpu_has_native_bf16()
    return precision == "bf16"


def autocast(device: str, bf16: bool) -> ContextManager:
    """The bf16 autocast context of ``device`` when ``bf16``, else a no-op."""
    if not bf16:
        return nullcontext()
    import torch

    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)


def trainer_precision(accelerator: object, devices_have_cuda: bool) -> str:
    """Lightning's ``precision`` for a run that did not choose one: ``bf16-mixed`` when it trains on a CPU with native
    bf16 (``accelerator`` ``cpu``, or ``auto`` on a machine without CUDA), else ``32-true`` (Lightning's own default;
    on a GPU pass ``--trainer.precision bf16-mixed`` yourself, as train/README says)."""
    on_cpu = accelerator == "cpu" or (accelerator in (None, "auto") and not devices_have_cuda)
    return "bf16-mixed" if on_cpu and cpu_has_native_bf16() else "32-true"
