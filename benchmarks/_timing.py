"""Timing helpers shared by the benchmarks: one line per case, ``name: N ops in X.XXXs (Y ops/s)``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Timing", "measure", "print_ratio"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Timing:
    """How long ``ops`` operations of one case took."""

    name: str
    ops: int
    seconds: float

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.ops / self.seconds if self.seconds > 0 else float("inf")

    def __str__(self) -> str:
        return f"{self.name}: {self.ops} ops in {self.seconds:.3f}s ({self.rate:,.0f} ops/s)"


def measure(name: str, ops: int, action: Callable[[], _T]) -> tuple[Timing, _T]:
    """Run ``action`` once, print its timing line and return the timing with the action's result."""
    start = time.perf_counter()
    result = action()
    timing = Timing(name, ops, time.perf_counter() - start)
    print(timing, flush=True)
    return timing, result


def print_ratio(label: str, case: Timing, baseline: Timing) -> None:
    """Print how ``case`` compares with ``baseline``, as a rate ratio (1.00 means as fast)."""
    print(f"{label}: {case.rate / baseline.rate:.2f}x ({case.name} / {baseline.name})", flush=True)
