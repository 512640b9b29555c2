"""Results as data: every frame says what the books say, to the last digit, and survives csv and parquet."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from actors import (
    FORMATS,
    FRAMES,
    Arena,
    SimClock,
    breakdown_of,
    frame,
    frames,
    read_frame,
    run_simulation,
    write_frames,
)
from events import (
    ZERO,
    ArenaError,
    ArenaState,
    CapitalConservationCheck,
    LogBuilder,
    MarksRecorded,
    Tier,
    UnknownAgentError,
    ValidationError,
    canonical_json,
    fold,
)
from tests.strategies import valid_event_logs
from trading import EvolutionPolicy, SyntheticFeed

START = datetime(2026, 1, 1, tzinfo=UTC)
MONEY = ("decimal", "float")


@dataclass(frozen=True)
class Run:
    """A finished seeded simulation on a file, and what the live arena said before it closed."""

    path: str
    state: ArenaState
    nav: Decimal
    equities: dict[str, Decimal]
    events: list


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    path = str(tmp_path_factory.mktemp("frames") / "arena.db")
    with Arena.open(path, total_capital=Decimal(100_000), seed=1, clock=SimClock(START)) as arena:
        run_simulation(
            arena,
            SyntheticFeed(seed=3, start=START, days=7),
            seed=3,
            agents=6,
            policy=EvolutionPolicy(cycle_days=2),
        )
        state = arena.state()
        return Run(
            path=path,
            state=state,
            nav=arena.nav(),
            equities={agent.agent_id: arena.equity(agent.agent_id) for agent in state.alive_agents()},
            events=list(arena.replay_events()),
        )


@pytest.fixture(scope="module")
def tables(run) -> dict[str, pd.DataFrame]:
    return frames(run.path)


def test_frames_are_the_six_in_order_each_with_its_columns(tables):
    assert tuple(tables) == FRAMES == ("events", "fills", "equity", "nav", "cycles", "agents")
    assert list(tables["events"].columns) == [
        "seq",
        "timestamp",
        "event_type",
        "event_id",
        "caused_by",
        "agent_id",
        "payload",
    ]
    assert {"quantity", "price", "market_price", "fee", "cost", "realized_pnl", "cash_delta"} <= set(
        tables["fills"].columns
    )
    assert str(tables["nav"]["timestamp"].dtype) == "datetime64[us, UTC]"


def test_the_run_has_fills_marks_cycles_and_kills_to_tabulate(run, tables):
    assert len(tables["fills"]) > 10
    assert len(tables["nav"]) > 10
    assert run.state.cycle >= 2
    assert set(tables["cycles"]["decision"]) >= {"killed", "spawned", "mutated", "allocated"}
    last_mark = max(event.seq for event in run.events if isinstance(event, MarksRecorded))
    # so the last nav row is the arena at its head: what follows it moves no value
    assert {type(event) for event in run.events[last_mark:]} <= {CapitalConservationCheck}


def test_the_events_frame_is_the_log_row_for_row(run, tables):
    events = tables["events"]

    assert events["seq"].tolist() == [event.seq for event in run.events]
    assert events["event_type"].tolist() == [event.event_type for event in run.events]
    for row, event in zip(events.itertuples(), run.events, strict=True):
        stored = json.loads(canonical_json(event))
        assert json.loads(row.payload) == {
            key: value
            for key, value in stored.items()
            if key not in {"seq", "event_id", "timestamp", "event_type", "agent_id", "caused_by"}
        }
        assert row.event_id == str(event.event_id)


def test_fills_cash_deltas_fees_and_realized_pnl_add_up_to_the_final_books_exactly(run, tables):
    fills, agents, state = tables["fills"], tables["agents"], run.state

    assert sum(fills["fee"], ZERO) == state.fees_paid
    assert sum(fills["realized_pnl"], ZERO) == state.realized_pnl
    assert state.total_capital == state.funding + sum(fills["realized_pnl"], ZERO) - sum(fills["fee"], ZERO)
    for row in agents.itertuples():
        deltas = sum(fills.loc[fills["agent_id"] == row.agent_id, "cash_delta"], ZERO)
        assert row.cash == row.capital_allocated - row.capital_released + deltas
        assert row.cash == state.agents[row.agent_id].allocation


def test_the_last_nav_row_is_the_arenas_nav_and_breakdown_exactly(run, tables):
    last = tables["nav"].iloc[-1]
    breakdown = breakdown_of(run.state)

    assert last["nav"] == run.nav == breakdown.nav
    assert last["treasury"] == breakdown.free_capital
    assert last["capital_at_cost"] == breakdown.total_capital
    assert last["funding"] == breakdown.funding
    assert last["realized_pnl"] == breakdown.realized_pnl
    assert last["fees_paid"] == breakdown.fees_paid
    assert last["unrealized_pnl"] == breakdown.unrealized_pnl
    for tier in Tier:
        assert last[f"agents_{tier.value}"] == breakdown.agents_by_tier[tier]
        assert last[f"capital_{tier.value}"] == breakdown.by_tier[tier]
        assert last[f"nav_{tier.value}"] == breakdown.nav_by_tier[tier]


def test_every_nav_row_is_the_breakdown_of_the_log_folded_to_its_seq(run, tables):
    for row in tables["nav"].iloc[:: max(1, len(tables["nav"]) // 12)].itertuples():
        breakdown = breakdown_of(fold(run.events[: row.seq]))

        assert (row.nav, row.treasury, row.unrealized_pnl) == (
            breakdown.nav,
            breakdown.free_capital,
            breakdown.unrealized_pnl,
        )
        assert row.capital_at_cost == breakdown.total_capital


def test_the_last_equity_rows_are_each_live_agents_equity(run, tables):
    curve = tables["equity"]
    last = curve[curve["seq"] == curve["seq"].max()]

    assert dict(zip(last["agent_id"], last["equity"], strict=True)) == run.equities
    assert all(last["equity"] == last["cash"] + last["holdings"])
    assert all(last["unrealized_pnl"] == last["holdings"] - last["cost_basis"])


def test_equity_rows_add_up_to_the_nav_at_every_mark(tables):
    curve, nav = tables["equity"], tables["nav"].set_index("seq")

    for seq, rows in curve.groupby("seq"):
        assert nav.loc[seq, "treasury"] + sum(rows["equity"], ZERO) == nav.loc[seq, "nav"]


def test_the_agents_frame_has_every_agent_ever_spawned_with_its_end(run, tables):
    agents = tables["agents"].set_index("agent_id")

    assert set(agents.index) == set(run.state.agents)
    for agent_id, record in run.state.agents.items():
        row = agents.loc[agent_id]
        assert row["alive"] == record.alive
        assert row["tier"] == record.tier.value
        assert row["trades"] == record.trades
        assert row["realized_pnl"] == record.realized_pnl
        assert row["fees_paid"] == record.fees_paid
        assert row["generation"] == record.generation
        assert json.loads(row["genome"]) == record.genome
        assert row["strategy"] == record.genome["strategy"]
        assert row["equity"] == run.equities.get(agent_id, ZERO)
        if record.alive:
            assert pd.isna(row["killed_seq"])
        else:
            assert row["killed_seq"] == record.killed_seq
            assert isinstance(row["kill_reason"], str)


def test_the_cycles_frame_has_each_decision_with_its_cycle_reason_and_evidence(run, tables):
    cycles = tables["cycles"]
    killed = cycles[cycles["decision"] == "killed"]
    agents = tables["agents"].set_index("agent_id")

    assert set(cycles["cycle"]) <= set(range(1, run.state.cycle + 1))
    assert set(cycles["decision"]) <= {
        "killed",
        "graduated",
        "demoted",
        "spawned",
        "mutated",
        "allocated",
        "released",
    }
    assert killed["reason"].notna().all()
    assert all(killed["reason"] == agents.loc[killed["agent_id"], "kill_reason"].to_numpy())
    assert any(column.startswith("evidence.") for column in cycles.columns)


def test_a_cycle_tabulates_kills_promotions_demotions_births_and_moves_in_log_order():
    log = LogBuilder(7)
    log.open("1000")
    for agent in ("a1", "a2", "a3"):
        log.spawn(agent)
        log.allocate(agent, "100")
    log.graduate("a2")
    log.graduate("a3")
    log.mark({"XYZ": "10"})
    log.allocate("a1", "5")  # outside a cycle: not a decision
    started = log.start_cycle()
    log.kill("a1", reason="sharpe -0.4 ranked 3 of 3", evidence={"fitness": -0.4, "rank": {"of": 3, "is": 3}})
    log.graduate("a2", reason="met every threshold", evidence={"bars": 30})
    log.demote("a3", reason="drawdown 0.3 over 0.2", evidence={"drawdown": 0.3, "limit": [0.2]})
    log.mutate("a2", "a4", mutation={"window": [10, 12]}, caused_by=started)
    log.allocate("a4", "50")
    log.release("a2", "7")
    log.complete_cycle(killed=1, graduated=1, mutated=1, reallocated=2)

    cycles = frame(log.events, "cycles")

    assert cycles["decision"].tolist() == [
        "killed",
        "graduated",
        "demoted",
        "spawned",
        "mutated",
        "allocated",
        "released",
    ]
    assert set(cycles["cycle"]) == {1}
    assert cycles["agent_id"].tolist() == ["a1", "a2", "a3", "a4", "a4", "a4", "a2"]
    kill, promotion, demotion, spawn, mutation, funding, release = (row for _, row in cycles.iterrows())
    assert (kill["reason"], kill["amount"]) == ("sharpe -0.4 ranked 3 of 3", Decimal(105))
    assert (kill["evidence.fitness"], kill["evidence.rank.of"], kill["evidence.rank.is"]) == (-0.4, 3, 3)
    assert (promotion["from_tier"], promotion["to_tier"], promotion["evidence.bars"]) == (
        "proving",
        "arena",
        30,
    )
    assert (demotion["from_tier"], demotion["to_tier"], demotion["reason"]) == (
        "proving",
        "simulation",
        "drawdown 0.3 over 0.2",
    )
    assert demotion["evidence.limit"] == "[0.2]"
    assert (spawn["parent_id"], spawn["to_tier"]) == ("a2", "simulation")
    assert json.loads(mutation["details"])["mutation"] == {"window": [10, 12]}
    assert (funding["amount"], release["amount"]) == (Decimal(50), Decimal(7))


def test_filters_pick_rows_while_the_figures_fold_the_whole_log(run, tables):
    agent = min(run.equities)
    middle = run.events[len(run.events) // 2].seq

    curve = frame(run.path, "equity", agent_id=agent)
    late = frame(run.path, "nav", from_seq=middle)
    early = frame(run.path, "agents", to_seq=middle)
    kills = frame(run.path, "events", event_types=["AgentKilled"])

    whole = tables["equity"]
    assert curve.reset_index(drop=True).equals(whole[whole["agent_id"] == agent].reset_index(drop=True))
    assert late["seq"].min() >= middle
    assert late.reset_index(drop=True).equals(
        tables["nav"][tables["nav"]["seq"] >= middle].reset_index(drop=True)
    )
    assert early["spawned_seq"].max() <= middle
    assert early.set_index("agent_id")["cash"].to_dict() == {
        agent_id: record.allocation for agent_id, record in fold(run.events[:middle]).agents.items()
    }
    assert set(kills["event_type"]) <= {"AgentKilled"}
    assert len(kills) == sum(1 for record in run.state.agents.values() if not record.alive)


def test_money_as_floats_for_plotting(run, tables):
    nav = frame(run.path, "nav", money="float")

    assert nav["nav"].dtype == "float64"
    assert nav["nav"].iloc[-1] == float(run.nav)
    assert nav["seq"].tolist() == tables["nav"]["seq"].tolist()


def test_arena_frame_on_a_live_arena_matches_the_frame_of_its_file(tmp_path):
    path = tmp_path / "live.db"
    with Arena.open(path, total_capital=Decimal(10_000), seed=2, clock=SimClock(START)) as arena:
        run_simulation(arena, SyntheticFeed(seed=2, start=START, days=2), seed=2, agents=3)

        live = {name: arena.frame(name) for name in FRAMES}
        nav = arena.frame("nav")

        assert nav["nav"].iloc[-1] == arena.nav()
    on_file = frames(path)
    for name in FRAMES:
        pd.testing.assert_frame_equal(live[name], on_file[name])


def test_a_frame_of_an_empty_log_has_its_columns_and_no_rows():
    for name in FRAMES:
        table = frame([], name)

        assert table.empty
        assert len(table.columns) >= 7


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_file_round_trip_gives_back_exactly_the_ledgers_numbers(run, tables, tmp_path, file_format):
    written = write_frames(tables, tmp_path / "out", file_format=file_format)

    back = {path.stem: read_frame(path) for path in written}

    assert [path.name for path in written] == [f"{name}.{file_format}" for name in FRAMES]
    for name in FRAMES:
        pd.testing.assert_frame_equal(back[name], tables[name], check_exact=True)
    assert sum(back["fills"]["fee"], ZERO) == run.state.fees_paid
    assert back["nav"]["nav"].iloc[-1] == run.nav
    assert all(isinstance(value, Decimal) for value in back["nav"]["nav"])


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_round_trip_of_empty_frames_keeps_their_columns(tmp_path, file_format):
    empty = frames([])

    written = write_frames(empty, tmp_path, file_format=file_format)

    for path in written:
        assert list(read_frame(path).columns) == list(empty[path.stem].columns)


def test_parquet_stores_money_as_decimal128_at_8_places(tables, tmp_path):
    (path,) = write_frames({"fills": tables["fills"]}, tmp_path, file_format="parquet")

    schema = pq.read_schema(path)
    assert str(schema.field("fee").type) == "decimal128(38, 8)"
    assert str(schema.field("timestamp").type) == "timestamp[us, tz=UTC]"


def test_csv_writes_money_as_decimal_text_at_8_places(tables, tmp_path):
    (path,) = write_frames({"nav": tables["nav"]}, tmp_path, file_format="csv")

    header, first = path.read_text(encoding="utf-8").splitlines()[:2]

    assert header.startswith("seq,timestamp,nav,treasury")
    assert first.split(",")[2] == f"{tables['nav']['nav'].iloc[0]:.8f}"
    assert first.split(",")[1].endswith("Z")


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "filters", "pattern"),
    [
        (
            "fill",
            {},
            r"^name: 'fill' is not a frame; pass one of events, fills, equity, nav, cycles, agents$",
        ),
        ("nav", {"agent_id": "a-000001"}, r"^agent_id: the nav frame is the whole arena"),
        ("fills", {"event_types": ["TradeExecuted"]}, r"^event_types: only the events frame has"),
        ("agents", {"from_seq": 3}, r"^from_seq: the agents frame has one row per agent"),
        ("events", {"event_types": ["Trade"]}, r"^event_types: 'Trade' is not an event type; pass some of"),
        ("events", {"event_types": "TradeExecuted"}, r"^event_types: 'TradeExecuted' is not a collection"),
        ("events", {"to_seq": 0}, r"^to_seq: 0 is not an int from 1 to 2\*\*63 - 1"),
        ("events", {"from_seq": True}, r"^from_seq: True is not an int"),
        ("events", {"agent_id": ""}, r"^agent_id: '' is not an agent id"),
        ("events", {"money": "cents"}, r"^money: 'cents' is not a money mode; pass 'decimal'"),
    ],
)
def test_a_bad_name_or_filter_is_refused_before_anything_is_read(run, name, filters, pattern):
    with pytest.raises(ValidationError, match=pattern):
        frame(run.path, name, **filters)


def test_an_agent_never_spawned_is_refused_naming_it(run):
    with pytest.raises(UnknownAgentError, match=r"^agent_id: 'a-999999' was never spawned in this log"):
        frame(run.path, "equity", agent_id="a-999999")


def test_a_log_that_does_not_start_at_seq_1_is_refused(run):
    with pytest.raises(
        ValidationError, match=r"^source: the log starts at seq 5, not 1; frames fold the whole"
    ):
        frame(run.events[4:], "nav")


def test_a_source_that_is_neither_a_path_nor_events_is_refused():
    with pytest.raises(ValidationError, match=r"^source: a int is neither a store path nor events"):
        frame(42, "nav")  # type: ignore[arg-type]


def test_frame_names_given_as_one_string_or_none_are_refused():
    with pytest.raises(ValidationError, match=r"^names: 'nav' is not a collection of frame names"):
        frames([], "nav")
    with pytest.raises(ValidationError, match=r"^names: no frame named; pass one or more of events"):
        frames([], [])


def test_a_bad_name_closes_the_replay_it_was_given():
    log = LogBuilder(1)
    log.open()
    closed = []

    def replay():
        try:
            yield from log.events
        finally:
            closed.append(True)

    events = replay()
    next(events)  # started, so that close() runs its finally
    with pytest.raises(ValidationError):
        frame(events, "fill")

    assert closed == [True]


def test_without_pandas_a_frame_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)

    with pytest.raises(
        ArenaError, match=r"^a frame needs pandas, which is not installed; .*'arena-runtime\[analysis\]'"
    ):
        frame([], "nav")


def test_without_pyarrow_parquet_says_how_to_install_it(tmp_path, monkeypatch):
    empty = frames([], ["nav"])
    monkeypatch.setitem(sys.modules, "pyarrow", None)

    with pytest.raises(ArenaError, match=r"^writing parquet needs pyarrow, which is not installed"):
        write_frames(empty, tmp_path / "out", file_format="parquet")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("target", "options", "pattern"),
    [
        (
            "out",
            {"file_format": "xlsx"},
            r"^file_format: 'xlsx' is not a file format; pass one of csv, parquet$",
        ),
        ("file.txt", {}, r"^out: '.*file.txt' is a file, not a folder"),
        ("missing/out", {}, r"^out: the parent folder of '.*missing/out' does not exist"),
        ("taken", {}, r"^out: '.*taken' already holds nav.csv; pass another folder, or replace them"),
    ],
)
def test_write_frames_refuses_a_bad_target_and_writes_nothing(tmp_path, target, options, pattern):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "nav.csv").write_text("old", encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    with pytest.raises(ValidationError, match=pattern):
        write_frames(frames([], ["nav"]), tmp_path / target, **{"file_format": "csv", **options})

    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "taken" / "nav.csv").read_text(encoding="utf-8") == "old"


def test_write_frames_replaces_only_when_told(tmp_path):
    (tmp_path / "nav.csv").write_text("old", encoding="utf-8")

    write_frames(frames([], ["nav"]), tmp_path, file_format="csv", replace=True)

    assert (tmp_path / "nav.csv").read_text(encoding="utf-8").startswith("seq,timestamp,nav")


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("exists", [False, True])
def test_a_write_that_fails_midway_leaves_nothing_behind(tables, tmp_path, file_format, exists):
    broken = tables["nav"].copy()
    broken["nav"] = pd.Series(["not money"] * len(broken), dtype="object")
    out = tmp_path / "out"
    if exists:
        out.mkdir()

    with pytest.raises(ValidationError, match=r"^frames: column 'nav' of nav holds 'not money', not money"):
        write_frames({"fills": tables["fills"], "nav": broken}, out, file_format=file_format)

    assert sorted(tmp_path.rglob("*")) == ([out] if exists else [])


def test_write_frames_refuses_a_frame_missing_its_columns(tables, tmp_path):
    with pytest.raises(ValidationError, match=r"^frames: nav lacks the columns nav, treasury"):
        write_frames({"nav": tables["nav"].drop(columns=["nav", "treasury"])}, tmp_path, file_format="csv")


def test_write_frames_refuses_an_unknown_frame_or_none(tmp_path):
    with pytest.raises(ValidationError, match=r"^frames: 'navs' is not a frame; the frames are events"):
        write_frames({"navs": pd.DataFrame()}, tmp_path, file_format="csv")
    with pytest.raises(ValidationError, match=r"^frames: nothing to write; pass one or more of events"):
        write_frames({}, tmp_path, file_format="csv")


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("nav.xlsx", r"^path: '.*nav.xlsx' is not a .csv or .parquet file; pass one of csv, parquet$"),
        ("navs.csv", r"^path: '.*navs.csv' is not named for a frame; the frames are events"),
    ],
)
def test_read_frame_refuses_a_file_not_named_for_a_frame(tmp_path, name, pattern):
    with pytest.raises(ValidationError, match=pattern):
        read_frame(tmp_path / name)


# --- every log ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=valid_event_logs())
def test_the_nav_frame_reconciles_at_every_mark_of_any_valid_log(log):
    built = frames(log, ["nav", "equity", "fills"])
    nav, curve = built["nav"], built["equity"]

    marks = [event.seq for event in log if isinstance(event, MarksRecorded)]
    assert nav["seq"].tolist() == marks
    for row in nav.itertuples():
        breakdown = breakdown_of(fold(log[: row.seq]))
        assert row.nav == breakdown.nav == row.capital_at_cost + row.unrealized_pnl
        assert row.nav == row.treasury + row.cash + row.holdings
        assert (
            row.capital_at_cost == row.funding + row.realized_pnl - row.fees_paid == breakdown.total_capital
        )
        for tier in Tier:
            assert getattr(row, f"capital_{tier.value}") == breakdown.by_tier[tier]
            assert getattr(row, f"nav_{tier.value}") == breakdown.nav_by_tier[tier]
        rows = curve[curve["seq"] == row.seq]
        assert dict(zip(rows["agent_id"], rows["equity"], strict=True)) == breakdown.equity_by_agent
    state = fold(log)
    assert sum(built["fills"]["fee"], ZERO) == state.fees_paid
    assert sum(built["fills"]["realized_pnl"], ZERO) == state.realized_pnl
