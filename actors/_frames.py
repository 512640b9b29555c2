"""Results as data: a log as pandas DataFrames, the tabular twin of ``replay_events``.

Six frames, each named for what one row is (``FRAMES``):

* ``events``: one row per event: ``seq``, ``timestamp``, ``event_type``, ``event_id``, ``caused_by``,
  ``agent_id`` and ``payload``, the event's own fields (the envelope taken out) as canonical JSON text.
* ``fills``: one row per ``TradeExecuted``, every field of it, plus its ``notional`` and ``slippage``.
* ``equity``: one row per live agent per ``MarksRecorded``: its tier, cash, holdings at the marks, cost
  basis, unrealized P&L, equity, and its realized P&L, fees and trades so far; ``positions`` as JSON.
* ``nav``: one row per ``MarksRecorded``: NAV, treasury, cash, holdings, capital at cost, funding,
  realized and unrealized P&L, fees, and per tier the live agents (``agents_<tier>``), their capital
  at cost (``capital_<tier>``) and their equity (``nav_<tier>``), as ``get_capital_allocation_breakdown``
  names them.
* ``cycles``: one row per decision inside an evolution cycle (``killed``, ``graduated``, ``demoted``,
  ``spawned``, ``mutated``, ``allocated``, ``released``): the cycle, the agent, ``reason``, ``amount``,
  the tiers, the parent, the other fields as JSON in ``details``, and the decision's ``evidence``
  flattened into ``evidence.<name>`` columns (nested names joined with dots).
* ``agents``: one row per agent ever spawned: strategy, genome, lineage, birth and death, its tier at the
  end, trades, capital given and taken back, realized P&L, fees and its final equity (0 once dead).

Every figure comes from one pass of the shared fold (``events.Fold``) and the valuation helpers
(``events.equity``, ``events.nav``, ``events.unrealized_pnl``), so a frame says what the books say and
reconciles with ``Arena.nav()``, the breakdown and ``arena report`` to the last digit: nothing here
restates a ledger rule. Events are read generically (``model_dump``), so a field an event gains appears
in its frame without a change here.

Money is exact by default (``money="decimal"``): ``Decimal`` values at 8 places in object columns.
``money="float"`` gives float64 columns, for plotting; they no longer reconcile exactly. Timestamps are
``datetime64[us, UTC]``; a missing integer is ``<NA>`` (``Int64``), a missing amount ``None``.

Filters pick rows, never events: the fold always sees the whole log from seq 1 (up to ``to_seq``), or
no equity could be right. ``to_seq`` makes every frame the log as of that seq; ``from_seq``, ``agent_id``
and ``event_types`` (``events`` only) keep the rows that match. pandas is imported when a frame is built,
never by ``import actors``: it is the optional extra ``arena-runtime[analysis]``.

Cost: O(events) for the fold, plus one valuation per live agent at each mark (as ``trading.performance``);
the rows of the requested frames are held in memory, the events are streamed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal  # noqa: TC003  (the money columns' type, checked at run time)
from typing import TYPE_CHECKING, Final, Literal

from events import (
    EVENT_CLASSES,
    ZERO,
    AgentKilled,
    AgentSpawned,
    ArenaError,
    CapitalAllocated,
    CapitalReleased,
    Event,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    Fold,
    MarksRecorded,
    Tier,
    TradeExecuted,
    UnknownAgentError,
    ValidationError,
    equity,
    nav,
    unrealized_pnl,
)
from store import SQLiteEventStore

from ._checks import agent_id_arg, event_types_arg, int_arg

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime
    from types import ModuleType

    import pandas as pd

    from events import AgentEntry

__all__ = [
    "COLUMNS",
    "FRAMES",
    "MONEY_MODES",
    "Kind",
    "MoneyMode",
    "Source",
    "column_of",
    "frame",
    "frames",
    "need",
]

FRAMES: Final = ("events", "fills", "equity", "nav", "cycles", "agents")
"""Every frame, in the order ``arena export`` writes them."""

MoneyMode = Literal["decimal", "float"]
MONEY_MODES: Final = ("decimal", "float")

Source = str | os.PathLike[str] | Iterable[Event]
"""A store file (opened read-only, as ``arena report`` opens it) or a whole log from seq 1, in seq order."""

Kind = Literal["int", "int?", "text", "text?", "money", "money?", "time", "time?", "bool"]
"""How a column is typed: ``?`` marks one that may be missing. JSON columns are text."""

_MONEY_FIELDS: Final = ("cash", "holdings", "cost_basis", "unrealized_pnl", "equity", "realized_pnl")
_TIERS: Final = tuple(Tier)
_ENVELOPE: Final = set(Event.model_fields)

COLUMNS: Final[Mapping[str, tuple[tuple[str, Kind], ...]]] = {
    "events": (
        ("seq", "int"),
        ("timestamp", "time"),
        ("event_type", "text"),
        ("event_id", "text"),
        ("caused_by", "text?"),
        ("agent_id", "text?"),
        ("payload", "text"),
    ),
    "fills": (
        ("seq", "int"),
        ("timestamp", "time"),
        ("event_id", "text"),
        ("caused_by", "text?"),
        ("agent_id", "text"),
        ("symbol", "text"),
        ("side", "text"),
        ("quantity", "money"),
        ("price", "money"),
        ("market_price", "money"),
        ("fee", "money"),
        ("cost", "money"),
        ("realized_pnl", "money"),
        ("cash_delta", "money"),
        ("notional", "money"),
        ("slippage", "money"),
    ),
    "equity": (
        ("seq", "int"),
        ("timestamp", "time"),
        ("agent_id", "text"),
        ("tier", "text"),
        *((name, "money") for name in _MONEY_FIELDS),
        ("fees_paid", "money"),
        ("trades", "int"),
        ("positions", "text"),
    ),
    "nav": (
        ("seq", "int"),
        ("timestamp", "time"),
        ("nav", "money"),
        ("treasury", "money"),
        ("cash", "money"),
        ("holdings", "money"),
        ("capital_at_cost", "money"),
        ("funding", "money"),
        ("realized_pnl", "money"),
        ("fees_paid", "money"),
        ("unrealized_pnl", "money"),
        *((f"agents_{tier.value}", "int") for tier in _TIERS),
        *((f"capital_{tier.value}", "money") for tier in _TIERS),
        *((f"nav_{tier.value}", "money") for tier in _TIERS),
    ),
    "cycles": (
        ("cycle", "int"),
        ("seq", "int"),
        ("timestamp", "time"),
        ("decision", "text"),
        ("agent_id", "text"),
        ("reason", "text?"),
        ("amount", "money?"),
        ("from_tier", "text?"),
        ("to_tier", "text?"),
        ("parent_id", "text?"),
        ("details", "text?"),
    ),
    "agents": (
        ("agent_id", "text"),
        ("strategy", "text?"),
        ("genome", "text"),
        ("parent_id", "text?"),
        ("generation", "int"),
        ("tier", "text"),
        ("alive", "bool"),
        ("spawned_seq", "int"),
        ("spawned_at", "time"),
        ("killed_seq", "int?"),
        ("killed_at", "time?"),
        ("kill_reason", "text?"),
        ("trades", "int"),
        ("failures", "int"),
        ("capital_allocated", "money"),
        ("capital_released", "money"),
        ("cash", "money"),
        ("realized_pnl", "money"),
        ("fees_paid", "money"),
        ("equity", "money"),
    ),
}
"""Each frame's columns in order, with their kinds; ``cycles`` adds ``evidence.*`` columns, and a frame
whose event gains a field gains a column for it (typed by pandas)."""

_DECISIONS: Final = {
    "AgentKilled": "killed",
    "AgentGraduated": "graduated",
    "AgentDemoted": "demoted",
    "AgentSpawned": "spawned",
    "AgentMutated": "mutated",
    "CapitalAllocated": "allocated",
    "CapitalReleased": "released",
}
"""The events of a cycle that are its decisions, by tag (a tag, so an event class added later counts)."""
_AMOUNTS: Final = ("amount", "capital_released")
_INSTALL: Final = "pip install 'arena-runtime[analysis]'"


def need(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (pandas or pyarrow), or raise ``ArenaError`` saying how to install it."""
    try:
        return __import__(module)
    except ImportError:
        msg = f"{purpose} needs {module}, which is not installed; install the analysis extra: {_INSTALL}"
        raise ArenaError(msg) from None


def frame(
    source: Source,
    name: str,
    *,
    money: MoneyMode = "decimal",
    agent_id: str | None = None,
    event_types: Sequence[str] | None = None,
    from_seq: int | None = None,
    to_seq: int | None = None,
) -> pd.DataFrame:
    """Return frame ``name`` of ``source`` (see the module docstring), its rows picked by the filters.

    Args:
        source: A store file (read-only; safe while another process writes it) or a whole log from seq 1,
            such as ``Arena.replay_events()`` without filters.
        name: One of ``FRAMES``.
        money: ``"decimal"`` (exact) or ``"float"``.
        agent_id: Only rows about this agent (every frame but ``nav``).
        event_types: Only events with these tags (the ``events`` frame only).
        from_seq: Only rows at or after this seq (every frame but ``agents``).
        to_seq: The log as of this seq: events after it are not read.

    Raises:
        ValidationError: a name or filter is malformed, or does not apply to the frame; ``source`` does
            not start at seq 1.
        UnknownAgentError: ``agent_id`` was never spawned in the log (up to ``to_seq``).
        EventSourcingError: an event contradicts the log before it (the shared fold refused it).
        StoreError: the file is not a readable store.
        ArenaError: pandas is not installed.

    """
    try:
        names = _names([name], "name")
        _applies(names[0], agent_id=agent_id, event_types=event_types, from_seq=from_seq)
        rows = _Rows(
            names,
            agent_id=None if agent_id is None else agent_id_arg(agent_id),
            types=_types(event_types),
            from_seq=_seq(from_seq, "from_seq"),
        )
        mode, last = _money(money), _seq(to_seq, "to_seq")
    except ArenaError:
        _close(source)
        raise
    return _build(source, rows, money=mode, to_seq=last)[names[0]]


def frames(
    source: Source, names: Iterable[str] = FRAMES, *, money: MoneyMode = "decimal", to_seq: int | None = None
) -> dict[str, pd.DataFrame]:
    """Return the frames ``names`` of ``source`` from one pass over the log, by name, in ``FRAMES`` order.

    Raises:
        ValidationError: ``names`` is empty or names an unknown frame, ``money`` or ``to_seq`` is
            malformed, or ``source`` does not start at seq 1.
        EventSourcingError, StoreError, ArenaError: as ``frame`` says.

    """
    try:
        if isinstance(names, str):
            msg = f"names: {names!r} is not a collection of frame names; pass e.g. ['fills', 'nav']"
            raise ValidationError(msg, field="names", value=names)
        rows = _Rows(_names(list(names), "names"))
        mode, last = _money(money), _seq(to_seq, "to_seq")
    except ArenaError:
        _close(source)
        raise
    return _build(source, rows, money=mode, to_seq=last)


# --- arguments ----------------------------------------------------------------------------------------


def _names(names: list[object], field_name: str) -> tuple[str, ...]:
    known = ", ".join(FRAMES)
    if not names:
        msg = f"{field_name}: no frame named; pass one or more of {known}"
        raise ValidationError(msg, field=field_name, value=names)
    for name in names:
        if name not in FRAMES:
            msg = f"{field_name}: {name!r} is not a frame; pass one of {known}"
            raise ValidationError(msg, field=field_name, value=name)
    return tuple(name for name in FRAMES if name in names)


def _applies(name: str, *, agent_id: object, event_types: object, from_seq: object) -> None:
    """Refuse a filter that the frame has no column for, rather than ignore it."""
    if agent_id is not None and name == "nav":
        msg = (
            "agent_id: the nav frame is the whole arena, one row per mark, with no agent column; "
            "filter the equity frame by agent_id for one agent's curve"
        )
        raise ValidationError(msg, field="agent_id", value=agent_id)
    if event_types is not None and name != "events":
        msg = f"event_types: only the events frame has an event_type column, not {name}; drop event_types"
        raise ValidationError(msg, field="event_types", value=event_types)
    if from_seq is not None and name == "agents":
        msg = (
            "from_seq: the agents frame has one row per agent, not per seq; pass to_seq for the agents as "
            "of a seq, or filter spawned_seq yourself"
        )
        raise ValidationError(msg, field="from_seq", value=from_seq)


def _types(event_types: object) -> frozenset[str] | None:
    tags = event_types_arg(event_types)
    if tags is None:
        return None
    for tag in tags:
        if tag not in EVENT_CLASSES:
            known = ", ".join(sorted(EVENT_CLASSES))
            msg = f"event_types: {tag!r} is not an event type; pass some of {known}"
            raise ValidationError(msg, field="event_types", value=tag)
    return frozenset(tags)


def _seq(value: object, field_name: str) -> int | None:
    return int_arg(value, field_name, minimum=1, optional=True)


def _money(value: object) -> MoneyMode:
    if value == "decimal" or value == "float":  # noqa: PLR1714  (narrows the type; `in` does not)
        return value
    msg = f"money: {value!r} is not a money mode; pass 'decimal' (exact) or 'float' (for plotting)"
    raise ValidationError(msg, field="money", value=value)


# --- the one pass -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Flows:
    """What the ledger's fold does not keep of an agent: its capital flows, birth time and death."""

    spawned_at: datetime
    allocated: Decimal = ZERO
    released: Decimal = ZERO
    killed_at: datetime | None = None
    kill_reason: str | None = None


@dataclass(slots=True)
class _Rows:
    """The rows of the requested frames, collected as the events are folded."""

    names: tuple[str, ...]
    agent_id: str | None = None
    types: frozenset[str] | None = None
    from_seq: int | None = None
    fold: Fold = field(default_factory=Fold)
    rows: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    flows: dict[str, _Flows] = field(default_factory=dict)
    in_cycle: bool = False

    def __post_init__(self) -> None:
        self.rows = {name: [] for name in self.names}

    def add(self, event: Event) -> None:
        """Fold ``event`` in, then add the rows it makes to each requested frame."""
        if self.fold.seq == 0 and event.seq != 1:
            msg = (
                f"source: the log starts at seq {event.seq}, not 1; frames fold the whole log, so pass "
                "replay_events() without filters and filter the frame instead (agent_id=, from_seq=)"
            )
            raise ValidationError(msg, field="source", value=event.seq)
        data = self.fold.apply(event)
        self._flows(event)
        in_cycle = self.in_cycle  # a cycle's decisions are the events between its start and its end
        if isinstance(event, EvolutionCycleStarted):
            self.in_cycle = True
        elif isinstance(event, EvolutionCycleComplete):
            self.in_cycle = False
        if self.from_seq is not None and event.seq < self.from_seq:
            return
        if "events" in self.rows:
            self._event(event, data)
        if "fills" in self.rows and isinstance(event, TradeExecuted):
            self._keep("fills", _fill(event))
        if isinstance(event, MarksRecorded):
            self._marks(event)
        if "cycles" in self.rows and in_cycle and event.event_type in _DECISIONS:
            self._keep("cycles", _decision(event, self.fold.cycle))

    def _keep(self, name: str, row: dict[str, object]) -> None:
        if self.agent_id is None or row.get("agent_id") == self.agent_id:
            self.rows[name].append(row)

    def _flows(self, event: Event) -> None:
        match event:
            case AgentSpawned(agent_id=agent_id):
                self.flows[agent_id] = _Flows(spawned_at=event.timestamp)
            case CapitalAllocated(agent_id=agent_id, amount=amount):
                self.flows[agent_id].allocated += amount
            case CapitalReleased(agent_id=agent_id, amount=amount):
                self.flows[agent_id].released += amount
            case AgentKilled(agent_id=agent_id, reason=reason, capital_released=amount):
                flows = self.flows[agent_id]
                flows.released += amount
                flows.killed_at, flows.kill_reason = event.timestamp, reason
            case _:
                pass

    def _event(self, event: Event, data: str) -> None:
        if self.types is not None and event.event_type not in self.types:
            return
        stored = json.loads(data)
        payload = {key: value for key, value in stored.items() if key not in _ENVELOPE}
        self._keep(
            "events",
            {
                "seq": event.seq,
                "timestamp": event.timestamp,
                "event_type": event.event_type,
                "event_id": str(event.event_id),
                "caused_by": _text(event.caused_by),
                "agent_id": event.agent_id,
                "payload": _json(payload),
            },
        )

    def _marks(self, event: MarksRecorded) -> None:
        fold = self.fold
        live = [agent for agent in fold.agents.values() if agent.alive]
        if "equity" in self.rows:
            for agent in live:
                self._keep("equity", _equity(event, agent, fold.marks))
        if "nav" in self.rows:
            self.rows["nav"].append(_nav(event, fold))

    def agents(self) -> list[dict[str, object]]:
        """Return a row per agent ever spawned, as of the last event folded."""
        marks = self.fold.marks
        return [
            _agent(self.fold.agents[agent_id], self.flows[agent_id], marks)
            for agent_id in sorted(self.fold.agents)
            if self.agent_id is None or agent_id == self.agent_id
        ]


def _build(source: Source, rows: _Rows, *, money: MoneyMode, to_seq: int | None) -> dict[str, pd.DataFrame]:
    need("pandas", "a frame")
    with _events(source, to_seq) as events:
        for event in events:
            if to_seq is not None and event.seq > to_seq:
                break
            rows.add(event)
    if rows.agent_id is not None and rows.agent_id not in rows.fold.agents:
        seq = rows.fold.seq
        msg = (
            f"agent_id: {rows.agent_id!r} was never spawned in this log (up to seq {seq}); pass an id "
            "from the agents frame"
        )
        raise UnknownAgentError(msg, agent_id=rows.agent_id)
    if "agents" in rows.rows:
        rows.rows["agents"] = rows.agents()
    return {name: _table(name, rows.rows[name], money) for name in rows.names}


@contextmanager
def _events(source: Source, to_seq: int | None) -> Iterator[Iterator[Event]]:
    """Open ``source`` for one pass and close it on the way out, however the pass ends.

    A file is read through the store's own read-only reader, which takes no lock (as ``arena report``
    reads it), so a frame can be built while another process writes the file. An iterable is closed too
    if it can be: a replay holds a reader connection until then.
    """
    if isinstance(source, str | os.PathLike):
        with (
            SQLiteEventStore.open(source, readonly=True) as store,
            closing(store.read(to_seq=to_seq)) as read,
        ):
            yield read
        return
    if not isinstance(source, Iterable):
        msg = (
            f"source: a {type(source).__name__} is neither a store path nor events; pass a path or "
            "arena.replay_events()"
        )
        raise ValidationError(msg, field="source", value=source)
    events = iter(source)
    try:
        yield events
    finally:
        _close(events)


def _close(source: object) -> None:
    """Close ``source`` if it is a stream that can be (a replay holds a reader); never a path."""
    close = None if isinstance(source, str | os.PathLike) else getattr(source, "close", None)
    if callable(close):
        close()


# --- one row of each frame ------------------------------------------------------------------------------


def _fill(event: TradeExecuted) -> dict[str, object]:
    fields = _fields(event)
    return {
        **fields,
        "event_id": str(event.event_id),
        "caused_by": _text(event.caused_by),
        "notional": event.notional,
        "slippage": event.slippage,
    }


def _equity(event: MarksRecorded, agent: AgentEntry, marks: Mapping[str, Decimal]) -> dict[str, object]:
    worth = equity(agent, marks)
    cost = agent.capital_at_cost - agent.allocation
    return {
        "seq": event.seq,
        "timestamp": event.timestamp,
        "agent_id": agent.agent_id,
        "tier": agent.tier.value,
        "cash": agent.allocation,
        "holdings": worth - agent.allocation,
        "cost_basis": cost,
        "unrealized_pnl": unrealized_pnl([agent], marks),
        "equity": worth,
        "realized_pnl": agent.realized_pnl,
        "fees_paid": agent.fees_paid,
        "trades": agent.trades,
        "positions": _json({symbol: str(units) for symbol, units in sorted(agent.positions.items())}),
    }


def _nav(event: MarksRecorded, fold: Fold) -> dict[str, object]:
    """Return the arena at a mark, as ``breakdown_of`` sees it: NAV over every agent, tiers over the live.

    A killed agent still selling its holdings is on the books (``ArenaState.nav``), in no tier.
    """
    books = list(fold.agents.values())
    agents = dict.fromkeys(_TIERS, 0)
    capital = dict.fromkeys(_TIERS, ZERO)
    worth = dict.fromkeys(_TIERS, ZERO)
    for agent in books:
        if agent.alive:
            agents[agent.tier] += 1
            capital[agent.tier] += agent.capital_at_cost
            worth[agent.tier] += equity(agent, fold.marks)
    cash = sum((agent.allocation for agent in books), ZERO)
    value = nav(fold.treasury, books, fold.marks)
    return {
        "seq": event.seq,
        "timestamp": event.timestamp,
        "nav": value,
        "treasury": fold.treasury,
        "cash": cash,
        "holdings": value - fold.treasury - cash,
        "capital_at_cost": fold.total_capital,
        "funding": fold.funding,
        "realized_pnl": fold.realized_pnl,
        "fees_paid": fold.fees_paid,
        "unrealized_pnl": unrealized_pnl(books, fold.marks),
        **{f"agents_{tier.value}": agents[tier] for tier in _TIERS},
        **{f"capital_{tier.value}": capital[tier] for tier in _TIERS},
        **{f"nav_{tier.value}": worth[tier] for tier in _TIERS},
    }


def _decision(event: Event, cycle: int) -> dict[str, object]:
    """Return a cycle's decision, read generically: fields to columns, evidence flattened, the rest JSON."""
    fields = {name: value for name, value in _fields(event).items() if name not in _ENVELOPE}
    as_json = event.model_dump(mode="json", exclude=_ENVELOPE)
    amount = next((fields.pop(name) for name in _AMOUNTS if name in fields), None)
    tier = fields.pop("tier", None)  # a spawn's tier is the tier it goes to
    row: dict[str, object] = {
        "cycle": cycle,
        "seq": event.seq,
        "timestamp": event.timestamp,
        "decision": _DECISIONS[event.event_type],
        "agent_id": event.agent_id,
        "reason": fields.pop("reason", None),
        "amount": amount,
        "from_tier": _text(fields.pop("from_tier", None)),
        "to_tier": _text(fields.pop("to_tier", tier)),
        "parent_id": fields.pop("parent_id", None),
    }
    evidence = fields.pop("evidence", None)
    if isinstance(evidence, Mapping):
        row.update(_flat(as_json["evidence"], "evidence"))
    rest = {name: as_json[name] for name in sorted(fields)}
    row["details"] = _json(rest) if rest else None
    return row


def _agent(agent: AgentEntry, flows: _Flows, marks: Mapping[str, Decimal]) -> dict[str, object]:
    strategy = agent.genome.get("strategy", agent.genome.get("family"))  # the name, or the older key
    return {
        "agent_id": agent.agent_id,
        "strategy": strategy if isinstance(strategy, str) else None,
        "genome": _json(agent.genome),
        "parent_id": agent.parent_id,
        "generation": agent.generation,
        "tier": agent.tier.value,
        "alive": agent.alive,
        "spawned_seq": agent.spawned_seq,
        "spawned_at": flows.spawned_at,
        "killed_seq": agent.killed_seq,
        "killed_at": flows.killed_at,
        "kill_reason": flows.kill_reason,
        "trades": agent.trades,
        "failures": agent.failures,
        "capital_allocated": flows.allocated,
        "capital_released": flows.released,
        "cash": agent.allocation,
        "realized_pnl": agent.realized_pnl,
        "fees_paid": agent.fees_paid,
        "equity": equity(agent, marks),
    }


def _fields(event: Event) -> dict[str, object]:
    """Return every field of ``event`` as the model holds it: amounts as ``Decimal``, not as their text.

    Not ``model_dump()``: money fields serialize to text even in python mode.
    """
    return {name: getattr(event, name) for name in type(event).model_fields if name != "event_type"}


def _flat(value: object, prefix: str) -> dict[str, object]:
    """Return ``{"a": {"b": 1}}`` under ``prefix`` as ``{"prefix.a.b": 1}``; a list stays whole, as JSON."""
    if isinstance(value, Mapping):
        flat: dict[str, object] = {}
        for key in sorted(value):
            flat.update(_flat(value[key], f"{prefix}.{key}"))
        return flat
    return {prefix: _json(value) if isinstance(value, list) else value}


def _json(value: object) -> str:
    # the canonical form's options (events.canonical_json), so equal payloads give equal text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --- the table ------------------------------------------------------------------------------------------


def _table(name: str, rows: list[dict[str, object]], money: MoneyMode) -> pd.DataFrame:
    """Columns in ``COLUMNS`` order, typed by their kinds, then any the events added, sorted by name."""
    import pandas as pd  # noqa: PLC0415  (the optional extra: `import actors` never loads it)

    spec = dict(COLUMNS[name])
    data = {
        column: column_of([row.get(column) for row in rows], kind, money) for column, kind in spec.items()
    }
    extra = sorted({key for row in rows for key in row} - set(spec))
    for column in extra:
        data[column] = pd.Series([row.get(column) for row in rows])
    return pd.DataFrame(data, columns=[*spec, *extra])


def column_of(values: Sequence[object], kind: Kind, money: MoneyMode) -> pd.Series:
    """Return ``values`` as a column of ``kind``: money as exact ``Decimal`` objects, or as floats.

    Raises:
        ArenaError: pandas is not installed.

    """
    need("pandas", "a frame")
    import pandas as pd  # noqa: PLC0415  (the optional extra: `import actors` never loads it)

    column = pd.Series(list(values), dtype="object")
    match kind:
        case "money" | "money?":
            return column.map(_float, na_action="ignore").astype("float64") if money == "float" else column
        case "time" | "time?":
            return pd.to_datetime(column, utc=True).astype("datetime64[us, UTC]")
        case "int":
            return column.astype("int64")
        case "int?":
            return column.astype("Int64")
        case "bool":
            return column.astype("bool")
        case "text" | "text?":
            return column.astype("str")


def _float(value: Decimal) -> float:
    return float(value)
