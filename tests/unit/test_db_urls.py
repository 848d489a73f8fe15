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


def test_resolve_url_only_resolves(monkeypatch) -> None:
    # Nothing named: None (the embedded server is meant), and no server is started to say so.
    from opentier_explore import server

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(server, "start", lambda *a, **k: pytest.fail("resolve_url started a server"))
    assert resolve_url() is None and resolve_url(None) is None
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@h/d")
    assert resolve_url() == "postgresql://u:pw@h/d"
    assert resolve_url("postgresql+psycopg://h/e") == "postgresql://h/e"


def test_driver_message_is_the_first_line_without_prefix_or_period() -> None:
    from opentier_explore.db import driver_message

    assert driver_message(Exception('relation "x" does not exist\nLINE 1: SELECT ...')) == 'relation "x" does not exist'
    assert driver_message(Exception("[libpq] Failed: ERROR:  division by zero.\nDETAIL")) == "division by zero"
    assert driver_message(ValueError("")) == "ValueError"


def test_every_connection_has_the_kit_options() -> None:
    from psycopg import conninfo

    from opentier_explore import config
    from opentier_explore.db import READ_ONLY_OPTIONS, connect_args, read_only_conninfo

    assert connect_args(read_only=True) == {
        "application_name": config.APPLICATION_NAME,
        "connect_timeout": config.CONNECT_TIMEOUT,
        "options": READ_ONLY_OPTIONS,
    }
    assert "options" not in connect_args(read_only=False)
    params = conninfo.conninfo_to_dict(read_only_conninfo("postgresql://u:pw@h/d?options=-c%20work_mem%3D64MB"))
    assert params["options"] == f"-c work_mem=64MB {READ_ONLY_OPTIONS}"
    assert params["application_name"] == config.APPLICATION_NAME and params["dbname"] == "d"
