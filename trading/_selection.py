"""Who ``kill_underperformers`` kills: the worst live agents on one metric, by threshold or by fraction."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from events import ValidationError

from ._metrics import AgentMetrics

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = ["HIGHER_IS_WORSE", "METRICS", "check_selection", "select_underperformers"]

METRICS: Final = tuple(AgentMetrics.model_fields)
"""The metrics agents can be judged on: every field of ``AgentMetrics``."""

HIGHER_IS_WORSE: Final = frozenset({"max_drawdown"})
"""Metrics where a larger value is the worse one; for every other metric smaller is worse."""


def check_selection(metric: str, threshold: float | None, bottom_fraction: float | None) -> None:
    """Refuse a selection that names no metric we know, or not exactly one of threshold and fraction.

    Raises:
        ValidationError: ``metric`` is not an ``AgentMetrics`` field; both or neither of ``threshold`` and
            ``bottom_fraction`` are given; ``threshold`` is not a finite number; ``bottom_fraction`` is
            not in (0, 1].

    """
    if metric not in METRICS:
        msg = f"metric {metric!r} is not an agent metric; pass one of: {', '.join(METRICS)}"
        raise ValidationError(msg, field="metric", value=metric)
    if (threshold is None) == (bottom_fraction is None):
        msg = (
            f"kill_underperformers: got threshold={threshold!r} and bottom_fraction={bottom_fraction!r}; "
            "pass exactly one of them"
        )
        raise ValidationError(msg, field="threshold", value=threshold)
    if threshold is not None and not _finite(threshold):
        msg = f"threshold: {threshold!r} is not a finite number; pass e.g. 0.0"
        raise ValidationError(msg, field="threshold", value=threshold)
    if bottom_fraction is not None and not (_finite(bottom_fraction) and 0 < bottom_fraction <= 1):
        msg = f"bottom_fraction: {bottom_fraction!r} is not in (0, 1]; pass e.g. 0.2 to kill the worst fifth"
        raise ValidationError(msg, field="bottom_fraction", value=bottom_fraction)


def select_underperformers(
    metric: str,
    metrics: Mapping[str, AgentMetrics],
    alive: Collection[str],
    *,
    threshold: float | None = None,
    bottom_fraction: float | None = None,
) -> list[str]:
    """Return the live agents to kill, worst first (ties broken by id).

    With ``threshold``, every judged agent worse than it (below it, or above it for ``HIGHER_IS_WORSE``
    metrics); with ``bottom_fraction``, the worst ``floor(fraction * judged)``. Only live agents with
    metrics are judged: metrics of agents killed since they were gathered are ignored.
    """
    sign = -1 if metric in HIGHER_IS_WORSE else 1
    scores = {agent_id: sign * getattr(m, metric) for agent_id, m in metrics.items() if agent_id in alive}
    ranked = sorted(scores, key=lambda agent_id: (scores[agent_id], agent_id))
    if threshold is not None:
        return [agent_id for agent_id in ranked if scores[agent_id] < sign * threshold]
    # read the fraction as the decimal its author wrote: 100 * 0.29 is 29 agents, not 28.999999999999996
    count = math.floor(len(ranked) * Fraction(repr(bottom_fraction or 0.0)))
    return ranked[:count]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
