"""The generator's one error: a profile it cannot use (the sentence says which key and what to do)."""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile is missing, unreadable or invalid; the message is one sentence naming the problem."""
