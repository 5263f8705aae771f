"""The model's memory budget: what one frame pair costs, how many frames go through one pass, what is refused.

The coarse motion is a global correlation between the two frames' feature cells (H/4 x W/4 each, the source padded by
3 cells): ``N * M`` floats with ``N = (H/4)(W/4)`` and ``M = (H/4 + 6)(W/4 + 6)``, quadratic in the frame's pixel
count. A 2048x2048 frame would need hundreds of GB for it, so the model path takes frames of at most
:data:`~motionmap.layout.MAX_FRAME_SIDE` (256) px a side (the readers accept bigger images: sheets, and animations
up to 2048x2048 for other uses) and refuses bigger ones with the limit in the message.

Within that, memory is bounded by chunking over frames: a retarget runs ``frames_per_pass`` frames at a time, so its
peak is the runtime (~0.3 GB) plus one pass (at most :data:`PASS_BUDGET_BYTES`, or one pair when a single pair is
larger) plus the uint8 input and output, whatever the frame count. A training step on the CPU is refused when its batch
would need more than :data:`TRAIN_BUDGET_BYTES`, naming the largest batch that fits.

Per-pair costs are fitted to peak RSS measured on the shipped flow model (``benchmarks/memory.py``; 2-core CPU,
1 thread): inference 6 MB at 64x64 and ~0.4 GB at 256x256, a training pair (forward and backward) 12 MB at 64x64 and
~0.5 GB at 256x256. The linear term is the convolution and refinement activations per pixel, the quadratic one the
correlation volume with its softmax and cost copies (4 float32 volumes alive at once).
"""

from __future__ import annotations

from motionmap.errors import MotionmapError
from motionmap.layout import MAX_FRAME_SIDE

# Bytes of activations per pixel of one pair, inference (with the flow refinement's gradients) and training.
INFER_BYTES_PER_PIXEL = 1536
TRAIN_BYTES_PER_PIXEL = 3072
# Correlation volumes of float32 alive at once (cost, patch cost, logits, softmax).
CORRELATION_COPIES = 4
# Memory one retarget pass may use for its frame pairs: 64x64 sprites go 32 at a time (no slower than 64; larger
# batches only grew glibc's heap: 1.3 GB peak for 192 frames in passes of 64), 256x256 frames one at a time.
PASS_BUDGET_BYTES = 256 * 2**20
# Memory one CPU training step may use: with the ~0.5 GB runtime and the data loader, well under 4 GB.
TRAIN_BUDGET_BYTES = 3 * 2**30
_CELL = 4  # pixels per feature cell (motionmap.model.nets.CELL)
_PAD = 3  # cells of padding around the source in the correlation (motionmap.model.forms.dense.PAD)


def correlation_floats(height: int, width: int) -> int:
    """Floats in one pair's global correlation volume: ``N * M`` (see the module docstring)."""
    h, w = -(-height // _CELL), -(-width // _CELL)  # the model pads frames up to whole cells
    return h * w * (h + 2 * _PAD) * (w + 2 * _PAD)


def pair_bytes(height: int, width: int, training: bool = False) -> int:
    """Estimated peak bytes one frame pair of ``height x width`` adds to a model pass (inference or training)."""
    per_pixel = TRAIN_BYTES_PER_PIXEL if training else INFER_BYTES_PER_PIXEL
    return per_pixel * height * width + 4 * CORRELATION_COPIES * correlation_floats(height, width)


# Peak RSS of loading torch and a model (measured 314-331 MB), with room to spare.
RUNTIME_BYTES = 400 * 2**20
# Passes' worth of memory the allocator may hold at once: glibc keeps freed pass memory for reuse, so a long retarget
# peaks at 1-2.5 passes above the runtime (measured 601-910 MB for 192-1500 frames of 64x64), not at one.
PASSES_HELD = 3


def retarget_peak_bytes(height: int, width: int, frames: int) -> int:
    """The documented bound on a retarget's peak memory: the runtime, :data:`PASSES_HELD` passes (a pass is
    :data:`PASS_BUDGET_BYTES`, or one pair where a pair is larger), and the uint8 frames (RGBA input, RGB output:
    7 bytes a pixel). Under 4 GB for every size the model takes: 1.14 GB + 28 kB a frame at 64x64, 1.57 GB + 448 kB
    a frame at 256x256; at most 2.2 GB, as the readers allow at most 100 megapixels per animation."""
    one_pass = max(PASS_BUDGET_BYTES, pair_bytes(height, width))
    return RUNTIME_BYTES + PASSES_HELD * one_pass + 7 * height * width * frames


def check_frame_size(height: int, width: int, name: str = "frames") -> None:
    """Refuse frames the model cannot take within its memory budget (more than MAX_FRAME_SIDE px a side)."""
    if max(height, width) > MAX_FRAME_SIDE:
        raise MotionmapError(
            f"{name}: frames of {width}x{height} are larger than the model takes ({MAX_FRAME_SIDE} px a side: its "
            f"global correlation grows with the square of the pixel count, {pair_bytes(height, width) / 2**30:.1f} "
            "GB per frame here); scale or crop the frames"
        )


def frames_per_pass(height: int, width: int, batch_size: int) -> int:
    """How many frames of ``height x width`` one retarget pass takes: at most ``batch_size``, and no more than fit
    :data:`PASS_BUDGET_BYTES` (at least one)."""
    return max(1, min(int(batch_size), PASS_BUDGET_BYTES // pair_bytes(height, width)))


def max_training_batch(height: int, width: int) -> int:
    """The largest training batch of ``height x width`` pairs within :data:`TRAIN_BUDGET_BYTES` (at least 1)."""
    return max(1, TRAIN_BUDGET_BYTES // pair_bytes(height, width, training=True))


def check_training_batch(batch: int, height: int, width: int) -> None:
    """Refuse a CPU training batch whose pairs would need more than :data:`TRAIN_BUDGET_BYTES`."""
    check_frame_size(height, width, name="training data")
    if batch > max_training_batch(height, width):
        need = batch * pair_bytes(height, width, training=True) / 2**30
        raise MotionmapError(
            f"--data.batch_size {batch}: a training step on {width}x{height} frames would need about {need:.1f} GB "
            f"(limit {TRAIN_BUDGET_BYTES / 2**30:.0f} GB on the CPU); use --data.batch_size "
            f"{max_training_batch(height, width)} or less"
        )
