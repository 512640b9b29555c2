"""``arena simulate --resume``: continue the recorded run from its manifest alone.

Everything the run depends on is read back from the log's ``SimulationStarted``: the seed, the market
(the synthetic market's parameters, or the CSV file, checked by size and sha256), the policy and the
broker. A flag given anyway must agree with the manifest, or the resume is refused naming the
difference: continuing a different experiment on the same books would make the log lie. How far to go
is the recorded target (``<store>.run``): an interrupted run continues to it; a finished run needs
``--days N``, which extends the target by N days (not from the last event: from where the run was meant
to end, so legs add up to one run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from actors import RunManifest, feed_identity
from events import SimulationStarted, ValidationError
from store import SQLiteEventStore
from trading import BrokerConfig, CsvFeed, EvolutionPolicy, SyntheticFeed

from ._inspect import reading
from ._target import read_target, until_after

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from pydantic import JsonValue

    from trading import Bar, MarketFeed

__all__ = ["Plan", "Window", "recorded_manifest", "resume_plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one invocation of ``arena simulate`` runs with."""

    feed: MarketFeed
    clock_start: datetime
    total_steps: int | None
    seed: int
    policy: EvolutionPolicy
    broker: BrokerConfig
    until: datetime
    """The run's target: its last step's time."""
    agents: int
    """Agents to spawn (0 on a resume)."""


class Window:
    """A feed cut off after ``until``: the run covers its market up to its target and no further."""

    def __init__(self, feed: MarketFeed, until: datetime) -> None:
        self._feed = feed
        self._until = until

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._feed.symbols

    def identity(self) -> dict[str, JsonValue]:
        """Return the identity of the feed it cuts: a window is the same market, shorter."""
        return feed_identity(self._feed)

    def __iter__(self) -> Iterator[Bar]:
        for bar in self._feed:
            if bar.timestamp > self._until:
                return
            yield bar


def recorded_manifest(path: Path) -> RunManifest:
    """Return the manifest of the run recorded in the store at ``path``.

    Raises:
        ValidationError: the store records no run (it was not made by ``arena simulate``).

    """
    found: SimulationStarted | None = None
    with SQLiteEventStore.open(path, readonly=True) as store, reading(store) as events:
        for event in events:
            if isinstance(event, SimulationStarted):
                found = event
                break
    if found is None:
        msg = (
            f"--resume: the store {str(path)!r} records no simulation run (no SimulationStarted); "
            "it was not made by arena simulate, so there is no run to continue"
        )
        raise ValidationError(msg, field="--resume", value=str(path))
    return RunManifest.from_json_dict(found.manifest)


def resume_plan(args: argparse.Namespace, path: Path, last: datetime) -> Plan:
    """Return the plan of ``--resume``: the recorded run, continued to its target (or ``--days`` past it).

    Raises:
        ValidationError: a flag disagrees with the manifest, the data file changed, or the run is
            finished and ``--days`` does not extend it.

    """
    manifest = recorded_manifest(path)
    _check_flags(args, manifest)
    target = read_target(path) or last
    until = until_after(target, args.days) if args.days is not None else target
    if until <= last:
        msg = (
            f"--resume: the run in {str(path)!r} is finished (its last step, {last.isoformat()}, reached its "
            f"target); pass --days N to extend it by N days"
        )
        raise ValidationError(msg, field="--days", value=None)
    feed, step = _market(manifest, until)
    total = None if step is None else max(0, math.ceil((until - last) / step))
    return Plan(
        feed=feed,
        clock_start=last,
        total_steps=total,
        seed=manifest.seed,
        policy=EvolutionPolicy.from_mapping(manifest.policy, subject="the recorded manifest's policy"),
        broker=BrokerConfig.model_validate(manifest.broker),
        until=until,
        agents=0,
    )


def _check_flags(args: argparse.Namespace, manifest: RunManifest) -> None:
    """Refuse a flag that would make the resumed run another run than the recorded one."""
    problems: list[str] = []
    if args.seed is not None and args.seed != manifest.seed:
        problems.append(f"--seed {args.seed} (recorded {manifest.seed})")
    kind = manifest.market.get("kind")
    if args.data is not None:
        recorded = manifest.market.get("path")
        if kind != "csv":
            problems.append(f"--data {args.data} (the run was recorded on a {kind} market)")
        elif str(Path(args.data).resolve()) != recorded:
            problems.append(f"--data {args.data} (recorded {recorded})")
    if args.start is not None:
        problems.append(f"--start {args.start} (a resumed run starts where its log ends)")
    if args.policy is not None or args.cycle_days is not None:
        given = EvolutionPolicy.from_file(args.policy) if args.policy is not None else None
        data = (given or EvolutionPolicy.from_mapping(manifest.policy)).to_json_dict()
        if args.cycle_days is not None:
            data["cycle_days"] = args.cycle_days
        if data != manifest.policy:
            problems.append("--policy/--cycle-days (they differ from the recorded policy)")
    if problems:
        msg = (
            f"--resume: {'; '.join(problems)}; a resumed run is the recorded run: drop these flags "
            "(arena report shows the manifest)"
        )
        raise ValidationError(msg, field="--resume", value=problems[0])


def _market(manifest: RunManifest, until: datetime) -> tuple[MarketFeed, timedelta | None]:
    """Rebuild the recorded market from its identity, from the run's start up to ``until``."""
    market = manifest.market
    if market.get("kind") == "synthetic":
        start = datetime.fromisoformat(str(market["start"]))
        interval = timedelta(seconds=float(str(market["interval_seconds"])))
        symbols = market["symbols"]
        days = max(1, math.ceil((until - start) / timedelta(days=1)))
        feed = SyntheticFeed(
            seed=int(str(market["seed"])),
            symbols=[str(s) for s in symbols] if isinstance(symbols, list) else (),
            start=start,
            days=days,
            interval=interval,
            initial_price=Decimal(str(market["initial_price"])),
        )
        return Window(feed, until), interval
    if market.get("kind") == "csv":
        path = Path(str(market["path"]))
        if not path.exists():
            msg = f"--resume: the run's data file {str(path)!r} is gone; restore it to resume the run"
            raise ValidationError(msg, field="--data", value=str(path))
        csv = CsvFeed(path)
        if csv.identity() != market:
            msg = (
                f"--resume: the run's data file {str(path)!r} changed since the run was recorded (size or "
                "sha256 differ); restore the original file to resume the run"
            )
            raise ValidationError(msg, field="--data", value=str(path))
        return Window(csv, until), None
    kind = market.get("kind")
    msg = f"--resume: the run was recorded on a {kind!r} market, which the command line cannot rebuild"
    raise ValidationError(msg, field="--resume", value=market.get("kind"))
