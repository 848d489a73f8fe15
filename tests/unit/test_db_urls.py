"""URL handling without a database: masking never lets a password through; malformed URLs are refused."""

from __future__ import annotations

import pytest

from opentier_explore.db import mask_url, normalize_url, resolve_url
from opentier_explore.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5/d", "postgresql://u:***@h:5/d"),
        ("postgresql+psycopg://u:pw@h/d", "postgresql+psycopg://u:***@h/d"),
        ("u:pw@h/x", "u:***@h/x"),
        ("postgresql://u:p/w@h/d", "postgresql://u:***@h/d"),
        ("postgresql://u:p@w@h/d", "postgresql://u:***@h/d"),
        ("postgresql://u:pw@h/d?password=pw2", "postgresql://u:***@h/d?password=***"),
        ("host=x password=pw user=u", "host=x password=*** user=u"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("postgresql://h:5432/d", "postgresql://h:5432/d"),
        ("postgresql:///d?host=/tmp/s&port=5", "postgresql:///d?host=/tmp/s&port=5"),
        # Unencoded spaces or a line break in the password (URLs libpq refuses, so they reach error messages).
        ("postgresql://u:p w@h/d", "postgresql://u:***@h/d"),
        ("postgresql://u:p\nw@h/d", "postgresql://u:***@h/d"),
        ("postgresql://u@h/d?password=p w", "postgresql://u@h/d?password=***"),
        ("postgresql://u@h/d?password=p w&port=5", "postgresql://u@h/d?password=***&port=5"),
        ("host=x password=p w user=u", "host=x password=*** user=u"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:pw@h/d",
        "u:pw@h/d",
        "postgresql://u:pw@h:notaport/d",
        "postgresql://u:pw@h:70000/d",
        "postgresql://u:p w@h/d",
        "postgresql://u:pw\n@h/d",
        "http://x",
        "",
    ],
)
def test_normalize_url_refuses_malformed(url: str) -> None:
    with pytest.raises(ConfigError, match="postgresql://USER:PASSWORD@HOST:PORT/DATABASE") as info:
        normalize_url(url)
    assert ":pw@" not in str(info.value) and "p w" not in str(info.value) and "\n" not in str(info.value)


def test_normalize_url_accepts_driver_names() -> None:
    assert normalize_url(" postgresql+psycopg://u:pw@h:5432/d ") == "postgresql://u:pw@h:5432/d"
    assert normalize_url("postgres://h/d") == "postgresql://h/d"


def test_an_empty_url_is_refused_not_replaced_by_another_server() -> None:
    # `--database-url "$UNSET"` must not silently fall back to $DATABASE_URL or the embedded server.
    for url in ("", "  "):
        with pytest.raises(ConfigError, match="empty"):
            resolve_url(url)
