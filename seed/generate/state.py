"""What one generation step hands to the next: typed, immutable bundles of numpy arrays (one row per entity)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: users.role and sessions.role; arrays of roles hold indices into ROLES
ROLES = ("user", "contributor", "admin")
USER, CONTRIBUTOR, ADMIN = 0, 1, 2


@dataclass(frozen=True)
class Logins:
    """Every sign-in of the full login history (before the API's deletions), ordered by user then time."""

    owner: np.ndarray  # user index
    created: np.ndarray  # µs since the epoch


@dataclass(frozen=True)
class People:
    """The users (index = position in `ids`) and their sign-ins: what people.generate leaves for later steps."""

    ids: np.ndarray  # users.id (str)
    signup: np.ndarray  # µs
    role: np.ndarray  # current role, index into ROLES
    admin: np.ndarray  # bool
    promoted: np.ndarray  # µs of the promotion to contributor, -1 if never
    deleted: np.ndarray  # µs of the soft delete, -1 if active
    last: np.ndarray  # µs of the last sign-in (sign-up if none)
    oauth_only: np.ndarray  # bool: no password, signs in through GitHub and/or Google
    both: np.ndarray  # bool: an OAuth-only user linked to both providers
    github_first: np.ndarray  # bool: GitHub is the user's (first) provider
    unverified: np.ndarray  # bool: e-mail never verified (cannot sign in)
    linked: np.ndarray  # bool: a password user who linked one provider later
    github_ids: np.ndarray  # provider account id per user on GitHub
    google_ids: np.ndarray  # provider account id per user on Google
    logins: Logins


@dataclass(frozen=True)
class Submissions:
    """The knowledge submissions, ordered by creation: what the documents of approved ones are made from."""

    ids: np.ndarray
    contributor: np.ndarray  # user index
    created: np.ndarray  # µs
    reviewed: np.ndarray  # µs (after as_of while pending)
    status: np.ndarray  # "pending", "approved" or "rejected"
    reviewer: np.ndarray  # user index of the reviewing admin
    topic: np.ndarray  # index into words("topics")
    resource_type: np.ndarray  # index into knowledge's resource types
    raw_titles: list[str]  # unescaped


@dataclass(frozen=True)
class Citable:
    """The chunks hybrid search can cite for any user (global documents, embedded), ordered by creation time."""

    chunk_ids: np.ndarray
    document_ids: np.ndarray
    created: np.ndarray  # µs
    content_json: list[str]  # each chunk's text as a JSON string literal
