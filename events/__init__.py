"""Typed immutable events, exact money, double-entry postings, the shared state fold and the error tree."""

from ._agents import REASON_LIMIT as REASON_LIMIT
from ._agents import AgentDemoted as AgentDemoted
from ._agents import AgentFailed as AgentFailed
from ._agents import AgentGraduated as AgentGraduated
from ._agents import AgentKilled as AgentKilled
from ._agents import AgentSpawned as AgentSpawned
from ._base import DEMOTIONS as DEMOTIONS
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
from ._codec import BuiltinEvent as BuiltinEvent
from ._codec import canonical_json as canonical_json
from ._codec import chain_hash as chain_hash
from ._codec import parse_event as parse_event
from ._custom import RESERVED_FIELDS as RESERVED_FIELDS
from ._custom import UnregisteredEvent as UnregisteredEvent
from ._custom import UserEvent as UserEvent
from ._custom import is_known_event_type as is_known_event_type
from ._custom import known_event_types as known_event_types
from ._custom import register_event_type as register_event_type
from ._custom import user_event_classes as user_event_classes
from ._custom import user_event_fields as user_event_fields
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
from ._fast import check_events as check_events
from ._fast import checking_events as checking_events
from ._fast import trusted as trusted
from ._ledger import EXTERNAL as EXTERNAL
from ._ledger import FEES as FEES
from ._ledger import PNL as PNL
from ._ledger import TREASURY as TREASURY
from ._ledger import Leg as Leg
from ._ledger import Posting as Posting
from ._ledger import Unit as Unit
from ._ledger import account_agent as account_agent
from ._ledger import agent_account as agent_account
from ._ledger import is_mirror as is_mirror
from ._ledger import ledger_legs as ledger_legs
from ._ledger import market_account as market_account
from ._ledger import position_account as position_account
from ._ledger import postings as postings
from ._ledger import units_account as units_account
from ._migration import ISLAND_NAME_LIMIT as ISLAND_NAME_LIMIT
from ._migration import AgentEmigrated as AgentEmigrated
from ._migration import AgentImmigrated as AgentImmigrated
from ._migration import check_fitness_text as check_fitness_text
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
from ._positions import cost_of_sale as cost_of_sale
from ._positions import value_at as value_at
from ._records import AgentEntry as AgentEntry
from ._records import AgentRecord as AgentRecord
from ._run import SimulationStarted as SimulationStarted
from ._state import ArenaState as ArenaState
from ._state import Fold as Fold
from ._state import apply as apply
from ._state import fold as fold
from ._trading import MarksRecorded as MarksRecorded
from ._trading import Side as Side
from ._trading import TradeExecuted as TradeExecuted
from ._trading import TradeRejected as TradeRejected
from ._trading import trade_cash_delta as trade_cash_delta
from ._valuation import equity as equity
from ._valuation import nav as nav
from ._valuation import unrealized_pnl as unrealized_pnl

__all__ = [
    "DEMOTIONS",
    "EVENT_CLASSES",
    "EXTERNAL",
    "FEES",
    "GENESIS_HASH",
    "ISLAND_NAME_LIMIT",
    "MAX_MONEY",
    "MONEY_SCALE",
    "PNL",
    "PROMOTIONS",
    "REASON_LIMIT",
    "RESERVED_FIELDS",
    "TREASURY",
    "ZERO",
    "AgentDemoted",
    "AgentEmigrated",
    "AgentEntry",
    "AgentError",
    "AgentFailed",
    "AgentGraduated",
    "AgentImmigrated",
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
    "BuiltinEvent",
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
    "Leg",
    "LogBuilder",
    "MarketDataError",
    "MarksRecorded",
    "Money",
    "NonNegativeMoney",
    "PositiveMoney",
    "Posting",
    "Side",
    "SimulationStarted",
    "StoreError",
    "Tier",
    "TradeExecuted",
    "TradeRejected",
    "Unit",
    "UnknownAgentError",
    "UnregisteredEvent",
    "UserEvent",
    "ValidationError",
    "account_agent",
    "agent_account",
    "apply",
    "canonical_json",
    "chain_hash",
    "check_events",
    "check_fitness_text",
    "checking_events",
    "cost_of_sale",
    "equity",
    "fold",
    "format_money",
    "format_timestamp",
    "from_minor",
    "is_known_event_type",
    "is_mirror",
    "known_event_types",
    "ledger_legs",
    "market_account",
    "money",
    "nav",
    "parse_event",
    "position_account",
    "postings",
    "register_event_type",
    "to_minor",
    "trade_cash_delta",
    "trusted",
    "units_account",
    "unrealized_pnl",
    "user_event_classes",
    "user_event_fields",
    "value_at",
]
