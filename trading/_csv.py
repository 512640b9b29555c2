"""Market data from CSV files as people actually have them: any header case, gzip, dates, datetimes or epochs.

The file is read and checked completely when the feed is built, so a bad row fails fast with the file, line
and column that need fixing, before any simulation time is spent. Prices go from text straight to
``Decimal``, never through ``float``, so ``101.10`` stays exactly ``101.10``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import re
import zlib
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from events import MONEY_SCALE, MarketDataError, ValidationError

from ._bar import Bar

if TYPE_CHECKING:
    import os
    from collections.abc import Generator, Iterator

    from pydantic import JsonValue

__all__ = ["CsvFeed"]

logger = logging.getLogger(__name__)

_ALIASES = {  # role -> accepted header names, case-insensitive, best first
    "timestamp": ("timestamp", "datetime", "date", "time"),
    "symbol": ("symbol", "ticker"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
}
_EXPECTED = "timestamp (or datetime, date, time), open, high, low, close, volume (or vol)"
_GZIP_MAGIC = b"\x1f\x8b"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")
# What a price or volume cell may hold: ASCII only ([0-9], not \d), no underscores. Decimal() reads
# "1_000" and Arabic-Indic or fullwidth digits too, which no exporter writes for a number; an exponent
# stays, since pandas writes small floats that way ("1.234e-05", exact as a decimal), and so does a sign.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LAST = datetime.max.replace(tzinfo=UTC)
_BASIC_DATE = re.compile(r"\d{8}")  # 20240102 is a date (basic ISO), not 1970-08-23 in epoch seconds
_MILLIS_FROM = 10**11  # seconds beyond year 5138: no market has such data, so the number is milliseconds
_TIMESTAMP_FORMS = "an ISO date or datetime (2024-01-02, 2024-01-02T09:30:00Z) or unix epoch seconds"


class _Columns(NamedTuple):
    """Where each role lives in a row, and the header name to quote in errors."""

    position: dict[str, int]
    name: dict[str, str]
    timestamp: tuple[int, ...]  # one column, or a date column and a time column joined with a space
    width: int  # fields a row needs to reach every column we read


class _Row(NamedTuple):
    line: int
    timestamp: datetime
    symbol: str
    prices: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]  # open, high, low, close, volume


class CsvFeed:
    """Bars read from one CSV file (plain or gzip) holding one symbol or many.

    Header names are matched case-insensitively after stripping whitespace; unknown columns such as
    ``Adj Close`` are ignored. The delimiter is whichever of comma, semicolon or tab the header uses most.
    Timestamps may be ISO dates (midnight UTC), ISO datetimes with ``T`` or a space (naive means UTC,
    offsets are converted to UTC), ``date`` and ``time`` in two columns, or unix epoch seconds (values past
    year 5138 are read as milliseconds). Bars of many symbols may come grouped by symbol or interleaved;
    each symbol's rows must be in strictly increasing time.

    Args:
        path: The file; compressed files are recognised by gzip's magic bytes, whatever their name.
        symbol: For a file without a symbol column, the symbol of its bars (default: the file name
            without ``.csv``/``.gz``, upper-cased: ``aapl.csv.gz`` -> ``AAPL``). For a file with one, keep
            only that symbol's bars.
        start: Drop bars before this aware datetime, or before midnight UTC of this date.
        days: Keep bars earlier than the first kept bar plus this many calendar days.

    Raises:
        MarketDataError: The file is missing, unreadable or malformed; the error names the line and column.
        ValidationError: An option is out of range.

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        symbol: str | None = None,
        start: datetime | date | None = None,
        days: int | None = None,
    ) -> None:
        self._path = Path(path)
        self._source = str(path)
        if symbol is not None and not symbol.strip():
            msg = f"csv feed: symbol {symbol!r} is blank; expected a ticker such as 'AAPL'; pass one or None"
            raise ValidationError(msg, field="symbol", value=symbol)
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            msg = f"csv feed: days must be an integer >= 1 or None, got {days!r}; pass a positive number"
            raise ValidationError(msg, field="days", value=days)
        rows = self._load(symbol, _utc_start(start))
        if days is not None and days <= (_LAST - rows[0].timestamp).days:  # a window past 9999: every bar
            cutoff = rows[0].timestamp + timedelta(days=days)
            rows = [row for row in rows if row.timestamp < cutoff]
        self._bars = tuple(_bar(row) for row in rows)
        self._symbols = tuple(sorted({bar.symbol for bar in self._bars}))
        logger.debug("csv feed %s: %d bars of %s", self._source, len(self._bars), self._symbols)

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols that have bars in the window, sorted ascending (the order of bars within a step)."""
        return self._symbols

    def identity(self) -> dict[str, JsonValue]:
        """Return what names this market in a run's manifest: the file (absolute path, size, sha256).

        The window (``start``, ``days``) is not part of it: a resumed run reads the same file from where
        its log ends. Hashing reads the file once more, which is cheap beside parsing it.
        """
        digest = hashlib.sha256()
        with self._path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        return {
            "kind": "csv",
            "path": str(self._path.resolve()),
            "size": self._path.stat().st_size,
            "sha256": digest.hexdigest(),
        }

    def __repr__(self) -> str:
        return f"CsvFeed({self._source!r}, symbols={self._symbols!r}, bars={len(self._bars)})"

    def __iter__(self) -> Iterator[Bar]:
        """Yield every bar in ascending ``(timestamp, symbol)`` order."""
        return iter(self._bars)

    def _error(
        self,
        problem: str,
        line: int | None,
        column: str | None = None,
        value: object = None,
        *,
        field: str | None = None,
    ) -> MarketDataError:
        """Build the error; ``column`` is a cell's column (quoted in the message), ``field`` anything else."""
        where = f"market data file {self._source!r}"
        where += "" if line is None else f" line {line}"
        where += "" if column is None else f", column {column!r}"
        return MarketDataError(
            f"{where}: {problem}", source=self._source, line=line, field=field or column, value=value
        )

    def _load(self, symbol: str | None, start: datetime | None) -> list[_Row]:
        last: dict[str, tuple[int, datetime]] = {}  # symbol -> its latest (line, timestamp)
        rows: list[_Row] = []
        with closing(self._lines()) as lines:
            header_line, header = next(lines, (None, []))
            if header_line is None:
                msg = f"is empty; expected a header row with {_EXPECTED}, then one row per bar; fill it"
                raise self._error(msg, None)
            columns = self._columns(header_line, header)
            default = None if "symbol" in columns.position else (symbol or self._stem())
            for line, cells in lines:
                row = self._row(line, cells, len(header), columns, default)
                previous = last.get(row.symbol)
                if previous is not None and row.timestamp <= previous[1]:
                    raise self._disorder(row, previous, columns.name["timestamp"])
                last[row.symbol] = (row.line, row.timestamp)
                if (symbol is None or row.symbol == symbol) and (start is None or row.timestamp >= start):
                    rows.append(row)
        if not last:
            msg = f"has a header but no bars; expected data rows after line {header_line}; add rows"
            raise self._error(msg, None)
        if not rows:
            raise self._nothing_kept(symbol, start, last)
        rows.sort(key=lambda row: (row.timestamp, row.symbol))
        return rows

    def _lines(self) -> Generator[tuple[int, list[str]]]:
        """Yield ``(line number, cells)`` for every non-blank row, translating I/O and format errors."""
        reader = None
        try:
            with self._path.open("rb") as raw:
                compressed = raw.read(2) == _GZIP_MAGIC
            binary = gzip.open(self._path) if compressed else self._path.open("rb")  # noqa: SIM115  (the TextIOWrapper below owns it)
            with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
                first = text.readline()
                counts = {sep: first.count(sep) for sep in ",;\t"}
                reader = csv.reader(chain([first], text), delimiter=max(counts, key=counts.__getitem__))
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        yield reader.line_num, cells
        except FileNotFoundError as error:
            msg = "does not exist; expected a CSV file (plain or gzip); check the path"
            raise self._error(msg, None) from error
        except (OSError, EOFError, zlib.error) as error:
            msg = f"cannot be read ({error}); expected a readable CSV or gzip file; check it is not truncated"
            raise self._error(msg, None) from error
        except UnicodeDecodeError as error:
            msg = f"is not UTF-8 text ({error.reason}); expected a UTF-8 CSV file; re-save it as UTF-8"
            raise self._error(msg, None) from error  # decoding runs ahead of the reader: no exact line
        except csv.Error as error:
            msg = f"is not well-formed CSV ({error}); expected delimited rows; fix the quoting"
            raise self._error(msg, None if reader is None else reader.line_num) from error

    def _columns(self, line: int, header: list[str]) -> _Columns:
        found = [cell.strip() for cell in header]
        positions: dict[str, int] = {}
        for position, name in enumerate(found):
            if name.lower() in positions:
                msg = f"lists column {name!r} twice; expected each column once; rename or remove one"
                raise self._error(msg, line, value=name, field=name)
            positions[name.lower()] = position
        index = {
            role: positions[name] for role in _ALIASES for name in _ALIASES[role][::-1] if name in positions
        }
        missing = [role for role in _ALIASES if role != "symbol" and role not in index]
        if missing:
            msg = (
                f"missing required column(s) {', '.join(map(repr, missing))}; expected {_EXPECTED} in any "
                f"case, found {', '.join(map(repr, found))}; rename the header columns"
            )
            raise self._error(msg, line, value=tuple(found), field=", ".join(missing))
        names = {role: found[i] for role, i in index.items()}
        timestamp: tuple[int, ...] = (index["timestamp"],)
        if {"date", "time"} <= positions.keys() and not {"timestamp", "datetime"} & positions.keys():
            timestamp = (positions["date"], positions["time"])  # e.g. MetaTrader: "Date,Time,Open,..."
            names["timestamp"] = f"{found[timestamp[0]]}+{found[timestamp[1]]}"
        return _Columns(index, names, timestamp, max(*index.values(), *timestamp) + 1)

    def _stem(self) -> str:
        name = self._path.name
        for suffix in (".gz", ".csv", ".tsv", ".txt"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        if not name.strip():
            msg = "has no symbol column and no name to take one from; expected a symbol; pass symbol="
            raise self._error(msg, None, field="symbol")
        return name.strip().upper()

    def _row(self, line: int, cells: list[str], width: int, columns: _Columns, default: str | None) -> _Row:
        if len(cells) < columns.width or any(cell.strip() for cell in cells[width:]):
            msg = (
                f"has {len(cells)} fields but the header has {width}; expected one value per header column; "
                "quote values that contain the delimiter"
            )
            raise self._error(msg, line, None, len(cells))
        stamp = " ".join(cells[i].strip() for i in columns.timestamp)
        timestamp = _parse_timestamp(stamp)
        if timestamp is None:
            msg = f"cannot parse {stamp!r} as a timestamp; expected {_TIMESTAMP_FORMS}; convert the column"
            raise self._error(msg, line, columns.name["timestamp"], stamp)
        symbol = default or cells[columns.position["symbol"]].strip()
        if not symbol:
            raise self._error("is empty; expected a symbol; fill it in", line, columns.name["symbol"], "")
        o, h, lo, c, v = (
            self._number(line, cells, columns, role) for role in ("open", "high", "low", "close", "volume")
        )
        for role, price in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if price <= 0:
                msg = f"price {price} is not positive; expected a price > 0; fix or drop the row"
                raise self._error(msg, line, columns.name[role], price)
        if v < 0:
            msg = f"volume {v} is negative; expected a volume >= 0; fix or drop the row"
            raise self._error(msg, line, columns.name["volume"], v)
        if h < lo:
            msg = f"high {h} is below low {lo}; expected high >= low; check the columns are not swapped"
            raise self._error(msg, line, columns.name["high"], h)
        for role, price in (("open", o), ("close", c)):
            if not lo <= price <= h:
                msg = (
                    f"{role} {price} is outside the bar's range [low {lo}, high {h}]; "
                    f"expected low <= {role} <= high; fix the row"
                )
                raise self._error(msg, line, columns.name[role], price)
        return _Row(line, timestamp, symbol, (o, h, lo, c, v))

    def _number(self, line: int, cells: list[str], columns: _Columns, role: str) -> Decimal:
        text = cells[columns.position[role]].strip()
        if not text:
            raise self._error(
                "is empty; expected a number; fill it in or drop the row", line, columns.name[role], ""
            )
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            problem = "is not a finite number" if value is not None else "cannot be parsed as a number"
            msg = f"{text!r} {problem}; expected a decimal such as 101.25; fix the value or drop the row"
            raise self._error(msg, line, columns.name[role], text)
        if not _PLAIN_NUMBER.fullmatch(text):
            flaw = "it has non-ASCII characters" if not text.isascii() else "it has underscores"
            msg = (
                f"{text!r} is not a plain number ({flaw}); expected ASCII digits such as 101.25; fix the "
                "value or drop the row"
            )
            raise self._error(msg, line, columns.name[role], text)
        if value.as_tuple().exponent < -MONEY_SCALE:  # type: ignore[operator]  # finite: an int exponent
            msg = (
                f"{text!r} has more than {MONEY_SCALE} decimal places; prices and volumes are exact at "
                f"{MONEY_SCALE} places (they are valued and traded as money, never rounded); round the file"
            )
            raise self._error(msg, line, columns.name[role], text)
        return value

    def _disorder(self, row: _Row, previous: tuple[int, datetime], column: str) -> MarketDataError:
        when, before = row.timestamp.isoformat(), previous[1].isoformat()
        if row.timestamp == previous[1]:
            problem = f"symbol {row.symbol!r} repeats timestamp {when} from line {previous[0]}"
            fix = "expected one row per symbol and timestamp; remove the duplicate row"
        else:
            problem = f"symbol {row.symbol!r} at {when} is earlier than line {previous[0]} at {before}"
            fix = "expected each symbol's rows in increasing time; sort the file by time"
        return self._error(f"{problem}; {fix}", row.line, column, row.timestamp)

    def _nothing_kept(
        self, symbol: str | None, start: datetime | None, last: dict[str, tuple[int, datetime]]
    ) -> MarketDataError:
        if symbol is not None and symbol not in last:
            known = ", ".join(map(repr, sorted(last)))
            msg = f"has no rows for symbol {symbol!r}; expected one of {known}; pass one of those as symbol="
            return self._error(msg, None, value=symbol, field="symbol")
        latest = last[symbol][1] if symbol is not None else max(stamp for _, stamp in last.values())
        when = "" if start is None else start.isoformat()
        msg = (
            f"has no bars at or after start {when}; the last is at {latest.isoformat()}; pass an earlier one"
        )
        return self._error(msg, None, value=start, field="start")


def _bar(row: _Row) -> Bar:
    o, h, lo, c, v = row.prices
    return Bar(timestamp=row.timestamp, symbol=row.symbol, open=o, high=h, low=lo, close=c, volume=v)


def _utc_start(start: datetime | date | None) -> datetime | None:
    if start is None or isinstance(start, datetime):
        if start is not None and (start.tzinfo is None or start.utcoffset() is None):
            msg = (
                f"csv feed: start {start.isoformat()!r} has no timezone; expected an aware datetime or a "
                "date; pass e.g. datetime(2024, 1, 2, tzinfo=UTC) or date(2024, 1, 2)"
            )
            raise ValidationError(msg, field="start", value=start)
        return None if start is None else start.astimezone(UTC)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


def _parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO date or datetime or epoch seconds (or milliseconds) to UTC; ``None`` if it is neither."""
    try:
        if _NUMBER.fullmatch(text) and not _BASIC_DATE.fullmatch(text):
            micros = int(Decimal(text) * 1_000_000)
            if abs(micros) >= _MILLIS_FROM * 1_000_000:
                micros //= 1_000
            return _EPOCH + timedelta(microseconds=micros)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
