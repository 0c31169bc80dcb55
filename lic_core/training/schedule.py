"""Learning-rate schedules as pure functions of training progress.

A schedule maps ``progress = step / total`` in [0, 1] to a factor of the base learning rate.
Being stateless, it resumes exactly from the step alone.

- ``constant``: 1;
- ``cosine``: half a cosine from 1 to ``floor`` (default 0.01);
- ``step``: CompressAI-style decay, multiplied by ``gamma`` (0.1) at each milestone fraction
  (default 0.8 and 0.95 of training).

Every schedule may start with a linear warm-up over the first ``warmup`` fraction.

A :class:`RateWeight` is a rate-weight warm-up, also a function of the progress: the rate term
of ``lambda * D + bpp`` is multiplied by ``weight`` until a fraction of training or until the
LR schedule's first drop (as the CCA authors train: a small ``beta`` until the first LR
milestone), then by 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

KINDS = ("constant", "cosine", "step")


@dataclass(frozen=True)
class LRSchedule:
    kind: str = "cosine"
    warmup: float = 0.0
    floor: float = 0.01
    gamma: float = 0.1
    milestones: tuple[float, ...] = field(default=(0.8, 0.95))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"LR schedule must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warm-up must be a fraction in [0, 1), got {self.warmup}")

    def factor(self, progress: float) -> float:
        p = min(max(float(progress), 0.0), 1.0)
        if self.kind == "cosine":
            f = self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * p))
        elif self.kind == "step":
            f = self.gamma ** sum(p >= m for m in self.milestones)
        else:
            f = 1.0
        if self.warmup > 0 and p < self.warmup:
            f *= (p + 1e-12) / self.warmup
        return f

    def to_dict(self) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


def parse_schedule(text: str) -> LRSchedule:
    """``cosine``, ``step``, ``constant`` with options, e.g. ``step:milestones=0.6+0.9,gamma=0.5`` or
    ``cosine:warmup=0.02,floor=0``."""
    kind, _, rest = text.partition(":")
    options: dict = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in ("warmup", "floor", "gamma", "milestones"):
            raise ValueError(f"bad LR schedule option {item!r} (warmup=, floor=, gamma=, milestones=a+b)")
        options[key] = tuple(float(v) for v in value.split("+")) if key == "milestones" else float(value)
    return LRSchedule(kind.strip() or "cosine", **options)


@dataclass(frozen=True)
class RateWeight:
    """``weight`` on the rate for ``progress < until`` (a fraction of training), then 1."""

    weight: float
    until: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"the rate weight must be a positive number, got {self.weight}")
        if not 0.0 < self.until <= 1.0:
            raise ValueError(f"the rate weight's until must be a fraction in (0, 1], got {self.until}")

    def factor(self, progress: float) -> float:
        return self.weight if progress < self.until else 1.0

    def to_dict(self) -> dict:
        return asdict(self)


def first_drop(lr: LRSchedule) -> float:
    """The progress at which ``lr`` first lowers the learning rate (a ``step`` schedule's first
    milestone); :class:`ValueError` for schedules without a drop."""
    drops = sorted(m for m in lr.milestones if 0.0 < m <= 1.0) if lr.kind == "step" and lr.gamma < 1 else []
    if not drops:
        raise ValueError(
            f"until=lr-drop needs a step LR schedule with a milestone (--schedule is {lr.kind!r}); give until=FRACTION"
        )
    return drops[0]


def parse_rate_weight(text: str, lr: LRSchedule) -> RateWeight:
    """``W`` or ``W:until=lr-drop`` (the LR schedule's first drop) or ``W:until=FRACTION``,
    e.g. ``0.3:until=0.5``."""
    head, _, rest = text.partition(":")
    until: float | None = None
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key.strip() != "until":
            raise ValueError(f"bad rate-weight option {item!r} (until=FRACTION or until=lr-drop)")
        value = value.strip()
        if value == "lr-drop":
            until = None
        else:
            try:
                until = float(value)
            except ValueError:
                raise ValueError(f"until must be a fraction or lr-drop, got {value!r}") from None
    try:
        weight = float(head)
    except ValueError:
        raise ValueError(f"the rate weight must be a number, got {head!r}") from None
    return RateWeight(weight, first_drop(lr) if until is None else until)
