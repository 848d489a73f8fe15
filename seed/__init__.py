"""Deterministic synthetic OpenTier data: profiles, a numpy generator, and a one-transaction COPY loader."""

from __future__ import annotations

from .run import LEDGER, run

__all__ = ["LEDGER", "run"]
