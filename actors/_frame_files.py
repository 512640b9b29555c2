"""Frames as files: csv or parquet, written all or nothing, read back to exactly the ledger's numbers.

One file per frame, named for it (``fills.csv``, ``nav.parquet``). Money stays exact in both formats:

* **parquet** stores it as ``decimal128(38, 8)``: the scale of every amount (``events.MONEY_SCALE``)
  and 30 digits before the point, more than any balance can reach (``events.money`` bounds them below
  ``10**30``). pyarrow and pandas read it back as ``Decimal``, DuckDB and Spark as their exact decimal.
* **csv** writes it as decimal text at 8 places (``format_money``: ``1250.50000000``), never through a
  float; ``read_frame`` reads it back as ``Decimal``. Timestamps are ISO-8601 UTC with a ``Z``.

A frame built with ``money="float"`` is written as floats (double in parquet): for plotting, not for
reconciling. ``write_frames`` stages every file in a hidden folder beside the target and moves them into
place only once all are written, so a failure (a bad frame, a full disk) leaves the target as it was.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from events import ValidationError, format_money

from ._frames import COLUMNS, FRAMES, column_of, need

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    import pandas as pd

    from ._frames import Kind, MoneyMode

__all__ = ["FORMATS", "Format", "read_frame", "write_frames"]

Format = Literal["csv", "parquet"]
FORMATS: Final = ("csv", "parquet")
"""The file formats ``write_frames`` writes and ``read_frame`` reads."""

_PRECISION: Final = 38  # decimal128's most digits: 30 before the point, 8 after
_SCALE: Final = 8  # events.MONEY_SCALE
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # events.format_timestamp's form
_MONEY: Final = frozenset({"money", "money?"})


def write_frames(
    frames: Mapping[str, pd.DataFrame],
    directory: str | os.PathLike[str],
    *,
    file_format: str,
    replace: bool = False,
) -> tuple[Path, ...]:
    """Write each frame to ``directory/<name>.<file_format>``, all or nothing; return the paths written.

    ``directory`` is created if it does not exist (its parent must). A file already there is refused
    unless ``replace``; other files in the folder are left alone.

    Raises:
        ValidationError: ``file_format`` or a frame name is unknown, no frame is given, ``directory`` is
            not a folder or has no parent folder, or a file would be overwritten without ``replace``.
        ArenaError: pandas (or, for parquet, pyarrow) is not installed.
        OSError: the folder cannot be written (nothing was left in it).

    """
    chosen = _format(file_format, "file_format")
    if not frames:
        msg = f"frames: nothing to write; pass one or more of {', '.join(FRAMES)}"
        raise ValidationError(msg, field="frames", value=frames)
    for name in frames:
        _known(name, "frames")
    need("pandas", f"writing {chosen}")
    if chosen == "parquet":
        need("pyarrow", "writing parquet")
    target = Path(directory)
    targets = [target / f"{name}.{chosen}" for name in frames]
    _check_target(target, targets, replace=replace)
    exists = target.is_dir()
    staging = Path(tempfile.mkdtemp(prefix=".arena-export-", dir=target if exists else target.parent))
    try:
        for name, table in frames.items():
            _write(table, name, staging / f"{name}.{chosen}", chosen)
        if exists:
            for path in targets:
                (staging / path.name).replace(path)
            staging.rmdir()
        else:
            staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return tuple(targets)


def read_frame(path: str | os.PathLike[str], *, money: MoneyMode = "decimal") -> pd.DataFrame:
    """Read a file ``write_frames`` wrote (``<frame>.csv`` or ``<frame>.parquet``) back into its frame.

    Every known column gets its kind back (``COLUMNS``): money as exact ``Decimal`` (or floats with
    ``money="float"``), timestamps in UTC, missing integers as ``<NA>``.

    Raises:
        ValidationError: the name is not ``<frame>.csv`` or ``<frame>.parquet``, or ``money`` is unknown.
        ArenaError: pandas (or, for parquet, pyarrow) is not installed.
        OSError: the file cannot be read.

    """
    file = Path(path)
    chosen = _format(file.suffix.removeprefix("."), "path", shown=str(file))
    name = _known(file.stem, "path", shown=str(file))
    if money not in {"decimal", "float"}:
        msg = f"money: {money!r} is not a money mode; pass 'decimal' (exact) or 'float' (for plotting)"
        raise ValidationError(msg, field="money", value=money)
    need("pandas", f"reading {chosen}")
    import pandas as pd  # noqa: PLC0415  (the optional extra: `import actors` never loads it)

    spec = dict(COLUMNS[name])
    if chosen == "parquet":
        need("pyarrow", "reading parquet")
        table = pd.read_parquet(file)
        cells: dict[str, list[object]] = {column: table[column].tolist() for column in spec}
    else:
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
        cells = {
            column: [_parse(text, kind) for text in table[column].tolist()] for column, kind in spec.items()
        }
    extra = [column for column in table.columns if column not in spec]
    data = {column: column_of(cells[column], kind, money) for column, kind in spec.items()}
    for column in extra:  # columns an event added: typed by pandas from their values, as when built
        data[column] = (
            table[column]
            if chosen == "parquet"
            else pd.Series([json.loads(text) if text else None for text in table[column].tolist()])
        )
    return pd.DataFrame(data, columns=[*spec, *extra])


# --- checks -----------------------------------------------------------------------------------------------


def _format(value: str, field: str, *, shown: str | None = None) -> Format:
    if value == "csv":
        return "csv"
    if value == "parquet":
        return "parquet"
    subject = f"{shown!r} is not a .csv or .parquet file" if shown else f"{value!r} is not a file format"
    msg = f"{field}: {subject}; pass one of {', '.join(FORMATS)}"
    raise ValidationError(msg, field=field, value=value)


def _known(name: str, field: str, *, shown: str | None = None) -> str:
    if name in FRAMES:
        return name
    subject = f"{shown!r} is not named for a frame" if shown else f"{name!r} is not a frame"
    msg = f"{field}: {subject}; the frames are {', '.join(FRAMES)}"
    raise ValidationError(msg, field=field, value=name)


def _check_target(target: Path, targets: list[Path], *, replace: bool) -> None:
    if target.exists() and not target.is_dir():
        msg = f"out: {str(target)!r} is a file, not a folder; pass a folder to write the frames into"
        raise ValidationError(msg, field="out", value=str(target))
    if not target.exists() and not target.parent.is_dir():
        msg = f"out: the parent folder of {str(target)!r} does not exist; create it first, or pick another"
        raise ValidationError(msg, field="out", value=str(target))
    taken = [path.name for path in targets if path.exists()]
    if taken and not replace:
        msg = (
            f"out: {str(target)!r} already holds {', '.join(taken)}; pass another folder, or replace them "
            "(--force, replace=True)"
        )
        raise ValidationError(msg, field="out", value=str(target))


# --- one file ---------------------------------------------------------------------------------------------


def _write(table: pd.DataFrame, name: str, path: Path, file_format: Format) -> None:
    missing = [column for column, _ in COLUMNS[name] if column not in table.columns]
    if missing:
        msg = (
            f"frames: {name} lacks the columns {', '.join(missing)}; pass frames as actors.frames builds them"
        )
        raise ValidationError(msg, field="frames", value=name)
    money = [column for column, kind in COLUMNS[name] if kind in _MONEY and _exact(table, name, column)]
    if file_format == "csv":
        text = table.copy()
        for column in money:
            text[column] = [None if value is None else format_money(value) for value in table[column]]
        extra = [column for column in table.columns if column not in dict(COLUMNS[name])]
        for column in extra:  # as JSON, so read_frame gives back the values, and pandas the same dtype
            text[column] = [None if _missing(value) else _json(value) for value in table[column].tolist()]
        text.to_csv(path, index=False, date_format=_TIME_FORMAT, lineterminator="\n")
        return
    import pyarrow as pa  # noqa: PLC0415  (the optional extra: `import actors` never loads it)
    import pyarrow.parquet as pq  # noqa: PLC0415

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    for column in money:
        exact = pa.array(table[column].tolist(), type=pa.decimal128(_PRECISION, _SCALE))
        arrow = arrow.set_column(arrow.schema.get_field_index(column), column, exact)
    pq.write_table(arrow, path)


def _exact(table: pd.DataFrame, name: str, column: str) -> bool:
    """Return whether ``column`` holds exact money (``Decimal`` or missing), False for floats; else refuse."""
    values = table[column]
    if values.dtype == "float64":
        return False
    wrong = next((v for v in values.tolist() if v is not None and not isinstance(v, Decimal)), None)
    if values.dtype != object or wrong is not None:
        shown = wrong if wrong is not None else values.dtype
        msg = (
            f"frames: column {column!r} of {name} holds {shown!r}, not money; money columns hold Decimal "
            "(or floats, with money='float'): pass frames as actors.frames builds them"
        )
        raise ValidationError(msg, field="frames", value=column)
    return True


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _parse(text: str, kind: Kind) -> object:
    """Return one csv cell as the value ``column_of`` takes for ``kind`` (empty means missing)."""
    if text == "":
        return "" if kind == "text" else None
    if kind in _MONEY:
        return Decimal(text)
    if kind in {"int", "int?"}:
        return int(text)
    if kind == "bool":
        return text == "True"
    return text
