"""Store benchmark: append, replay and reopen, each against its baseline measured in the same run.

- append: ``SQLiteEventStore.append`` in batches (``--batch``, default 1000, with ``encoded`` texts as the
  event writer sends them) versus the very same event and ledger rows written by two raw ``executemany``
  calls in one transaction on a fresh file with the same schema and pragmas: the physical limit of this
  schema on this machine. The same raw rows in the append's batches separate what our Python costs from
  what one commit per batch costs.
- replay: ``store.read()`` (decodes every event) and a fold of the whole log, versus a raw
  ``SELECT data FROM events`` scan.
- reopen: ``SQLiteEventStore.open`` of the store without a snapshot (folds every event) versus with a
  snapshot at the head (folds none).
- verify: the full audit of the file, for scale (no baseline).

The log is a realistic mix: mostly fills, with allocations, releases, refusals, failures, promotions
and evolution cycles whose events form one causal chain. Run ``python -m benchmarks.bench_store`` (about
100k events, well under a minute) or ``--events 1000000`` for the 1M-event case.
"""

from __future__ import annotations

import argparse
import bisect
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from benchmarks._timing import measure, print_ratio
from events import LogBuilder, Tier, fold, trade_cash_delta
from store import SQLiteEventStore, verify

if TYPE_CHECKING:
    from pydantic import JsonValue

    from events import AgentSpawned, ArenaState, Event, Side

EVENTS: Final = 100_000
BATCH: Final = 1000
AGENTS: Final = 200
CYCLE_EVERY: Final = 5000
START: Final = datetime(2024, 1, 1, tzinfo=UTC)
EVENT_COLUMNS: Final = "seq, event_id, event_type, agent_id, timestamp, data, caused_by, hash"
LEDGER_COLUMNS: Final = (
    "seq, event_id, timestamp, account, agent_id, symbol, unit, operation, amount, balance_after"
)
_CENT: Final = Decimal("0.01")
_UNIT: Final = Decimal("0.00000001")


class LogMaker:
    """Makes the benchmark's realistic log through ``LogBuilder``, which folds every event as it is made.

    The choices draw from the builder's own ``rng``, so the seed fixes the ids and the mix alike.
    """

    def __init__(self, seed: int) -> None:
        self.log = LogBuilder(seed, start=START, tick=timedelta(milliseconds=1))
        self.rng = self.log.rng
        self.events: list[Event] = []
        self.encoded: list[str] = []

    def make(self, count: int) -> None:
        """Build ``count`` events: fund ``AGENTS`` agents, then steps with a cycle every ``CYCLE_EVERY``."""
        log = self.log
        opened = log.open(10**8, arena_id="bench", config={"agents": AGENTS})
        for _ in range(AGENTS):
            spawned = self.spawn(caused_by=opened)
            log.allocate(spawned.agent_id, 100_000, caused_by=spawned)
        while log.seq < count:
            if log.seq % CYCLE_EVERY == 0:
                self.cycle()
            else:
                self.step()
        self.events, self.encoded = log.events[:count], log.encoded[:count]

    def spawn(self, caused_by: Event, parent: str | None = None) -> AgentSpawned:
        agent_id = f"agent-{len(self.log.agent_ids()) + 1:06d}"
        params: dict[str, JsonValue] = {"lookback": self.rng.randint(5, 50)}
        genome: dict[str, JsonValue] = {"strategy": "momentum", "params": params}
        return self.log.spawn(agent_id, genome=genome, parent_id=parent, caused_by=caused_by)

    def step(self) -> None:
        log = self.log
        agent_id = self.rng.choice(log.alive())
        cash = log.allocation(agent_id)
        roll = self.rng.random()
        if roll < 0.75:
            self.trade(agent_id, cash)
        elif roll < 0.82:
            log.reject_trade(agent_id, symbol="BTC")
        elif roll < 0.88 and log.treasury > 1000:
            log.allocate(agent_id, self.rng.randint(1, 1000))
        elif roll < 0.94 and cash > 10:
            log.release(agent_id, (cash / 10).quantize(_UNIT))
        elif roll < 0.97:
            log.fail(agent_id)
        elif roll < 0.99:
            log.reject_allocation(reason="too much")
        else:
            log.check()

    def trade(self, agent_id: str, cash: Decimal) -> None:
        held = self.log.holding(agent_id, "BTC")
        price = Decimal(self.rng.randint(20_000, 40_000)) + Decimal(self.rng.randint(0, 99)) / 100
        side: Side
        if held > 0 and self.rng.random() < 0.5:
            side, quantity = "sell", held
        else:
            side, quantity = "buy", (cash / 20 / price).quantize(_UNIT)
        fee = (quantity * price * Decimal("0.001")).quantize(_CENT)
        if quantity > 0 and cash + trade_cash_delta(side, quantity, price, fee) >= 0:
            self.log.trade(agent_id, side, quantity, price, fee, symbol="BTC")

    def cycle(self) -> None:
        """Kill the poorest, promote the richest, breed a child; every event caused by the one before."""
        log = self.log
        last: Event = log.start_cycle({"kill": 1, "breed": 1})
        ranked = sorted(log.alive(), key=log.allocation)
        poorest, richest = ranked[0], ranked[-1]
        last = log.kill(poorest, reason="weakest", caused_by=last)
        if log.tier(richest) != Tier.ARENA:
            last = log.graduate(richest, caused_by=last)
        child = self.spawn(caused_by=last, parent=richest)
        last = log.allocate(child.agent_id, 50_000, caused_by=child)
        log.complete_cycle(killed=1, graduated=1, mutated=1, caused_by=last)


def bench_append(maker: LogMaker, directory: Path, batch: int, synchronous: str) -> Path:
    events, encoded = maker.events, maker.encoded
    path = directory / "append.db"

    def append_all() -> None:
        with SQLiteEventStore.open(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
            for start in range(0, len(events), batch):
                store.append(events[start : start + batch], encoded=encoded[start : start + batch])

    append, _ = measure(f"append (batches of {batch})", len(events), append_all)
    # The very rows the store wrote, read back outside the timing.
    source = sqlite3.connect(path)
    event_rows = source.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq").fetchall()
    ledger_rows = source.execute(f"SELECT {LEDGER_COLUMNS} FROM capital_ledger ORDER BY entry_id").fetchall()
    source.close()
    ledger_seqs = [row[0] for row in ledger_rows]
    insert_event = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 8)})"
    places = ", ".join("?" * len(LEDGER_COLUMNS.split(",")))
    insert_posting = f"INSERT INTO capital_ledger ({LEDGER_COLUMNS}) VALUES ({places})"

    def raw_all(size: int) -> None:
        raw_path = directory / f"raw-{size}.db"
        SQLiteEventStore.open(raw_path, synchronous=synchronous).close()  # type: ignore[arg-type]
        connection = sqlite3.connect(raw_path, isolation_level=None)
        # The store's own pragmas (store/_connection.py), so only the Python layer differs.
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA cache_size = -65536")
        connection.execute("PRAGMA wal_autocheckpoint = 10000")
        connection.execute("PRAGMA journal_size_limit = 67108864")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        for start in range(0, len(events), size):
            chunk = event_rows[start : start + size]
            first, last = (
                bisect.bisect_left(ledger_seqs, chunk[0][0]),
                bisect.bisect_right(ledger_seqs, chunk[-1][0]),
            )
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(insert_event, chunk)
            connection.executemany(insert_posting, ledger_rows[first:last])
            connection.execute("COMMIT")
        connection.close()

    raw, _ = measure("raw executemany (one transaction)", len(events), lambda: raw_all(len(events)))
    batched, _ = measure(f"raw executemany (batches of {batch})", len(events), lambda: raw_all(batch))
    print_ratio("append / raw executemany", append, raw)
    print_ratio("append / raw executemany in the same batches", append, batched)
    return path


def bench_replay(path: Path, count: int) -> None:
    def scan() -> int:
        connection = sqlite3.connect(path)
        rows = sum(1 for _ in connection.execute("SELECT data FROM events ORDER BY seq"))
        connection.close()
        return rows

    raw, _ = measure("raw SELECT data scan", count, scan)
    with SQLiteEventStore.open(path, readonly=True) as store:
        read, _ = measure("store.read() (decoded)", count, lambda: sum(1 for _ in store.read()))
        folded, _ = measure("read + fold", count, lambda: fold(store.read()).seq)
    print_ratio("read / raw scan", read, raw)
    print_ratio("read + fold / raw scan", folded, raw)


def bench_reopen(path: Path, count: int) -> None:
    cold, state = measure("reopen without snapshot (folds every event)", count, lambda: _open_state(path))
    with SQLiteEventStore.open(path) as store:
        store.append([], snapshot=state)
    warm, _ = measure("reopen with snapshot at head", count, lambda: _open_state(path))
    print(f"reopen time: {cold.seconds:.3f}s without a snapshot, {warm.seconds:.3f}s with one", flush=True)


def _open_state(path: Path) -> ArenaState:
    with SQLiteEventStore.open(path) as store:
        return store.load_state()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=EVENTS, help=f"log length (default {EVENTS:,})")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"events per append (default {BATCH})")
    parser.add_argument("--synchronous", choices=["normal", "full"], default="normal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files (default: a temp dir)")
    args = parser.parse_args(argv)

    maker = LogMaker(args.seed)
    measure("generate and fold the log (setup)", args.events, lambda: maker.make(args.events))
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        path = bench_append(maker, Path(directory), args.batch, args.synchronous)
        bench_replay(path, len(maker.events))
        bench_reopen(path, len(maker.events))
        _, report = measure("verify (the full audit)", len(maker.events), lambda: verify(path))
        print(report, flush=True)
        print(f"store file: {path.stat().st_size / 1e6:.1f} MB for {len(maker.events):,} events", flush=True)


if __name__ == "__main__":
    main()
