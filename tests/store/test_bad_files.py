from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from events import AgentSpawned, EventSourcingError, StoreError, Tier, ValidationError
from store import SCHEMA_VERSION, SQLiteEventStore, verify
from tests.store.arena_log import LAST
from tests.store.tampering import corrupt_pages, tamper


def foreign_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.commit()
    connection.close()


def test_a_file_that_is_not_sqlite_is_refused_with_its_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*notes.txt': opening failed \(SQLITE_NOTADB: file is not a database\); the "
            r"file is not an SQLite database; pass the path of an Arena store"
        ),
    ) as caught:
        SQLiteEventStore.open(path)

    assert caught.value.path == path
    assert path.read_text() == "not a database\n" * 100


def test_an_sqlite_file_of_another_program_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    foreign_database(path)
    before = path.read_bytes()

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*other.db': an SQLite database of another program \(tables \['users'\], no "
            r"meta table\); pass the path of an Arena store"
        ),
    ):
        SQLiteEventStore.open(path)

    assert path.read_bytes() == before


def test_a_store_of_a_newer_schema_version_is_refused(filled, path):
    filled.close()
    newer = SCHEMA_VERSION + 1
    tamper(path, ("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),)))

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': written with schema_version {newer}, newer than the {SCHEMA_VERSION} "
            r"this release reads; upgrade arena-runtime to open it"
        ),
    ):
        SQLiteEventStore.open(path)


def test_a_meta_table_of_another_format_is_refused(tmp_path):
    path = tmp_path / "lookalike.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    connection.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    connection.commit()
    connection.close()

    with pytest.raises(
        StoreError,
        match=(
            r"meta.format is 'something-else', expected 'arena-event-store': the file is not an Arena "
            r"store"
        ),
    ):
        SQLiteEventStore.open(path)


def test_another_money_scale_is_refused(filled, path):
    filled.close()
    tamper(path, "UPDATE meta SET value = '2' WHERE key = 'money_scale'")

    with pytest.raises(
        StoreError, match=r"meta.money_scale is '2', expected '8'; amounts in this file would be misread"
    ):
        SQLiteEventStore.open(path)


def test_an_empty_file_becomes_a_new_store(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()

    with SQLiteEventStore.open(path) as store:
        assert store.meta()["format"] == "arena-event-store"


def test_an_empty_file_opened_readonly_is_refused(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()

    with pytest.raises(
        StoreError, match=r"the file is empty, not an Arena store; open it without readonly=True"
    ):
        SQLiteEventStore.open(path, readonly=True)


@pytest.mark.parametrize(
    ("flag", "kwargs"), [("readonly=True", {"readonly": True}), ("create=False", {"create": False})]
)
def test_a_missing_file_is_refused_when_it_may_not_be_created(tmp_path, flag, kwargs):
    path = tmp_path / "missing.db"

    with pytest.raises(
        StoreError, match=rf"^store '.*missing.db': no such file, and {flag} does not create one"
    ):
        SQLiteEventStore.open(path, **kwargs)

    assert not path.exists()


def test_an_existing_store_opens_with_create_false(filled, path):
    filled.close()

    with SQLiteEventStore.open(path, create=False) as store:
        assert store.head().seq == LAST


@pytest.mark.parametrize("where", ["/proc/arena.db", "/sys/arena.db"])
def test_a_read_only_location_is_refused_with_the_path_and_a_remedy(where):
    if Path(where).parent.exists() is False:
        pytest.skip(f"{Path(where).parent} is absent here")

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '{where}': cannot take the writer lock \(\w+Error: [^)]* creating 'arena.db.lock'\); "
            r"the file cannot be opened or created here; check that the directory exists and is writable, "
            r"or open with readonly=True"
        ),
    ) as caught:
        SQLiteEventStore.open(where)

    assert caught.value.path == Path(where)


@pytest.fixture
def immutable_dir(filled, path):
    """The store's directory made immutable (chattr +i), which even root cannot write to."""
    filled.close()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", str(path.parent)], check=False, capture_output=True)  # noqa: S603, S607  (a fixed chattr command on our own temp dir)
    if done.returncode != 0:
        pytest.skip(f"cannot make a directory immutable here: {done.stderr.decode().strip()}")
    yield path
    subprocess.run(["chattr", "-i", str(path.parent)], check=True)  # noqa: S603, S607  (a fixed chattr command on our own temp dir)


def test_a_store_in_a_directory_that_cannot_be_written_is_refused(immutable_dir):
    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': cannot take the writer lock \(PermissionError: Operation not permitted "
            r"creating 'arena.db.lock'\); the file cannot be opened or created here"
        ),
    ):
        SQLiteEventStore.open(immutable_dir)


def test_readonly_with_an_in_memory_store_is_an_argument_error():
    with pytest.raises(ValidationError, match=r"^store :memory:: readonly=True needs a file"):
        SQLiteEventStore.open(None, readonly=True)


def test_an_unknown_synchronous_mode_is_an_argument_error(path):
    with pytest.raises(
        ValidationError, match=r"^synchronous: 'sometimes' is not a mode; pass 'normal' or 'full'"
    ):
        SQLiteEventStore.open(path, synchronous="sometimes")

    assert not path.exists()


def test_a_corrupt_file_is_refused_with_a_pointer_to_verify(filled, path):
    filled.close()
    corrupt_pages(path)

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': .* failed \(SQLITE_CORRUPT: database disk image is malformed\); "
            r"the file is corrupt; run store.verify\(path\)"
        ),
    ):
        SQLiteEventStore.open(path)


def test_a_full_disk_rolls_the_batch_back_and_leaves_the_store_as_it_was(store, path, log):
    log.scenario()
    store.append(log.take(), snapshot=log.state)
    head, balances, state = store.head(), store.balances(), store.load_state()
    pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
    store._connection.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(300):
        log.spawn(f"late-{i}")
    batch = log.take()

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': appending seq {LAST + 1}..{LAST + 300} \(rolled back, nothing written\) "
            r"failed "
            r"\(SQLITE_FULL: database or disk is full\); the disk is full or the database reached its "
            r"size limit; free space \(or raise the limit\) and retry"
        ),
    ) as caught:
        store.append(batch)

    assert isinstance(caught.value, EventSourcingError)
    assert (caught.value.path, caught.value.seq) == (path, LAST + 1)
    assert (store.head(), store.balances(), store.load_state()) == (head, balances, state)
    assert [e.seq for e in store.read(from_seq=LAST)] == [LAST]
    store._connection.execute("PRAGMA max_page_count = 1073741823")
    assert store.append(batch).seq == LAST + 300
    assert verify(path).ok


def test_a_failed_append_can_be_retried_after_the_cause_is_fixed(store, log):
    log.open()
    store.append(log.take())
    orphan = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION, caused_by=log.new_id())
    with pytest.raises(EventSourcingError):
        store.append([orphan])

    fixed = orphan.model_copy(update={"caused_by": None})

    assert store.append([fixed]).seq == 2


def test_a_schema_version_that_is_no_number_is_refused(filled, path):
    filled.close()
    tamper(path, "UPDATE meta SET value = 'one' WHERE key = 'schema_version'")

    with pytest.raises(StoreError, match=r"meta.schema_version is 'one', not a number; the file is damaged"):
        SQLiteEventStore.open(path)
