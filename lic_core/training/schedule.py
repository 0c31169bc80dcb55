"""Learning-rate schedules as pure functions of training progress.

A schedule maps ``progress = step / total`` in [0, 1] to a factor of the base learning rate.
Being stateless, it resumes exactly from the step alone.

- ``constant``: 1;
- ``cosine``: half a cosine from 1 to ``floor`` (default 0.01);
- ``step``: CompressAI-style decay, multiplied by ``gamma`` (0.1) at each milestone fraction
  (default 0.8 and 0.95 of training).

Every schedule may start with a linear warm-up over the first ``warmup`` fraction.
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
