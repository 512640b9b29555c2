"""Typed immutable events, exact money, the shared state fold and the error tree."""

from ._errors import AgentError as AgentError
from ._errors import AgentNotAliveError as AgentNotAliveError
from ._errors import AllocationError as AllocationError
from ._errors import ArenaError as ArenaError
from ._errors import CapitalConservationError as CapitalConservationError
from ._errors import EventSourcingError as EventSourcingError
from ._errors import EvolutionError as EvolutionError
from ._errors import GraduationError as GraduationError
from ._errors import MarketDataError as MarketDataError
from ._errors import StoreError as StoreError
from ._errors import UnknownAgentError as UnknownAgentError
from ._errors import ValidationError as ValidationError

__all__ = [
    "AgentError",
    "AgentNotAliveError",
    "AllocationError",
    "ArenaError",
    "CapitalConservationError",
    "EventSourcingError",
    "EvolutionError",
    "GraduationError",
    "MarketDataError",
    "StoreError",
    "UnknownAgentError",
    "ValidationError",
]
