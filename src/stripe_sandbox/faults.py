"""Fault injection: latency, API errors, rate limits and misbehaving webhook delivery."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from stripe_sandbox.errors import StripeError

_RATES = ("error_rate", "rate_limit_rate", "webhook_drop_rate", "webhook_duplicate_rate")


@dataclasses.dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_reorder: bool = False
    # Steps for the next API requests, one each, in order: "error" (500), "rate_limit" (429),
    # "slow:<ms>" (answer normally after a pause). Deterministic, unlike the rates.
    script: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.update(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def update(self, changes: dict[str, Any]) -> None:
        """Validate and apply some settings at once (all or none), e.g. from the control API."""
        parsed: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(self)}
        for name, raw in changes.items():
            if name not in names:
                raise StripeError(f"Unknown fault: {name}", param=name)
            parsed[name] = _parse(name, raw)
        with self._lock:
            for name, value in parsed.items():
                setattr(self, name, value)

    def next_step(self) -> str | None:
        """Take the next scripted step, if any (thread-safe)."""
        with self._lock:
            return self.script.pop(0) if self.script else None

    def reset(self) -> None:
        self.update(Faults().to_dict())


def _parse(name: str, raw: Any) -> Any:
    try:
        if name == "latency_ms":
            value = int(raw)
            if value < 0:
                raise ValueError
            return value
        if name == "webhook_reorder":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off", ""):
                return False
            raise ValueError
        if name == "script":
            steps = [step.strip() for step in (raw.split(",") if isinstance(raw, str) else list(raw)) if step.strip()]
            for step in steps:
                if step not in ("error", "rate_limit") and not (step.startswith("slow:") and step[5:].isdigit()):
                    raise ValueError
            return steps
        if name in _RATES:
            rate = float(raw)
            if not 0.0 <= rate <= 1.0:
                raise ValueError
            return rate
    except (TypeError, ValueError):
        pass
    raise StripeError(f"Invalid value for {name}: {raw!r}", param=name)
