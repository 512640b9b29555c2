"""How far the operator asked a run to go: ``<store>.run``, beside the store, outside the hash chain.

The log holds the run's manifest, which is what the run *is*; the target (the last step's time) is what
the operator asked for, and it changes when a finished run is extended. Keeping it out of the log is what
lets a run of 30 days and two legs of 15 write the same log. It is one line of JSON, written to a
temporary file, fsynced and renamed over the old one, so a crash leaves the old target or the new one.

A new run's target also keeps the options it was started with, written before the store is opened: an
interrupt before the run's first block is durable leaves a store holding only ``ArenaOpened``, and
``--resume`` then starts the same run from those options, so the property (resume gives the
uninterrupted log) holds from the very first instant.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from events import ValidationError

__all__ = [
    "TARGET_FORMAT",
    "read_options",
    "read_target",
    "remove_target",
    "target_path",
    "until_after",
    "write_target",
]

TARGET_FORMAT: Final = "arena-run-target-v1"


def target_path(store: Path) -> Path:
    """Return the target file of the store at ``store``: ``<store>.run`` beside it."""
    return store.with_name(f"{store.name}.run")


def read_target(store: Path) -> datetime | None:
    """Return the recorded target of the run in ``store``, or None if none was recorded.

    Raises:
        ValidationError: the file exists but is not a target this version wrote.

    """
    data = _read(store)
    return None if data is None else datetime.fromisoformat(str(data["until"]))


def read_options(store: Path) -> dict[str, Any] | None:
    """Return the options a new run in ``store`` was started with, or None if none were recorded.

    Raises:
        ValidationError: the file exists but is not a target this version wrote.

    """
    data = _read(store)
    options = None if data is None else data.get("options")
    return options if isinstance(options, dict) else None


def _read(store: Path) -> dict[str, Any] | None:
    path = target_path(store)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        recorded = data.get("format")
        datetime.fromisoformat(data["until"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        recorded = repr(e)
    if recorded != TARGET_FORMAT:
        msg = f"{str(path)!r}: not a run target ({recorded}); remove it and pass --days to say how far to run"
        raise ValidationError(msg, field="target", value=str(path))
    found: dict[str, Any] = data
    return found


def write_target(store: Path, until: datetime, *, options: dict[str, Any] | None = None) -> None:
    """Record ``until`` as the run's target (and a new run's ``options``), atomically."""
    path = target_path(store)
    temporary = path.with_name(path.name + ".tmp")
    record: dict[str, Any] = {"format": TARGET_FORMAT, "until": until.isoformat()}
    if options is not None:
        record["options"] = options
    line = json.dumps(record, sort_keys=True) + "\n"
    with temporary.open("w", encoding="utf-8") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def until_after(moment: datetime, days: int) -> datetime:
    """Return ``moment`` plus ``days`` days, refusing a target past year 9999.

    Raises:
        ValidationError: the target would run past the last day a timestamp holds.

    """
    latest = datetime.max.replace(tzinfo=UTC)
    if moment > latest - timedelta(days=days):
        msg = (
            f"--days {days}: the run reaches {moment.date().isoformat()}, and {days} days more would run "
            f"past {latest.date().isoformat()}, the last day a timestamp holds; pass fewer days"
        )
        raise ValidationError(msg, field="--days", value=days)
    return moment + timedelta(days=days)


def remove_target(store: Path) -> None:
    """Remove the target of the store at ``store`` (with the store itself, by ``--force``)."""
    Path(target_path(store)).unlink(missing_ok=True)
