"""One OHLCV bar: the unit of market data every feed yields and every strategy reads."""

from __future__ import annotations

from datetime import datetime  # noqa: TC003  (pydantic needs it at run time)
from decimal import Decimal  # noqa: TC003  (pydantic needs it at run time)

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["Bar"]


class Bar(BaseModel):
    """Open, high, low, close and volume of one symbol over one interval ending at ``timestamp``.

    Prices are exact decimals so that fills, fees and cash deltas stay exact all the way into the ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: datetime
    """Timezone-aware UTC time the bar closes (naive datetimes are rejected, not guessed)."""
    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"bar timestamp {value.isoformat()!r} has no timezone; pass a timezone-aware UTC datetime"
            raise ValueError(msg)
        return value
