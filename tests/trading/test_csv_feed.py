from __future__ import annotations

import gzip
import re
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import MarketDataError, ValidationError
from trading import CsvFeed, SyntheticFeed, infer_interval

HEADER = "timestamp,symbol,open,high,low,close,volume\n"
NAIVE = datetime(2024, 1, 1)  # noqa: DTZ001  (the mistake under test)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def write_gzip(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_bytes(gzip.compress(text.encode()))
    return path


def at(path: Path, line: int | None = None, column: str | None = None) -> str:
    """The escaped start of every error message about ``path``: subject first."""
    where = f"market data file {str(path)!r}"
    where += "" if line is None else f" line {line}"
    where += "" if column is None else f", column {column!r}"
    return "^" + re.escape(where + ": ")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Reading -------------------------------------------------------------------------------------------------


def test_single_symbol_daily_file_takes_its_symbol_from_the_file_name(tmp_path):
    path = write(tmp_path, "spy.csv", "date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n")

    bars = list(CsvFeed(path))

    assert len(bars) == 1
    assert bars[0].symbol == "SPY"
    assert bars[0].timestamp == utc(2024, 1, 2)
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == (10, 11, 9, Decimal("10.5"))
    assert bars[0].volume == 100


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("aapl.csv.gz", "AAPL"),
        ("BRK.B.csv", "BRK.B"),
        ("msft.CSV", "MSFT"),
        ("eurusd.txt", "EURUSD"),
        ("QQQ", "QQQ"),
    ],
)
def test_symbol_from_file_name_drops_csv_and_gz_suffixes_and_upper_cases(tmp_path, name, symbol):
    path = write_gzip(tmp_path, name, "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")

    feed = CsvFeed(path)

    assert feed.symbols == (symbol,)


def test_symbol_option_names_a_single_symbol_file(tmp_path):
    path = write(tmp_path, "prices.csv", "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")

    feed = CsvFeed(path, symbol="BTC-USD")

    assert feed.symbols == ("BTC-USD",)
    assert [b.symbol for b in feed] == ["BTC-USD"]


def test_prices_are_exact_decimals_from_the_text(tmp_path):
    path = write(
        tmp_path, "x.csv", "date,open,high,low,close,volume\n2024-01-02,101.10,101.30,100.90,101.20,0\n"
    )

    bar = next(iter(CsvFeed(path)))

    assert str(bar.open) == "101.10"
    assert str(bar.close) == "101.20"
    assert bar.volume == 0


@pytest.mark.parametrize(
    "header",
    [
        "timestamp,symbol,open,high,low,close,volume",
        "Date,Ticker,Open,High,Low,Close,Volume",
        " DATETIME , SYMBOL , OPEN , HIGH , LOW , CLOSE , VOL ",
        "time,ticker,open,high,low,close,vol",
        "Date,Symbol,Open,High,Low,Close,Adj Close,Volume",
        "Volume,Close,Low,High,Open,Symbol,Timestamp",
    ],
)
def test_header_variants_are_recognised(tmp_path, header):
    names = [cell.strip().lower() for cell in header.split(",")]
    values = dict.fromkeys(["timestamp", "date", "datetime", "time"], "2024-01-02")
    values |= {"symbol": "AAA", "ticker": "AAA", "open": "10", "high": "12", "low": "9", "close": "11"}
    values |= {"adj close": "5", "volume": "7", "vol": "7"}
    path = write(tmp_path, "any.csv", header + "\n" + ",".join(values[n] for n in names) + "\n")

    (bar,) = CsvFeed(path)

    assert (bar.timestamp, bar.symbol) == (utc(2024, 1, 2), "AAA")
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10, 12, 9, 11, 7)


def test_timestamp_column_wins_over_date_when_both_are_present(tmp_path):
    path = write(
        tmp_path,
        "x.csv",
        "date,timestamp,open,high,low,close,volume\n2020-01-01,2024-01-02T05:00Z,1,1,1,1,1\n",
    )

    (bar,) = CsvFeed(path)

    assert bar.timestamp == utc(2024, 1, 2, 5)


def test_separate_date_and_time_columns_are_joined(tmp_path):
    path = write(tmp_path, "eurusd.csv", "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,09:30,1,1,1,1,1\n")

    (bar,) = CsvFeed(path)

    assert bar.timestamp == utc(2024, 1, 2, 9, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", utc(2024, 1, 2)),
        ("20240102", utc(2024, 1, 2)),
        ("2024-01-02T09:30:00", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02 09:30:00", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02 09:30", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02T09:30:00Z", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02T09:30:00+00:00", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02T04:30:00-05:00", utc(2024, 1, 2, 9, 30)),
        ("2024-01-02T09:30:00.250Z", datetime(2024, 1, 2, 9, 30, 0, 250_000, tzinfo=UTC)),
        ("1704187800", utc(2024, 1, 2, 9, 30)),
        ("1704187800.5", datetime(2024, 1, 2, 9, 30, 0, 500_000, tzinfo=UTC)),
        ("1704187800000", utc(2024, 1, 2, 9, 30)),
    ],
)
def test_timestamps_in_every_supported_form_become_utc(tmp_path, text, expected):
    path = write(tmp_path, "x.csv", f"timestamp,open,high,low,close,volume\n{text},1,1,1,1,1\n")

    (bar,) = CsvFeed(path)

    assert bar.timestamp == expected
    assert bar.timestamp.utcoffset() == timedelta(0)


@settings(max_examples=50, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),  # noqa: DTZ001  (hypothesis draws naive datetimes; the test adds the zone)
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    separator=st.sampled_from(["T", " "]),
)
def test_any_iso_datetime_with_any_offset_reads_as_the_same_instant(when, offset_minutes, separator):
    aware = when.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = f"timestamp,open,high,low,close,volume\n{aware.isoformat(sep=separator)},1,1,1,1,1\n"

    with tempfile.TemporaryDirectory() as directory:
        (bar,) = CsvFeed(write(Path(directory), "x.csv", text))

    assert bar.timestamp == aware
    assert bar.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("step", "stamps"),
    [
        (timedelta(days=1), ["2024-01-02", "2024-01-03", "2024-01-04"]),
        (timedelta(hours=1), ["2024-01-02T09:00", "2024-01-02T10:00", "2024-01-02T11:00"]),
        (timedelta(minutes=1), ["2024-01-02 09:30:00", "2024-01-02 09:31:00", "2024-01-02 09:32:00"]),
    ],
)
def test_daily_hourly_and_minute_bars_all_read(tmp_path, step, stamps):
    path = write(
        tmp_path,
        "x.csv",
        "timestamp,open,high,low,close,volume\n" + "".join(f"{s},1,1,1,1,1\n" for s in stamps),
    )

    interval = infer_interval(CsvFeed(path))

    assert interval == step


def test_gzip_file_is_read_by_its_suffix(tmp_path):
    path = write_gzip(tmp_path, "aaa.csv.gz", "date,open,high,low,close,volume\n2024-01-02,1,2,1,2,5\n")

    (bar,) = CsvFeed(path)

    assert (bar.symbol, bar.close) == ("AAA", 2)


def test_gzip_content_is_recognised_by_its_magic_bytes_whatever_the_name(tmp_path):
    path = write_gzip(tmp_path, "aaa.csv", "date,open,high,low,close,volume\n2024-01-02,1,2,1,2,5\n")

    (bar,) = CsvFeed(path)

    assert bar.close == 2


def test_plain_text_named_gz_is_read_as_plain_text(tmp_path):
    path = write(tmp_path, "aaa.csv.gz", "date,open,high,low,close,volume\n2024-01-02,1,2,1,2,5\n")

    (bar,) = CsvFeed(path)

    assert bar.symbol == "AAA"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimited_files_are_read(tmp_path, delimiter):
    rows = ["date,open,high,low,close,volume", "2024-01-02,1,2,1,2,5"]
    path = write(tmp_path, "aaa.csv", "\n".join(row.replace(",", delimiter) for row in rows) + "\n")

    (bar,) = CsvFeed(path)

    assert bar.high == 2


def test_byte_order_mark_blank_lines_and_windows_newlines_are_tolerated(tmp_path):
    path = tmp_path / "aaa.csv"
    path.write_bytes(b"\xef\xbb\xbfDate,Open,High,Low,Close,Volume\r\n\r\n2024-01-02,1,2,1,2,5\r\n\r\n")

    (bar,) = CsvFeed(path)

    assert bar.timestamp == utc(2024, 1, 2)


def test_grouped_and_interleaved_files_merge_into_the_same_time_ordered_stream(tmp_path):
    aaa = ["2024-01-02,AAA,1,2,1,2,10", "2024-01-03,AAA,2,3,2,3,10"]
    bbb = ["2024-01-01,BBB,5,5,4,4,20", "2024-01-02,BBB,4,4,3,3,20", "2024-01-03,BBB,3,3,2,2,20"]
    grouped = write(tmp_path, "grouped.csv", HEADER + "\n".join(aaa + bbb) + "\n")
    interleaved = write(
        tmp_path, "interleaved.csv", HEADER + "\n".join([bbb[0], bbb[1], aaa[0], bbb[2], aaa[1]])
    )

    grouped_feed, interleaved_feed = CsvFeed(grouped), CsvFeed(interleaved)

    assert list(grouped_feed) == list(interleaved_feed)
    assert [(b.timestamp.day, b.symbol) for b in grouped_feed] == [
        (1, "BBB"),
        (2, "AAA"),
        (2, "BBB"),
        (3, "AAA"),
        (3, "BBB"),
    ]
    assert grouped_feed.symbols == interleaved_feed.symbols == ("AAA", "BBB")


def test_symbol_option_keeps_only_that_symbol_of_a_multi_symbol_file(tmp_path):
    path = write(tmp_path, "m.csv", HEADER + "2024-01-02,AAA,1,1,1,1,1\n2024-01-02,BBB,2,2,2,2,2\n")

    feed = CsvFeed(path, symbol="BBB")

    assert feed.symbols == ("BBB",)
    assert [b.close for b in feed] == [2]


def test_iterating_twice_gives_the_same_bars(tmp_path):
    path = write(tmp_path, "m.csv", HEADER + "2024-01-02,AAA,1,1,1,1,1\n2024-01-02,BBB,2,2,2,2,2\n")
    feed = CsvFeed(path)

    first, second = list(feed), list(feed)

    assert first == second
    assert repr(feed) == f"CsvFeed({str(path)!r}, symbols=('AAA', 'BBB'), bars=2)"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), upper=st.booleans(), compress=st.booleans())
def test_any_synthetic_feed_written_as_csv_reads_back_as_the_same_bars(seed, upper, compress):
    feed = SyntheticFeed(seed=seed, symbols=("AAA", "BBB"), days=1, interval=timedelta(hours=2))
    header = HEADER.upper() if upper else HEADER
    lines = [
        f"{b.timestamp.isoformat()},{b.symbol},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in feed
    ]

    with tempfile.TemporaryDirectory() as directory:
        save = write_gzip if compress else write
        bars = list(CsvFeed(save(Path(directory), "feed.csv", header + "".join(lines))))

    assert bars == list(feed)


# Windowing -----------------------------------------------------------------------------------------------


def daily_file(directory: Path) -> Path:
    rows = [
        f"2024-01-{day:02d},{s},1,1,1,1,1"
        for day in range(1, 11)
        for s in ("AAA", "BBB")
        if (s, day) != ("AAA", 1)
    ]
    return write(directory, "daily.csv", HEADER + "\n".join(rows) + "\n")


def test_start_date_drops_earlier_bars(tmp_path):
    path = daily_file(tmp_path)

    bars = list(CsvFeed(path, start=date(2024, 1, 8)))

    assert [b.timestamp.day for b in bars] == [8, 8, 9, 9, 10, 10]


def test_start_datetime_with_an_offset_is_compared_in_utc(tmp_path):
    path = daily_file(tmp_path)

    bars = list(CsvFeed(path, start=datetime(2024, 1, 9, 1, tzinfo=timezone(timedelta(hours=2)))))

    assert {b.timestamp.day for b in bars} == {9, 10}


def test_days_keeps_bars_before_the_first_kept_bar_plus_that_many_days(tmp_path):
    path = daily_file(tmp_path)

    bars = list(CsvFeed(path, days=2))

    assert [(b.timestamp.day, b.symbol) for b in bars] == [(1, "BBB"), (2, "AAA"), (2, "BBB")]


@pytest.mark.parametrize("days", [36_500, 999_999_999, 10**30])
def test_days_reaching_past_year_9999_keep_every_bar_instead_of_overflowing(tmp_path, days):
    path = write(
        tmp_path, "far.csv", "date,open,high,low,close,volume\n9999-12-30,1,1,1,1,1\n9999-12-31,1,1,1,1,1\n"
    )

    bars = list(CsvFeed(path, days=days))

    assert [b.timestamp.day for b in bars] == [30, 31]


def test_start_and_days_combine_into_a_window(tmp_path):
    path = daily_file(tmp_path)

    bars = list(CsvFeed(path, symbol="AAA", start=date(2024, 1, 4), days=3))

    assert [b.timestamp.day for b in bars] == [4, 5, 6]


@pytest.mark.parametrize(
    ("options", "message", "field"),
    [
        ({"days": 0}, r"^csv feed: days must be an integer >= 1 or None, got 0", "days"),
        ({"days": True}, r"^csv feed: days must be an integer >= 1 or None, got True", "days"),
        ({"symbol": " "}, r"^csv feed: symbol ' ' is blank", "symbol"),
        ({"start": NAIVE}, r"^csv feed: start '2024-01-01T00:00:00' has no timezone", "start"),
    ],
)
def test_invalid_options_are_rejected_before_reading(tmp_path, options, message, field):
    path = tmp_path / "never-read.csv"

    with pytest.raises(ValidationError, match=message) as err:
        CsvFeed(path, **options)

    assert not isinstance(err.value, MarketDataError)
    assert err.value.field == field


# Errors: every one names the file, the line (header = 1) and the column, then the problem and the fix -------


OHLCV = "date,open,high,low,close,volume\n"


def test_missing_file_is_a_market_data_error_not_a_raw_os_error(tmp_path):
    path = tmp_path / "nope.csv"

    with pytest.raises(MarketDataError, match=at(path) + "does not exist; expected a CSV file") as err:
        CsvFeed(path)

    assert err.value.line is None
    assert err.value.source == str(path)
    assert isinstance(err.value.__cause__, FileNotFoundError)


def test_directory_is_a_market_data_error(tmp_path):
    with pytest.raises(MarketDataError, match=at(tmp_path) + "cannot be read") as err:
        CsvFeed(tmp_path)

    assert err.value.line is None


def test_corrupt_gzip_is_a_market_data_error(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(OHLCV.encode() + b"2024-01-02,1,1,1,1,1\n" * 50)[:40])

    with pytest.raises(
        MarketDataError, match=at(path) + r"cannot be read \(.*\); expected a readable CSV or gzip"
    ) as err:
        CsvFeed(path)

    assert err.value.line is None


def test_file_that_is_not_utf8_is_a_market_data_error(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(OHLCV.encode() + "2024-01-02,1,1,1,1,1 \u00e9\n".encode("latin-1"))

    with pytest.raises(
        MarketDataError, match=at(path) + r"is not UTF-8 text \(.*\); expected a UTF-8 CSV file"
    ) as err:
        CsvFeed(path)

    assert err.value.line is None


def test_malformed_csv_is_a_market_data_error_at_its_line(tmp_path):
    path = write(tmp_path, "big.csv", OHLCV + '2024-01-02,"' + "9" * 200_000 + '",1,1,1,1\n')

    with pytest.raises(MarketDataError, match=at(path, 2) + "is not well-formed CSV") as err:
        CsvFeed(path)

    assert err.value.line == 2


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file_is_rejected(tmp_path, text):
    path = write(tmp_path, "empty.csv", text)

    with pytest.raises(
        MarketDataError, match=at(path) + "is empty; expected a header row with timestamp"
    ) as err:
        CsvFeed(path)

    assert err.value.line is None


def test_header_without_rows_is_rejected(tmp_path):
    path = write(tmp_path, "header.csv", OHLCV + "\n")

    with pytest.raises(
        MarketDataError, match=at(path) + "has a header but no bars; expected data rows after line 1"
    ) as err:
        CsvFeed(path)

    assert err.value.line is None


def test_missing_required_columns_are_listed_with_the_ones_found(tmp_path):
    path = write(tmp_path, "x.csv", "Date,Open,Low,Close\n2024-01-02,1,1,1\n")
    expected = (
        "missing required column(s) 'high', 'volume'; expected timestamp (or datetime, date, time), open,"
    )

    with pytest.raises(MarketDataError, match=at(path, 1) + re.escape(expected)) as err:
        CsvFeed(path)

    assert "found 'Date', 'Open', 'Low', 'Close'; rename the header columns" in str(err.value)
    assert err.value.line == 1
    assert err.value.field == "high, volume"


def test_missing_timestamp_column_is_named(tmp_path):
    path = write(tmp_path, "x.csv", "when,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")

    with pytest.raises(
        MarketDataError, match=at(path, 1) + "missing required column\\(s\\) 'timestamp';"
    ) as err:
        CsvFeed(path)

    assert err.value.line == 1
    assert err.value.field == "timestamp"


def test_duplicate_column_is_rejected(tmp_path):
    path = write(tmp_path, "x.csv", "date,open,high,low,close,Close,volume\n2024-01-02,1,1,1,1,1,1\n")

    with pytest.raises(MarketDataError, match=at(path, 1) + "lists column 'Close' twice") as err:
        CsvFeed(path)

    assert err.value.line == 1


@pytest.mark.parametrize("row", ["2024-01-02,1,1,1,1", "2024-01-02,1,1,1,1,1,7"])
def test_row_with_the_wrong_number_of_fields_is_rejected(tmp_path, row):
    path = write(tmp_path, "x.csv", OHLCV + "\n" + row + "\n")

    with pytest.raises(MarketDataError, match=at(path, 3) + "has [57] fields but the header has 6") as err:
        CsvFeed(path)

    assert err.value.line == 3


def test_trailing_empty_fields_and_short_rows_missing_only_ignored_columns_are_fine(tmp_path):
    path = write(
        tmp_path,
        "x.csv",
        "date,open,high,low,close,volume,adj close\n2024-01-02,1,1,1,1,1,,\n2024-01-03,1,1,1,1,1\n",
    )

    bars = list(CsvFeed(path))

    assert len(bars) == 2


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("2024-01-02,,1,1,1,1", "open", "is empty; expected a number"),
        (
            "2024-01-02,1,abc,1,1,1",
            "high",
            "'abc' cannot be parsed as a number; expected a decimal such as 101.25",
        ),
        ("2024-01-02,1,1,1,1,1\u00a0000", "volume", "'1\\xa0000' cannot be parsed as a number"),
        (
            "2024-01-02,1,1,1,1,1_000",
            "volume",
            "'1_000' is not a plain number (it has underscores); expected",
        ),
        (
            "2024-01-02,1,1,1,1,\u0661\u0662",
            "volume",
            "'\u0661\u0662' is not a plain number (it has non-ASCII",
        ),
        ("2024-01-02,\uff15,5,5,5,1", "open", "'\uff15' is not a plain number (it has non-ASCII characters)"),
        ("2024-01-02,1,1,NaN,1,1", "low", "'NaN' is not a finite number"),
        ("2024-01-02,1,1,1,inf,1", "close", "'inf' is not a finite number"),
        ("2024-01-02,1,1,1,1,-Infinity", "volume", "'-Infinity' is not a finite number"),
        (
            "2024-01-02,1,1,1,1.000000001,1",
            "close",
            "'1.000000001' has more than 8 decimal places; prices and volumes are exact at 8 places",
        ),
        ("2024-01-02,0,1,0,1,1", "open", "price 0 is not positive; expected a price > 0"),
        ("2024-01-02,1,1,-2,1,1", "low", "price -2 is not positive"),
        ("2024-01-02,1,1,1,1,-5", "volume", "volume -5 is negative; expected a volume >= 0"),
        ("2024-01-02,10,9,11,10,1", "high", "high 9 is below low 11; expected high >= low"),
        (
            "2024-01-02,12,11,9,10,1",
            "open",
            "open 12 is outside the bar's range [low 9, high 11]; expected low <= open",
        ),
        ("2024-01-02,10,11,9,8.5,1", "close", "close 8.5 is outside the bar's range [low 9, high 11]"),
        ("01/02/2024,1,1,1,1,1", "date", "cannot parse '01/02/2024' as a timestamp; expected an ISO date"),
        ("yesterday,1,1,1,1,1", "date", "cannot parse 'yesterday' as a timestamp"),
        (
            "99999999999999999999999,1,1,1,1,1",
            "date",
            "cannot parse '99999999999999999999999' as a timestamp",
        ),
    ],
)
def test_bad_values_are_rejected_at_their_line_and_column(tmp_path, row, column, problem):
    path = write(tmp_path, "x.csv", OHLCV + "2023-12-29,1,1,1,1,1\n" + row + "\n")

    with pytest.raises(MarketDataError, match=at(path, 3, column) + re.escape(problem)) as err:
        CsvFeed(path)

    assert err.value.line == 3
    assert err.value.field == column


def test_exponents_signs_and_padded_cells_are_read_exactly_as_exporters_write_them(tmp_path):
    """pandas writes 0.00001234 as 1.234e-05; padding after a delimiter is common; both are exact."""
    path = write(tmp_path, "x.csv", OHLCV + "2024-01-02, 1.234e-05 ,1.3E-5,+1.2e-05,1.25e-05,1e5\n")

    (bar,) = CsvFeed(path)

    assert (bar.open, bar.high, bar.low, bar.close) == tuple(
        map(Decimal, ("0.00001234", "0.000013", "0.000012", "0.0000125"))
    )
    assert bar.volume == 100_000


def test_bad_value_is_reported_in_the_header_spelling_of_its_column(tmp_path):
    path = write(tmp_path, "x.csv", "DATE , OPEN,HIGH,LOW,CLOSE,VOL\n2024-01-02,1,1,1,1,x\n")

    with pytest.raises(MarketDataError, match=at(path, 2, "VOL") + "'x' cannot be parsed as a number") as err:
        CsvFeed(path)

    assert err.value.line == 2
    assert err.value.field == "VOL"


def test_bad_joined_date_and_time_names_both_columns(tmp_path):
    path = write(tmp_path, "x.csv", "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,9h30,1,1,1,1,1\n")

    with pytest.raises(
        MarketDataError, match=at(path, 2, "Date+Time") + "cannot parse '2024-01-02 9h30'"
    ) as err:
        CsvFeed(path)

    assert err.value.line == 2
    assert err.value.value == "2024-01-02 9h30"


def test_empty_symbol_cell_is_rejected(tmp_path):
    path = write(tmp_path, "x.csv", HEADER + "2024-01-02, ,1,1,1,1,1\n")

    with pytest.raises(MarketDataError, match=at(path, 2, "symbol") + "is empty; expected a symbol") as err:
        CsvFeed(path)

    assert err.value.line == 2


def test_rows_out_of_time_order_name_both_lines(tmp_path):
    rows = "2024-01-03,AAA,1,1,1,1,1\n2024-01-01,BBB,1,1,1,1,1\n2024-01-02,AAA,1,1,1,1,1\n"
    path = write(tmp_path, "x.csv", HEADER + rows)
    expected = (
        "symbol 'AAA' at 2024-01-02T00:00:00+00:00 is earlier than line 2 at 2024-01-03T00:00:00+00:00; "
    )

    with pytest.raises(
        MarketDataError, match=at(path, 4, "timestamp") + re.escape(expected) + "expected each"
    ) as err:
        CsvFeed(path)

    assert err.value.line == 4
    assert err.value.value == utc(2024, 1, 2)


def test_duplicate_timestamp_of_one_symbol_names_both_lines(tmp_path):
    rows = "2024-01-02,AAA,1,1,1,1,1\n2024-01-02,BBB,1,1,1,1,1\n2024-01-02T00:00:00Z,AAA,1,1,1,1,1\n"
    path = write(tmp_path, "x.csv", HEADER + rows)
    expected = (
        "symbol 'AAA' repeats timestamp 2024-01-02T00:00:00+00:00 from line 2; expected one row per symbol"
    )

    with pytest.raises(MarketDataError, match=at(path, 4, "timestamp") + re.escape(expected)) as err:
        CsvFeed(path)

    assert err.value.line == 4


def test_blank_lines_still_count_toward_line_numbers(tmp_path):
    path = write(tmp_path, "x.csv", OHLCV + "\n\n2024-01-02,1,1,1,1,oops\n")

    with pytest.raises(MarketDataError, match=at(path, 4, "volume")) as err:
        CsvFeed(path)

    assert err.value.line == 4


def test_bad_rows_are_rejected_even_outside_the_window(tmp_path):
    path = write(tmp_path, "x.csv", OHLCV + "2024-01-02,1,1,1,1,-1\n2024-01-03,1,1,1,1,1\n")

    with pytest.raises(MarketDataError, match=at(path, 2, "volume") + "volume -1 is negative") as err:
        CsvFeed(path, start=date(2024, 1, 3))

    assert err.value.line == 2


def test_start_after_the_last_bar_is_rejected(tmp_path):
    path = write(tmp_path, "x.csv", OHLCV + "2024-01-02,1,1,1,1,1\n")
    expected = (
        "has no bars at or after start 2025-01-01T00:00:00+00:00; the last is at 2024-01-02T00:00:00+00:00"
    )

    with pytest.raises(MarketDataError, match=at(path) + re.escape(expected)) as err:
        CsvFeed(path, start=date(2025, 1, 1))

    assert err.value.line is None
    assert err.value.field == "start"


def test_symbol_option_absent_from_a_multi_symbol_file_lists_the_symbols_found(tmp_path):
    path = write(tmp_path, "x.csv", HEADER + "2024-01-02,BBB,1,1,1,1,1\n2024-01-02,AAA,1,1,1,1,1\n")
    expected = "has no rows for symbol 'CCC'; expected one of 'AAA', 'BBB'; pass one of those as symbol="

    with pytest.raises(MarketDataError, match=at(path) + re.escape(expected)) as err:
        CsvFeed(path, symbol="CCC")

    assert err.value.line is None
    assert err.value.field == "symbol"


def test_file_named_only_a_suffix_needs_the_symbol_option(tmp_path):
    path = write(tmp_path, ".csv", OHLCV + "2024-01-02,1,1,1,1,1\n")

    with pytest.raises(MarketDataError, match=at(path) + "has no symbol column and no name") as err:
        CsvFeed(path)

    assert err.value.line is None
    assert CsvFeed(path, symbol="X").symbols == ("X",)


def test_every_market_data_error_is_a_value_error(tmp_path):
    path = write(tmp_path, "x.csv", OHLCV + "2024-01-02,1,1,1,1,x\n")

    with pytest.raises(ValueError, match="cannot be parsed as a number"):
        CsvFeed(path)
