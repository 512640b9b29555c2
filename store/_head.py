"""``Head``: where a log ends, as the pair a reader needs to check it was neither cut nor rewritten."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Head"]


class Head(NamedTuple):
    """The seq and chain hash of the last event of a log; ``Head(0, GENESIS_HASH)`` for an empty one.

    Record it somewhere other than the store (a report, another machine) and pass it to
    ``verify(path, expected_head=...)`` later: a hash chain alone cannot see its own end cut off.
    """

    seq: int
    """Seq of the last event (0 when the log is empty)."""
    hash: str
    """Chain hash after that event, lowercase hex."""
