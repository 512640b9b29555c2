"""The islands run's manifest, ``RUN_DIR/islands.json``: what every island's run is a function of.

Written atomically (a temporary file, fsynced, renamed) before any island opens, so a run interrupted at
any moment resumes from it alone; ``--resume`` refuses options that differ from it, naming each.
Its format is in ``docs/FORMAT.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from events import ValidationError, format_money, money
from store import remove_store
from trading import EvolutionPolicy, SyntheticFeed

from ._checks import INT_MAX, INT_MIN, int_arg

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "DEFAULT_CAPITAL",
    "DEFAULT_MIGRANTS",
    "DEFAULT_MIGRATE_EVERY",
    "ISLANDS_MANIFEST",
    "MAX_DAYS",
    "MAX_ISLANDS",
    "SYNTHETIC_START",
    "IslandsManifest",
    "new_manifest",
    "read_manifest",
    "resumed_manifest",
    "write_manifest",
]

ISLANDS_MANIFEST: Final = "islands.json"
"""The run directory's manifest: what every island's run is a function of (``docs/FORMAT.md``)."""

MANIFEST_FORMAT: Final = "arena-islands-v1"

SYNTHETIC_START: Final = datetime(2026, 1, 1, tzinfo=UTC)
"""When the islands' synthetic market opens: as ``arena simulate``'s, so a seed alone names a run."""

DEFAULT_CAPITAL: Final = Decimal(1_000_000)
"""Each island's funding unless the caller gives another."""

MAX_DAYS: Final = 36_500
"""Most days of market a run may cover: a century, as ``arena simulate``'s."""

MAX_ISLANDS: Final = 1024
"""Most islands one run may have: far past one process per core on any machine we know."""


@dataclass(frozen=True, slots=True)
class IslandsManifest:
    """What an islands run is a function of, kept in ``RUN_DIR/islands.json`` (the days are the target)."""

    islands: int
    agents: int
    """Agents each island starts with (and keeps as its evolution ``population`` unless the policy says)."""
    days: int
    seed: int
    migrate_every: int
    """Evolution cycles between two barriers."""
    migrants: int
    """Genomes each island sends at every barrier."""
    capital: str
    """Each island's funding, exact decimal text."""
    policy: dict[str, Any]
    market: dict[str, Any]
    """``{"kind": "synthetic", "seed": S, "start": ISO time, "days": D}``: one market for every island."""

    def to_json_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data, with its format tag."""
        return {"format": MANIFEST_FORMAT, **asdict(self)}

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any], *, path: str = ISLANDS_MANIFEST) -> IslandsManifest:
        """Rebuild a manifest from ``to_json_dict`` output.

        Raises:
            ValidationError: the data is not an islands manifest of this format.

        """
        fields = set(cls.__dataclass_fields__)
        if data.get("format") != MANIFEST_FORMAT or set(data) - {"format"} != fields:
            msg = (
                f"{path}: not an islands manifest of format {MANIFEST_FORMAT!r} (keys {sorted(data)}); "
                "pass the run directory 'arena islands --dir' wrote, or start a new run with --force"
            )
            raise ValidationError(msg, field="manifest", value=path)
        return cls(**{name: data[name] for name in fields})

    def feed(self) -> SyntheticFeed:
        """Return the market every island trades."""
        market = self.market
        return SyntheticFeed(
            seed=market["seed"], start=datetime.fromisoformat(market["start"]), days=market["days"]
        )

    def evolution_policy(self) -> EvolutionPolicy:
        """Return the islands' evolution policy."""
        return EvolutionPolicy.from_mapping(self.policy, subject=ISLANDS_MANIFEST)

    def differences(self, other: IslandsManifest) -> list[str]:
        """Return each field where ``other`` differs, as ``name: recorded X, given Y``."""
        mine, theirs = asdict(self), asdict(other)
        return [
            f"{name}: recorded {mine[name]!r}, given {theirs[name]!r}"
            for name in mine
            if mine[name] != theirs[name]
        ]


def write_manifest(run_dir: Path, manifest: IslandsManifest) -> None:
    """Write ``RUN_DIR/islands.json`` atomically: a temporary file, fsynced, renamed over the old one."""
    path = run_dir / ISLANDS_MANIFEST
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as file:
        file.write(json.dumps(manifest.to_json_dict(), sort_keys=True, indent=1) + "\n")
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def read_manifest(run_dir: Path) -> IslandsManifest:
    """Read ``RUN_DIR/islands.json``.

    Raises:
        ValidationError: there is none, or it is not an islands manifest.

    """
    path = run_dir / ISLANDS_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (
            f"--resume: {str(run_dir)!r} holds no {ISLANDS_MANIFEST}; drop --resume to start a new run there"
        )
        raise ValidationError(msg, field="run_dir", value=str(run_dir)) from None
    except (OSError, ValueError) as e:
        msg = f"{path}: cannot be read as JSON ({e}); start a new run with --force"
        raise ValidationError(msg, field="manifest", value=str(path)) from e
    if not isinstance(data, dict):
        msg = f"{path}: not an islands manifest; start a new run with --force"
        raise ValidationError(msg, field="manifest", value=str(path))
    return IslandsManifest.from_json_dict(data, path=str(path))


DEFAULT_MIGRATE_EVERY: Final = 1
"""Evolution cycles between two barriers unless the caller says."""

DEFAULT_MIGRANTS: Final = 2
"""Genomes each island sends per barrier unless the caller says."""

_OPTIONS: Final = ("islands", "agents", "days", "seed", "migrate_every", "migrants")


def resumed_manifest(directory: Path, given: Mapping[str, object]) -> IslandsManifest:
    """Return the recorded manifest of the run in ``directory``, refusing options that differ from it.

    Raises:
        ValidationError: no manifest, or one of ``given`` (None: not given) differs from it, each named.

    """
    recorded = read_manifest(directory)
    differing = [
        f"{name}: recorded {getattr(recorded, name)!r}, given {value!r}"
        for name, value in given.items()
        if value is not None and value != getattr(recorded, name)
    ]
    if differing:
        msg = (
            f"--resume {str(directory)!r}: the options differ from the run's manifest: "
            f"{'; '.join(differing)}; drop those options to resume the recorded run, or start a new one "
            "with --force"
        )
        raise ValidationError(msg, field="manifest", value=differing[0])
    return recorded


def new_manifest(
    directory: Path,
    options: Mapping[str, object],
    *,
    policy: EvolutionPolicy | None,
    capital: Decimal | int | str,
    force: bool,
) -> IslandsManifest:
    """Check a new run's options, make ``directory`` ready and write the manifest there; return it.

    ``options`` holds ``islands``, ``agents``, ``days``, ``seed`` (required) and ``migrate_every``,
    ``migrants`` (None: the defaults).

    Raises:
        ValidationError: an option is missing or out of range, or the directory holds a run (without
            ``force``); nothing is written then.

    """
    defaults = {"migrate_every": DEFAULT_MIGRATE_EVERY, "migrants": DEFAULT_MIGRANTS}
    values = {name: options.get(name, defaults.get(name)) for name in _OPTIONS}
    values = {
        name: defaults[name] if value is None and name in defaults else value
        for name, value in values.items()
    }
    for name in ("islands", "agents", "days", "seed"):
        if values[name] is None:
            msg = f"islands: a new run needs {name}; pass e.g. {name}=2 (or resume a recorded run)"
            raise ValidationError(msg, field=name, value=None)
    islands = _int(values["islands"], "islands", 1, MAX_ISLANDS)
    agents = _int(values["agents"], "agents", 1, INT_MAX)
    days = _int(values["days"], "days", 1, MAX_DAYS)
    seed = _int(values["seed"], "seed", INT_MIN, INT_MAX)
    migrate_every = _int(values["migrate_every"], "migrate_every", 1, INT_MAX)
    migrants = _int(values["migrants"], "migrants", 0, INT_MAX)
    chosen = policy if policy is not None else EvolutionPolicy()
    if not isinstance(chosen, EvolutionPolicy):
        msg = f"policy: {chosen!r} is not an EvolutionPolicy; pass EvolutionPolicy(...) or None"
        raise ValidationError(msg, field="policy", value=chosen)
    if chosen.population is None:  # immigrants are extra until the next cycle's kills make room
        chosen = chosen.model_copy(update={"population": agents})
    funding = money(capital, field="capital", allow_zero=False)
    manifest = IslandsManifest(
        islands=islands,
        agents=agents,
        days=days,
        seed=seed,
        migrate_every=migrate_every,
        migrants=migrants,
        capital=format_money(funding),
        policy=chosen.to_json_dict(),
        market={"kind": "synthetic", "seed": seed, "start": SYNTHETIC_START.isoformat(), "days": days},
    )
    _prepare(directory, force=force)
    write_manifest(directory, manifest)
    return manifest


def _int(value: object, name: str, minimum: int, maximum: int) -> int:
    checked = int_arg(value, name, minimum=minimum, maximum=maximum)
    if checked is None:  # pragma: no cover  (int_arg returns None only when optional)
        raise ValidationError(name, field=name, value=value)
    return checked


def _prepare(directory: Path, *, force: bool) -> None:
    """Make ``directory`` ready for a new run: created, or emptied of an earlier run with ``force``."""
    if directory.exists() and not directory.is_dir():
        msg = f"--dir {str(directory)!r}: not a directory; pass a directory path for the run"
        raise ValidationError(msg, field="run_dir", value=str(directory))
    directory.mkdir(parents=True, exist_ok=True)
    earlier = sorted(
        path
        for path in directory.iterdir()
        if path.name == ISLANDS_MANIFEST or path.name.startswith("island-")
    )
    if earlier and not force:
        msg = (
            f"--dir {str(directory)!r}: holds an islands run already ({len(earlier)} files); pass --resume "
            "to continue it, --force to replace it, or another directory"
        )
        raise ValidationError(msg, field="run_dir", value=str(directory))
    for path in earlier:
        if path.suffix == ".db":
            remove_store(path)  # under the writer lock: never while an island still writes it
    for path in earlier:
        path.unlink(missing_ok=True)  # the manifest and any leftover beside a store
