"""A table the seeder sends as binary COPY lands exactly as its COPY text (the canonical, digested form) says."""

from __future__ import annotations

import psycopg
import pytest

from seed import copy as copy_mod
from seed import profile
from seed.generate import generate


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1"])
def test_wire_binary_loads_the_rows_of_the_copy_text(migrated_url, encoding):
    wired = [t for t in generate(profile.load("tiny"), 42) if t.wire]
    assert [t.name for t in wired] == ["chat_messages"]
    with psycopg.connect(migrated_url) as conn, conn.cursor() as cur:
        conn.execute(f"SET client_encoding = '{encoding}'")
        for t in wired:
            text, sent = f"text_{t.name}", f"wire_{t.name}"
            for name in (text, sent):
                cur.execute(f'CREATE TEMP TABLE "{name}" (LIKE "{t.name}")')
            cols = ", ".join(f'"{c}"' for c in t.columns)
            with cur.copy(f'COPY "{text}" ({cols}) FROM STDIN') as cp:
                for _, data in copy_mod.chunks(t):
                    cp.write(data)
            with cur.copy(copy_mod.copy_sql(t).replace(f'"{t.name}"', f'"{sent}"', 1)) as cp:
                for _, data in copy_mod.wire_chunks(t, conn.info.encoding):
                    cp.write(data)
            for a, b in ((text, sent), (sent, text)):
                cur.execute(f'SELECT count(*) FROM (TABLE "{a}" EXCEPT ALL TABLE "{b}") d')
                assert cur.fetchone()[0] == 0, (a, b)
            cur.execute(f"SELECT count(*), count(*) FILTER (WHERE content ~ E'[\\n\\t\\\\\\\\]') FROM \"{sent}\"")
            rows, escaped = cur.fetchone()
            assert rows == len(t) and escaped > 0  # the escapes were exercised
