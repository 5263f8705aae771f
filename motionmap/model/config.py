"""Typed configs for the MotionMapper networks, losses and optimiser.

One dataclass per component, every field a plain type (int/float/bool/str) so a checkpoint's hyper-parameters
survive ``torch.load(weights_only=True)`` and rebuild exactly the saved model. ``LightningCLI`` turns these into the
``--model.net.*``, ``--model.loss.*`` and ``--model.optim.*`` options and YAML keys.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Optional, Type, TypeVar, Union

from motionmap.errors import MotionmapError

MOTIONS = ("affine", "dense", "flow")  # the forms of motionmap.model.forms, one module each
# Fields of forms that are gone (motion "parts": K part affines), still in the net config of older checkpoints:
# dropped when a checkpoint's config is read, so those checkpoints load.
RETIRED_NET_FIELDS = ("parts", "ridge")
LATENT_LOSSES = ("cosine", "l1")


@dataclass
class NetConfig:
    """Shapes of the encoders, the transformation network and the decoder."""

    # The motion form (motionmap.model.forms, one module each; docs/ARCHITECTURE.md has the table):
    # "affine": the paper's form, one 2x3 affine regressed by tau from (f(x), f(x')) and identity-initialised.
    # "dense": a 16x16 correlation's soft matches used directly as a coarse flow field (docs/RESEARCH.md: after 100
    # CPU steps each on LPC it beat K part affines fitted from the same matches, 156 vs 231 SSE/img).
    # "flow": dense as the coarse level, refined to full resolution (motionmap.model.forms.flow): the shipped model's
    # form and this default (the shipped default.ckpt adds a target adaptor, adapt_hidden 32). Every shipped config
    # names its form and every checkpoint stores its full net config, so none depends on this default.
    motion: str = "flow"
    # C of the character and background feature maps. 32 keeps a training step >= 100 pairs/s on 2 CPU cores.
    channels: int = 32
    # Channels of the first (stride-2) encoder stage and of the decoder's full-resolution stage.
    hidden: int = 16
    # Feature maps are H/4 x W/4 (16x16 for 64x64 sprites): one cell is 4 px, as in the prototypes.
    # Add a fixed (not learned) 8x8 pixel-patch descriptor to the correlation features: learned features alone flatten
    # under the matching loss and the correlation loses its peaks (docs/RESEARCH.md).
    patch_descriptor: bool = True
    # Softmax temperature of the correlation; costs are mean squared patch differences in [0, 2]. Swept on LPC pairs
    # with fixed 3x3 block masks: 0.005-0.02 warp best.
    temperature: float = 0.01
    # Gaussian locality prior on matches, sigma in feature cells: flat regions (black, uniform sky) match in place.
    # 2 cells beat 4 and 8 in the same sweep (wider priors let black cells match the character).
    match_sigma: float = 2.0
    # Copy path: the decoder blends its rendering with the source pixels warped by the same transform (docs/RESEARCH.md:
    # removed the 16x16 bottleneck's blur, training MSE 0.018 -> 0.008). Off in the paper's form.
    copy_path: bool = True
    # motion="flow": channels of the refinement blocks (the H x W level's features get half). The 16x16 dense
    # correlation is refined by residual flows at H/2 x W/2 and H x W (motionmap.model.forms.flow).
    flow_hidden: int = 16
    # motion="flow": before each learned refinement, a fixed local matching step (3x3-neighbourhood costs, soft-argmin
    # over shifts within this radius, 0 = off) corrects the flow; ties resolve toward no motion (prior sigma in
    # full-resolution pixels). It gives sub-cell motion from the first step, where photometric gradients are local.
    flow_match_radius: int = 2
    flow_match_temperature: float = 0.003
    flow_match_sigma: float = 2.0
    # Matching steps at each of the H/2 and H levels (the H/4 level gets one).
    flow_match_steps: int = 1
    # motion="flow": channels of the target adaptor (motionmap.model.adapt), 0 = none. The adaptor moves the source's
    # flow onto the target's body before the target is warped: bodies of another build move other pixels for the
    # same motion (a female body's walk swings its arms elsewhere). It learns from pairs of two characters playing
    # the same animation (data.cross_pairs); 0 keeps a checkpoint's outputs as they were.
    adapt_hidden: int = 0


@dataclass
class LossConfig:
    """Loss weights: total = pixel * |x^' - x'| + latent * match(T.f(x), f(x')) + background * |h(x) - h(x')|."""

    pixel: float = 1.0
    latent: float = 0.1
    background: float = 0.1
    # "cosine": 1 - cos per feature cell (docs/RESEARCH.md: L1 shrank features to zero); "l1": the paper's form.
    latent_form: str = "cosine"
    # motion="flow" only. warp: L1 of x warped by each pyramid level's flow against x' (the finest level weighs 1,
    # coarser ones 0.5 and 0.25): the flow learns from the photometric error itself, not only through the decoder.
    warp: float = 1.0
    # smooth and static are *training* weights. The test-time refinement of a retarget (RefineConfig in
    # motionmap.model.refine) has fields of the same names for the same two terms in its own objective, with its own
    # values (smooth 0.1, static 0.002); neither config reads the other's, and only RefineConfig acts at retarget time.
    # Edge-aware smoothness of the finest flow (pixels per pixel, down-weighted across x' edges); also of the target
    # adaptor's flow in its cross loss.
    smooth: float = 0.02
    # Flow magnitude (pixels) on flat regions of x' (no local contrast): backgrounds and black stay put.
    static: float = 0.002
    # Pixel L1 of the target adaptor's prediction of the partner's next frame (batches with data.cross_pairs > 0).
    cross: float = 1.0
    # Amortised refinement: L1 (pixels) between the finest flow and that flow polished by ``distill_steps`` steps of
    # the retarget-time refinement (RefineConfig's defaults, no gradient through it): the network is pulled toward
    # what the refinement would make of its flow. Meant to let retargeting need fewer refinement steps; 4.5 GPU minutes
    # of it did not (README, Speed, "Fifth round"). 0: off.
    distill: float = 0.0
    distill_steps: int = 30


@dataclass
class OptimConfig:
    """Adam with a short linear warm-up, then a constant rate, optionally decayed at the end.

    ``decay_from``: the step where a cosine decay starts, reaching ``lr * decay_to`` at the trainer's ``max_steps``
    (None keeps the rate constant). Schedules are recomputed from the step count, so a run resumed with
    ``--model.optim.decay_from`` set decays from there even if it started without one.
    ``decay_over``: ``"steps"`` (above) or ``"time"``: the cosine follows the share of the trainer's ``max_time``
    spent so far instead, so a run on hardware of unknown speed still ends at ``lr * decay_to`` when its time is up.
    """

    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_steps: int = 50
    decay_from: Optional[int] = None
    decay_to: float = 0.1
    decay_over: str = "steps"
    # What fit updates: "all" the weights, or "adapt" the target adaptor alone (the rest frozen, as loaded with
    # init_from, so the model's own motion and rendering stay exactly as they were).
    train: str = "all"


DECAY_OVER = ("steps", "time")
TRAINED_PARTS = ("all", "adapt")

C = TypeVar("C", NetConfig, LossConfig, OptimConfig)


def coerce_config(cls: Type[C], value: Union[C, Mapping[str, Any], None]) -> C:
    """Return ``value`` as a ``cls`` instance: a dataclass passes through, a mapping (from a checkpoint) is rebuilt.

    Unknown keys raise :class:`MotionmapError` (a checkpoint from another version of the model).
    """
    if value is None:
        cfg = cls()
    elif isinstance(value, cls):
        cfg = value
    elif isinstance(value, Mapping):
        if cls is NetConfig:
            value = {k: v for k, v in value.items() if k not in RETIRED_NET_FIELDS}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise MotionmapError(
                f"{cls.__name__}: unknown fields {unknown}; the checkpoint or config is from another model version"
            )
        cfg = cls(**dict(value))
    elif hasattr(value, "__dict__"):  # a jsonargparse Namespace
        return coerce_config(cls, dict(vars(value)))
    else:
        raise MotionmapError(f"{cls.__name__}: expected a mapping of fields, got {type(value).__name__}")
    validate(cfg)
    return cfg


# Allowed ranges, checked before a model is built from a config (a checkpoint's config is untrusted input: without
# bounds `channels: 100000` in a 1.5 kB file allocates hundreds of GB, `flow_match_steps: 1e7` never ends).
# (low, high, low is exclusive). The bounds are 10-30x the defaults: far beyond anything that trains at this project's
# speed targets, and small enough that building the largest model allowed stays under 1 GB.
NET_RANGES = {
    "channels": (1, 512, False), "hidden": (1, 512, False), "flow_hidden": (1, 256, False),
    "flow_match_radius": (0, 8, False), "flow_match_steps": (1, 16, False), "adapt_hidden": (0, 256, False),
    "temperature": (0.0, 100.0, True), "match_sigma": (0.0, 1000.0, True),
    "flow_match_temperature": (0.0, 100.0, True), "flow_match_sigma": (0.0, 1000.0, True),
}
LOSS_RANGES = {**{name: (0.0, 1e6, False)
                  for name in ("pixel", "latent", "background", "warp", "smooth", "static", "cross", "distill")},
               "distill_steps": (1, 300, False)}
OPTIM_RANGES = {"lr": (0.0, 10.0, True), "weight_decay": (0.0, 1e3, False), "warmup_steps": (0, 10**9, False),
                "decay_from": (0, 10**12, False), "decay_to": (0.0, 1.0, True)}
_SECTIONS = {"NetConfig": "net", "LossConfig": "loss", "OptimConfig": "optim"}


def _check_number(where: str, value: Any, integer: bool, low, high, low_open: bool) -> None:
    """One numeric field: the right type, finite, within [low, high] (or (low, high]); MotionmapError otherwise."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise MotionmapError(f"{where}: got {value!r} ({type(value).__name__}); must be {kind}")
    if not math.isfinite(value):
        raise MotionmapError(f"{where}: got {value!r}; must be a finite number")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise MotionmapError(f"{where}: got {value!r}; must be {kind} in {bracket}{low:g}, {high:g}]")


def validate(cfg: Union[NetConfig, LossConfig, OptimConfig]) -> None:
    """Check types, finiteness and allowed ranges (:data:`NET_RANGES`, ...); raise :class:`MotionmapError` naming the
    field and the received value. Runs before anything is allocated from the config."""
    section = _SECTIONS[type(cfg).__name__]
    ranges = {NetConfig: NET_RANGES, LossConfig: LOSS_RANGES, OptimConfig: OPTIM_RANGES}[type(cfg)]
    defaults = type(cfg)()
    for name, (low, high, low_open) in ranges.items():
        value = getattr(cfg, name)
        if value is None and getattr(defaults, name) is None:
            continue  # optional (optim.decay_from)
        _check_number(f"{section}.{name}", value, isinstance(low, int), low, high, low_open)
    if isinstance(cfg, NetConfig):
        if cfg.motion not in MOTIONS:
            gone = " (the 'parts' form was removed; retrain with 'dense' or 'flow')" if cfg.motion == "parts" else ""
            raise MotionmapError(f"net.motion: got {cfg.motion!r}{gone}; use one of {', '.join(MOTIONS)}")
        if cfg.adapt_hidden and cfg.motion != "flow":
            raise MotionmapError(f"net.adapt_hidden: the target adaptor needs motion 'flow' (got {cfg.motion!r}); "
                                 "set net.adapt_hidden 0")
        for name in ("patch_descriptor", "copy_path"):
            if not isinstance(getattr(cfg, name), bool):
                raise MotionmapError(f"net.{name}: got {getattr(cfg, name)!r}; must be true or false")
    elif isinstance(cfg, LossConfig):
        if cfg.latent_form not in LATENT_LOSSES:
            raise MotionmapError(f"loss.latent_form: got {cfg.latent_form!r}; use one of {', '.join(LATENT_LOSSES)}")
    elif isinstance(cfg, OptimConfig):
        if cfg.decay_over not in DECAY_OVER:
            raise MotionmapError(f"optim.decay_over: got {cfg.decay_over!r}; use one of {', '.join(DECAY_OVER)}")
        if cfg.train not in TRAINED_PARTS:
            raise MotionmapError(f"optim.train: got {cfg.train!r}; use one of {', '.join(TRAINED_PARTS)}")


def plain(cfg: Union[NetConfig, LossConfig, OptimConfig]) -> dict:
    """The config as a dict of plain types (what checkpoints store)."""
    return asdict(cfg)
