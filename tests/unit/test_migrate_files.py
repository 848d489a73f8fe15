"""The runner's pure parts (no database): sqlx's file-name rule, the advisory lock key, discovery."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from opentier_explore import config, migrate
from opentier_explore.errors import MigrationError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20250101000004_create_users.up.sql", (20250101000004, "create users", "up")),
        ("20250101000004_create_users.down.sql", (20250101000004, "create users", "down")),
        ("7_one_way.sql", (7, "one way", "simple")),
        ("0001_x.up.sql", (1, "x", "up")),
        ("3_keeps__double.up.sql", (3, "keeps  double", "up")),
        ("README.md", None),
        ("20250101000004_notes.txt", None),
        ("nounderscore.sql", None),
    ],
)
def test_parse_filename_follows_sqlx(name: str, expected: tuple | None) -> None:
    assert migrate.parse_filename(name) == expected


def test_parse_filename_rejects_a_non_integer_version() -> None:
    with pytest.raises(MigrationError, match="does not start with an integer version"):
        migrate.parse_filename("v1_create_users.up.sql")


@pytest.mark.parametrize(
    ("database", "crc"),
    [
        ("123456789", 0xCBF43926),  # the CRC-32/ISO-HDLC check value
        ("", 0),
        ("opentier", None),
    ],
)
def test_lock_id_is_sqlx_key(database: str, crc: int | None) -> None:
    import zlib

    crc = zlib.crc32(database.encode()) if crc is None else crc
    assert migrate.lock_id(database) == 0x3D32AD9E * crc


def test_lock_id_known_value_and_range() -> None:
    # Rust: 0x3d32ad9e * (crc as i64). Even crc = 0xFFFFFFFF stays below 2**63, so no real name wraps;
    # the key is always a non-negative even i64.
    assert migrate.lock_id("zone") == 2_771_974_297_191_923_538
    for name in ("opentier", "postgres", "z" * 63, "ü-db"):
        key = migrate.lock_id(name)
        assert 0 <= key < 2**63 and key % 2 == 0


def test_discover_the_kit_folder() -> None:
    found = migrate.discover()
    assert len(found) == 16
    versions = [m.version for m in found]
    assert versions == sorted(versions) and len(set(versions)) == 16
    for m in found:
        assert re.fullmatch(r"\d{14}", str(m.version))
        assert m.down_path is not None and m.down_path.exists()
        assert m.up_path.parent == config.migrations_dir()
        assert m.checksum == hashlib.sha384(m.up_path.read_bytes()).digest()
    assert found[0].description == "enable extensions"


def test_discover_pairs_files_and_ignores_others(tmp_path: Path) -> None:
    for name in ("2_second.up.sql", "2_second.down.sql", "1_first.sql", "notes.md", "10_tenth.up.sql"):
        (tmp_path / name).write_text("SELECT 1;\n")
    (tmp_path / "3_dir.up.sql").mkdir()
    found = migrate.discover(tmp_path)
    assert [(m.version, m.description, m.down_path is not None) for m in found] == [
        (1, "first", False),
        (2, "second", True),
        (10, "tenth", False),
    ]


def test_discover_rejects_duplicates_orphans_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "1_a.up.sql").write_text("")
    (tmp_path / "1_b.up.sql").write_text("")
    with pytest.raises(MigrationError, match="share version 1"):
        migrate.discover(tmp_path)
    (tmp_path / "1_b.up.sql").unlink()
    (tmp_path / "2_c.down.sql").write_text("")
    with pytest.raises(MigrationError, match="version 2 .* has no up file"):
        migrate.discover(tmp_path)
    with pytest.raises(MigrationError, match="does not exist"):
        migrate.discover(tmp_path / "nope")


def test_every_down_file_undoes_what_its_up_file_creates() -> None:
    # A cheap textual guard; the integration tests prove it against PostgreSQL.
    for m in migrate.discover():
        up, down = m.up_path.read_text(), m.down_path.read_text()  # type: ignore[union-attr]
        for kind, name in re.findall(r"CREATE (TABLE|TYPE|FUNCTION|EXTENSION IF NOT EXISTS) (\w+)", up):
            assert re.search(rf"DROP {kind.split()[0]} (IF EXISTS )?{name}\b", down), (m.version, name)
