"""snapshots: recognising a recovery-conflict cancel however it was wrapped; `consistent` leaves frames alone."""

from __future__ import annotations

import pandas as pd
import pytest

from opentier_explore import metrics
from opentier_explore.errors import ConfigError, OpentierError
from opentier_explore.snapshots import _Lost, consistent, is_recovery_conflict

CANCEL = "canceling statement due to conflict with recovery\nDETAIL:  User query might have needed to see row versions that must be removed."


def _wrapped_as_the_loader_does() -> OpentierError:
    try:
        try:
            raise OSError(CANCEL)
        except OSError:
            raise OpentierError(
                "Loading table 'users' failed: canceling statement due to conflict with recovery."
            ) from None
    except OpentierError as exc:
        return exc


class _DBAPIError(Exception):
    def __init__(self, orig: Exception) -> None:
        super().__init__("(psycopg.errors.SerializationFailure) [SQL: SELECT 1]")
        self.orig = orig


def test_a_recovery_conflict_is_recognised_through_wrapping() -> None:
    assert is_recovery_conflict(Exception(CANCEL))
    assert is_recovery_conflict(_DBAPIError(Exception("terminating connection due to conflict with recovery")))
    assert is_recovery_conflict(_wrapped_as_the_loader_does())
    assert is_recovery_conflict(_Lost("00000003-00000002-1", conflict=True))


def test_other_errors_are_not_taken_for_one() -> None:
    assert not is_recovery_conflict(Exception("division by zero"))
    assert not is_recovery_conflict(_DBAPIError(Exception("could not serialize access due to concurrent update")))
    assert not is_recovery_conflict(_Lost("00000003-00000002-1", conflict=False))


def test_consistent_passes_frames_and_wrong_types_straight_through() -> None:
    seen = []

    @consistent("src")
    def metric(src, extra=1):
        seen.append(src)
        return extra

    frames = {"chat_messages": pd.DataFrame()}
    assert metric(frames, extra=2) == 2 and seen[-1] is frames
    assert metric("not an engine") == 1 and seen[-1] == "not an engine"
    with pytest.raises(ConfigError, match="needs an Engine"):
        metrics.conversation_trees("postgresql://nowhere/db")  # the metric's own one-sentence refusal still applies
