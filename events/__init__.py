"""Typed immutable events, exact money, double-entry postings, the shared state fold and the error tree."""

from ._agents import REASON_LIMIT as REASON_LIMIT
from ._agents import AgentFailed as AgentFailed
from ._agents import AgentGraduated as AgentGraduated
from ._agents import AgentKilled as AgentKilled
from ._agents import AgentSpawned as AgentSpawned
from ._base import EVENT_CLASSES as EVENT_CLASSES
from ._base import PROMOTIONS as PROMOTIONS
from ._base import Event as Event
from ._base import Tier as Tier
from ._base import format_timestamp as format_timestamp
from ._builder import LogBuilder as LogBuilder
from ._capital import AllocationRejected as AllocationRejected
from ._capital import ArenaOpened as ArenaOpened
from ._capital import CapitalAllocated as CapitalAllocated
from ._capital import CapitalConservationCheck as CapitalConservationCheck
from ._capital import CapitalReleased as CapitalReleased
from ._codec import GENESIS_HASH as GENESIS_HASH
from ._codec import AnyEvent as AnyEvent
from ._codec import canonical_json as canonical_json
from ._codec import chain_hash as chain_hash
from ._codec import parse_event as parse_event
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
from ._evolution import AgentMutated as AgentMutated
from ._evolution import EvolutionCycleComplete as EvolutionCycleComplete
from ._evolution import EvolutionCycleStarted as EvolutionCycleStarted
from ._ledger import EXTERNAL as EXTERNAL
from ._ledger import TREASURY as TREASURY
from ._ledger import Posting as Posting
from ._ledger import account_agent as account_agent
from ._ledger import agent_account as agent_account
from ._ledger import postings as postings
from ._money import MAX_MONEY as MAX_MONEY
from ._money import MONEY_SCALE as MONEY_SCALE
from ._money import ZERO as ZERO
from ._money import Balance as Balance
from ._money import Money as Money
from ._money import NonNegativeMoney as NonNegativeMoney
from ._money import PositiveMoney as PositiveMoney
from ._money import format_money as format_money
from ._money import from_minor as from_minor
from ._money import money as money
from ._money import to_minor as to_minor
from ._state import AgentEntry as AgentEntry
from ._state import AgentRecord as AgentRecord
from ._state import ArenaState as ArenaState
from ._state import Fold as Fold
from ._state import apply as apply
from ._state import fold as fold
from ._trading import Side as Side
from ._trading import TradeExecuted as TradeExecuted
from ._trading import TradeRejected as TradeRejected
from ._trading import trade_cash_delta as trade_cash_delta

__all__ = [
    "EVENT_CLASSES",
    "EXTERNAL",
    "GENESIS_HASH",
    "MAX_MONEY",
    "MONEY_SCALE",
    "PROMOTIONS",
    "REASON_LIMIT",
    "TREASURY",
    "ZERO",
    "AgentEntry",
    "AgentError",
    "AgentFailed",
    "AgentGraduated",
    "AgentKilled",
    "AgentMutated",
    "AgentNotAliveError",
    "AgentRecord",
    "AgentSpawned",
    "AllocationError",
    "AllocationRejected",
    "AnyEvent",
    "ArenaError",
    "ArenaOpened",
    "ArenaState",
    "Balance",
    "CapitalAllocated",
    "CapitalConservationCheck",
    "CapitalConservationError",
    "CapitalReleased",
    "Event",
    "EventSourcingError",
    "EvolutionCycleComplete",
    "EvolutionCycleStarted",
    "EvolutionError",
    "Fold",
    "GraduationError",
    "LogBuilder",
    "MarketDataError",
    "Money",
    "NonNegativeMoney",
    "PositiveMoney",
    "Posting",
    "Side",
    "StoreError",
    "Tier",
    "TradeExecuted",
    "TradeRejected",
    "UnknownAgentError",
    "ValidationError",
    "account_agent",
    "agent_account",
    "apply",
    "canonical_json",
    "chain_hash",
    "fold",
    "format_money",
    "format_timestamp",
    "from_minor",
    "money",
    "parse_event",
    "postings",
    "to_minor",
    "trade_cash_delta",
]
