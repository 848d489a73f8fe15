"""Who is signed in at as_of, and from what: what a `sessions` table can still show after the API's clean-up.

Conventions (both paths follow them exactly):
- `as_of` defaults to the latest sessions.created_at, truncated to the microsecond; later rows are ignored.
- A session is live when created_at <= as_of < expires_at.
- `kept_from`: the oldest created_at the table still holds (about as_of − 7 days after the hourly clean-up).
- `by_sign_in`: live sessions without an IP address and user agent (OAuth sign-ins store neither) versus
  with them (password sign-ins and refreshes, which store the TCP peer: behind the web client, its proxy).
- `devices`: live sessions by client (browser, app or tool) and operating system parsed from the user agent.
- `addresses`: live sessions per ip_address (NULL shown as "none stored").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..snapshots import consistent
from . import _source
from ._metric import Metric

__all__ = ["signed_in", "SignedIn", "NO_AGENT"]  # what metrics/__init__ exports

# ---- what it needs from the catalog ---------------------------------------------------------------------
NEEDS = {"sessions": ("user_id", "created_at", "expires_at", "ip_address", "user_agent")}


# ---- the result ------------------------------------------------------------------------------------------
NO_AGENT = "none stored (OAuth sign-in)"  # client and system of a session without a user agent


@dataclass(frozen=True)
class SignedIn:
    """Live sessions at as_of and what they show."""

    as_of: pd.Timestamp
    kept_from: pd.Timestamp  # the oldest session the table holds
    live_sessions: int
    users: int  # distinct users signed in
    by_sign_in: pd.Series  # "OAuth (nothing stored)" / "password or refresh" → live sessions
    devices: pd.DataFrame  # client, system, sessions (most first)
    addresses: pd.Series  # ip_address → live sessions


@consistent("src")
def signed_in(src: _source.Source, as_of: pd.Timestamp | str | None = None) -> SignedIn:
    """Live sessions at as_of: how many, whose, how they signed in, from which devices and addresses."""
    if _source.is_engine(src):
        _source.check_sql(src, NEEDS, "signed_in")
        return _assemble(*_from_sql(src, as_of))
    return _assemble(*_from_frames(_source.frame(src, "sessions", NEEDS["sessions"], "signed_in"), as_of))


# ---- in PostgreSQL: one statement ------------------------------------------------------------------------
SQL = """
WITH bounds AS (SELECT coalesce(CAST(:as_of AS timestamptz), (SELECT max(created_at) FROM sessions)) AS as_of),
s AS (
    SELECT user_id, created_at, expires_at, ip_address, user_agent, b.as_of
    FROM sessions CROSS JOIN bounds b WHERE created_at <= b.as_of
),
groups AS (SELECT host(ip_address) AS ip, user_agent, count(*) AS n FROM s WHERE expires_at > as_of GROUP BY 1, 2)
SELECT b.as_of, (SELECT min(created_at) FROM s) AS kept_from,
       (SELECT count(DISTINCT user_id) FROM s WHERE expires_at > as_of) AS users,
       (SELECT json_agg(j ORDER BY ip, user_agent) FROM groups j) AS groups
FROM bounds b
"""
_PARTS = {"groups": ("ip", "user_agent", "n")}


def _from_sql(engine, as_of) -> tuple[pd.Timestamp, pd.Timestamp, int, pd.DataFrame]:
    """(as_of, kept_from, users signed in, live sessions by ip and user_agent) from one statement (SQL)."""
    head, parts = _source.one_row(engine, SQL, {"as_of": _source.as_of_param(as_of)}, _PARTS)
    return _source.as_of_from(None, head["as_of"]), head["kept_from"], int(head["users"] or 0), parts["groups"]


# ---- in pandas -------------------------------------------------------------------------------------------
def _from_frames(s: pd.DataFrame, as_of) -> tuple[pd.Timestamp, pd.Timestamp, int, pd.DataFrame]:
    """The same four pieces from the loaded sessions (pandas)."""
    created = _source.utc(s["created_at"]).reset_index(drop=True)
    as_of = _source.as_of_from(as_of, created.max())
    df = pd.DataFrame(
        {
            "user_id": s["user_id"].astype(object).to_numpy(),
            "created_at": created,
            "expires_at": _source.utc(s["expires_at"]).reset_index(drop=True),
            "ip": s["ip_address"].astype(object).to_numpy(),
            "user_agent": s["user_agent"].astype(object).to_numpy(),
        }
    )
    df = df[df["created_at"] <= as_of]
    live = df[df["expires_at"] > as_of]
    groups = live.groupby(["ip", "user_agent"], dropna=False).size().reset_index(name="n")
    return as_of, df["created_at"].min() if len(df) else pd.NaT, int(live["user_id"].nunique()), groups


# ---- the assembly of the result --------------------------------------------------------------------------
_CLIENTS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Electron/", "OpenTier desktop"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-", "Python script"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def client_and_system(user_agent: str | None) -> tuple[str, str]:
    """(client, operating system) named from a User-Agent header; NO_AGENT for a missing one."""
    if user_agent is None or (not isinstance(user_agent, str) and pd.isna(user_agent)):
        return NO_AGENT, NO_AGENT
    client = next((name for key, name in _CLIENTS if key in user_agent), "other")
    system = next((name for key, name in _SYSTEMS if re.search(re.escape(key), user_agent)), "other")
    return client, system


def _assemble(as_of, kept_from, users: int, groups: pd.DataFrame) -> SignedIn:
    ip = groups["ip"].astype(object).where(groups["ip"].notna(), None).tolist()
    agents = groups["user_agent"].astype(object).where(groups["user_agent"].notna(), None).tolist()
    n = groups["n"].to_numpy(np.int64)
    oauth = np.array([a is None and i is None for a, i in zip(agents, ip)], dtype=bool)
    by = pd.Series(
        [int(n[oauth].sum()), int(n[~oauth].sum())],
        index=pd.Index(["OAuth (no IP or user agent stored)", "password sign-in or refresh"], name="sign_in"),
        name="live_sessions",
    )
    names = [client_and_system(a) for a in agents]
    dev = pd.DataFrame({"client": [c for c, _ in names], "system": [s for _, s in names], "sessions": n})
    dev = dev.groupby(["client", "system"], as_index=False)["sessions"].sum()
    dev = dev.sort_values(["sessions", "client", "system"], ascending=[False, True, True], kind="stable").reset_index(
        drop=True
    )
    dev["sessions"] = dev["sessions"].astype(np.int64)
    addr = pd.Series(n, index=["none stored" if i is None else str(i) for i in ip]).groupby(level=0).sum()
    addr = addr.sort_values(ascending=False, kind="stable").astype(np.int64)
    addr = pd.Series(
        addr.to_numpy(np.int64), index=pd.Index(addr.index.to_numpy(object), name="ip_address"), name="live_sessions"
    )
    kept = _source.utc(kept_from)
    return SignedIn(as_of, kept.floor("us") if not pd.isna(kept) else pd.NaT, int(n.sum()), users, by, dev, addr)


# ---- registration ----------------------------------------------------------------------------------------
METRICS = (Metric("signed_in", signed_in, NEEDS, takes_as_of=True),)
