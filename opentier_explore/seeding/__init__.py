"""Writing the generator's rows (`seed/`) into a migrated database: checks, one transaction, COPY, the kit's record."""

from __future__ import annotations

from .ledger import LEDGER
from .writer import load_profile, run

__all__ = ["LEDGER", "load_profile", "run"]
