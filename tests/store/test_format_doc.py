"""``docs/FORMAT.md`` is the auditor's contract: its snippet must run, and it must name the whole schema."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.arena_log import LAST
from tests.store.tampering import tamper

FORMAT = Path(__file__).parents[2] / "docs" / "FORMAT.md"


def auditor_snippet() -> str:
    chain = FORMAT.read_text().split("## The hash chain", 1)[1]
    return re.search(r"```python\n(.*?)```", chain, re.DOTALL).group(1)


def run_snippet(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own interpreter running our own documented snippet)
        [sys.executable, "-I", "-c", auditor_snippet()],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_auditor_snippet_is_at_most_ten_lines_of_stdlib():
    lines = auditor_snippet().strip().splitlines()

    assert len(lines) <= 10
    assert lines[0] == "import hashlib, sqlite3"
    assert not any(line.startswith(("import", "from")) for line in lines[1:])


def test_the_auditor_snippet_confirms_a_real_store(filled, path, log):
    filled.close()

    done = run_snippet(path.parent)

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ok: {len(log.events)} events, head {log.fold.head_hash}\n"


@pytest.mark.parametrize(
    ("statements", "failure"),
    [
        (
            ["UPDATE events SET data = replace(data, '1000.00000000', '999.00000000') WHERE seq = 6"],
            "chain broken at seq 6",
        ),
        (["DELETE FROM events WHERE seq = 9"], "chain broken at seq 9"),
        (
            ["UPDATE capital_ledger SET amount = amount + 1 WHERE entry_id = 9"],
            "postings do not balance at seq 8",
        ),
        (
            [
                (
                    "UPDATE capital_ledger SET amount = amount + 1 WHERE seq = 9 AND account_id IN "
                    "(SELECT account_id FROM accounts WHERE unit = 'quantity')"
                )
            ],
            "postings do not balance at seq 9",
        ),
    ],
)
def test_the_auditor_snippet_names_the_first_broken_seq(filled, path, statements, failure):
    filled.close()
    tamper(path, *statements)

    done = run_snippet(path.parent)

    assert done.returncode == 1
    assert done.stderr == f"{failure}\n"


def documented_queries() -> list[tuple[str, str]]:
    """The ``(comment, statement)`` pairs of the SQL block under "Auditing"."""
    block = re.search(r"```sql\n(.*?)```", FORMAT.read_text().split("## Auditing", 1)[1], re.DOTALL).group(1)
    pairs = []
    for chunk in filter(str.strip, block.split(";")):
        lines = chunk.strip().splitlines()
        pairs.append((lines[0].removeprefix("-- "), "\n".join(lines[1:])))
    return pairs


def test_the_documented_queries_say_what_they_promise_of_a_real_store(closed, log):
    connection = sqlite3.connect(f"file:{closed}?mode=ro", uri=True)
    try:
        results = {
            comment: connection.execute(
                sql, {"seq": LAST, "event_id": str(log.events[0].event_id)}
            ).fetchall()
            for comment, sql in documented_queries()
        }
    finally:
        connection.close()
    total = int(log.fold.total_capital * 10**8)

    expected = {"(expect no rows)": [], "(expect NULL)": [(None,)]}
    assert len(results) == 6
    for comment, rows in results.items():
        promise = next((rows for suffix, rows in expected.items() if comment.endswith(suffix)), None)
        assert promise is None or rows == promise, comment
    assert results[
        "capital at cost as of :seq, and funding + realized P&L - fees: the two columns are equal"
    ] == [(total, total)]
    balances = results["every account's balance as of :seq, in its unit (minor units)"]
    assert ("units:a1:XYZ", "quantity", 2 * 10**8) in balances
    assert len(results["everything caused, transitively, by one event"]) > 1


def test_the_document_names_every_table_column_index_trigger_and_meta_key(filled, raw):
    text = FORMAT.read_text()
    tables = [
        name
        for (name,) in raw.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    names = [
        *tables,
        *(name for table in tables for (_, name, *_) in raw.execute(f"PRAGMA table_xinfo({table})")),
        *(name for (name,) in raw.execute("SELECT name FROM sqlite_schema WHERE type = 'view'")),
        *(
            name
            for (name,) in raw.execute(
                "SELECT name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
            )
        ),
        *(key for (key,) in raw.execute("SELECT key FROM meta")),
    ]

    missing = [name for name in names if f"`{name}" not in text]

    assert missing == []
    assert sorted(tables) == ["accounts", "arena_state", "capital_ledger", "events", "meta"]


def test_the_document_describes_the_strict_integer_money_columns(filled, raw):
    text = FORMAT.read_text()

    assert "`INTEGER NOT NULL`" in text
    assert "REAL" in text  # stated as never used
    assert raw.execute("SELECT count(*) FROM pragma_table_list WHERE strict = 1").fetchone()[0] == 5
    assert sqlite3.sqlite_version_info >= (3, 38)
