"""Profile values as the calibration decides them: from the data, or the demo profile's value and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .release import Released

DATA, MISSING, SUPPRESSED, UNUSED = "data", "missing", "suppressed", "unused"


@dataclass
class Entry:
    """One profile key: its value, what it was estimated from, and where the value came from."""

    key: str
    value: Any
    note: str
    origin: str = DATA


@dataclass
class Entries:
    """The growing list of entries, with the released statistics and the demo profile to fall back on."""

    rel: Released
    demo: dict[str, Any]
    items: dict[str, Entry] = field(default_factory=dict)

    def put(self, key: str, value: Any, note: str) -> None:
        self.items[key] = Entry(key, value, note)

    def fallback(self, key: str, origin: str, note: str) -> None:
        """The demo profile's value, marked missing (the database cannot tell), suppressed or unused."""
        # An optional distribution the demo profile lacks is left out: the generator then uses the parametric keys.
        self.items[key] = Entry(key, self.demo.get(key), note, origin)

    def missing(self, keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            self.fallback(key, MISSING, why)

    def count(self, key: str, value: float, note: str, *, low: int = 0, high: int | None = None) -> None:
        """A count, released only when at least K."""
        if not self.rel.enough(value):
            self.fallback(key, SUPPRESSED, f"suppressed: {note} is below K")
            return
        v = max(low, int(round(value)))
        self.put(key, v if high is None else min(v, high), note)

    def share(self, key: str, num: float, den: float, note: str) -> None:
        """num / den, released only when num, den and den - num are all at least K."""
        if den <= 0 or not self.rel.enough(num, den, den - num):
            self.fallback(key, SUPPRESSED, f"suppressed: fewer than K behind {note}")
            return
        self.put(key, round(float(min(max(num / den, 0.0), 1.0)), 4), note)

    def number(
        self,
        key: str,
        value: float | None,
        note: str,
        *,
        low: float | None = None,
        high: float | None = None,
        digits: int = 3,
    ) -> None:
        """A derived number (None: suppressed upstream), clamped into the key's range."""
        if value is None or value != value:
            self.fallback(key, SUPPRESSED, f"suppressed: fewer than K behind {note}")
            return
        if low is not None:
            value = max(low, value)
        if high is not None:
            value = min(high, value)
        self.put(key, round(float(value), digits), note)
