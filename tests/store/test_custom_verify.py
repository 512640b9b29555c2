"""A log holding the embedder's own events: stored, reopened, replayed and verified without the class too."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

from actors import Arena
from events import UserEvent, canonical_json, fold, register_event_type
from store import SQLiteEventStore, verify
from tests.actors.support import open_arena
from tests.store.tampering import rechain, tamper

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # a bound on a fresh interpreter that must finish, not a timing assumption


@register_event_type
class Audit(UserEvent):
    """An operator's remark, as an embedding application would log it."""

    event_type: Literal["tests.store.Audit"] = "tests.store.Audit"
    remark: str
    score: int


def fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, which has never seen ``Audit``."""
    return subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_recorded_event_survives_reopening_replay_and_verify(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path, snapshot_every=2) as arena:
        agent = arena.spawn_agent()
        recorded = arena.record(Audit, remark="looks fine", score=3, agent_id=agent)
        arena.allocate_capital({agent: "10"})
        state = arena.state()

    with Arena.open(path) as reopened:
        replayed = list(reopened.replay_events())
        assert reopened.state() == state

    assert recorded in replayed
    assert fold(replayed) == state
    report = verify(path)
    assert report.ok, str(report)
    assert report.head.seq == state.seq


def test_a_fresh_process_without_the_class_verifies_and_replays_the_log_exactly(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        agent = arena.spawn_agent()
        arena.record(Audit, remark='ünïcode, "quotes"', score=10**20, agent_id=agent)
        arena.spawn_agent()
        head = arena.flush()
    with SQLiteEventStore.open(path, readonly=True) as store:
        stored = [canonical_json(e) for e in store.read()]

    cli = subprocess.run(  # noqa: S603  (our own interpreter and command)
        [
            sys.executable,
            "-m",
            "actors.cli",
            "verify",
            str(path),
            "--expected-head",
            f"{head.seq}:{head.hash}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    replay = fresh_python(
        f"""
        import json
        from events import UnregisteredEvent, canonical_json, user_event_classes
        from store import SQLiteEventStore
        assert "tests.store.Audit" not in user_event_classes()
        with SQLiteEventStore.open({str(path)!r}, readonly=True) as store:
            events = list(store.read())
        audit = [e for e in events if isinstance(e, UnregisteredEvent)]
        print(json.dumps({{"texts": [canonical_json(e) for e in events], "payload": audit[0].payload}}))
        """
    )

    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert replay.returncode == 0, replay.stderr
    seen = json.loads(replay.stdout)
    assert seen["texts"] == stored
    assert seen["payload"] == {"remark": 'ünïcode, "quotes"', "score": 10**20}


def test_an_edited_user_event_is_caught_by_verify(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        arena.record(Audit, remark="original", score=1)
    tamper(path, "UPDATE events SET data = replace(data, 'original', 'forged') WHERE seq = 2")

    report = verify(path)

    assert not report.ok
    assert report.first_failing_seq == 2
    assert "hash chain breaks" in str(report)


def test_a_rechained_user_event_in_a_non_canonical_form_is_caught_by_verify(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        arena.record(Audit, remark="original", score=1)
    tamper(path, """UPDATE events SET data = replace(data, '"score":1', '"score": 1') WHERE seq = 2""")
    rechain(path)

    report = verify(path)

    assert not report.ok
    assert report.first_failing_seq == 2
    assert "not the canonical JSON" in str(report)
