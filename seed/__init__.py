"""Deterministic synthetic OpenTier data: profiles and a numpy generator of rows (no database, no clock).

Writing the rows into a database is `opentier_explore.seeding` (`opentier-explore seed`)."""

from __future__ import annotations

from .errors import ProfileError

__all__ = ["ProfileError"]
