"""The actor runtime: arena supervisor, agent actors, batching event writer and the Arena API."""

import logging

from . import simulation as simulation
from ._agent import AgentActor as AgentActor
from ._agent import StrategyFactory as StrategyFactory
from ._arena import Arena as Arena
from ._clock import Clock as Clock
from ._clock import SimClock as SimClock
from ._clock import SystemClock as SystemClock
from ._ids import IdGenerator as IdGenerator
from ._ids import SequentialIds as SequentialIds
from ._messages import AgentFailurePolicy as AgentFailurePolicy
from ._messages import GetMetrics as GetMetrics
from ._messages import OnBars as OnBars
from ._reports import AllocationBreakdown as AllocationBreakdown
from ._reports import ConservationReport as ConservationReport
from ._reports import CycleReport as CycleReport
from ._sink import EventSink as EventSink
from ._sink import NullSink as NullSink
from ._supervisor import MAX_RESTARTS as MAX_RESTARTS
from ._supervisor import ArenaSupervisor as ArenaSupervisor
from ._timeouts import ASK_TIMEOUT as ASK_TIMEOUT
from ._timeouts import FLUSH_TIMEOUT as FLUSH_TIMEOUT
from ._timeouts import STEP_TIMEOUT as STEP_TIMEOUT
from ._timeouts import STOP_TIMEOUT as STOP_TIMEOUT
from ._writer import EventWriter as EventWriter
from ._writer_messages import Committed as Committed
from ._writer_messages import Flush as Flush
from ._writer_messages import Submit as Submit
from ._writer_messages import WriterCounters as WriterCounters
from ._writer_messages import WriterFailed as WriterFailed
from ._writer_messages import WriterStats as WriterStats

__all__ = [
    "ASK_TIMEOUT",
    "FLUSH_TIMEOUT",
    "MAX_RESTARTS",
    "STEP_TIMEOUT",
    "STOP_TIMEOUT",
    "AgentActor",
    "AgentFailurePolicy",
    "AllocationBreakdown",
    "Arena",
    "ArenaSupervisor",
    "Clock",
    "Committed",
    "ConservationReport",
    "CycleReport",
    "EventSink",
    "EventWriter",
    "Flush",
    "GetMetrics",
    "IdGenerator",
    "NullSink",
    "OnBars",
    "SequentialIds",
    "SimClock",
    "StrategyFactory",
    "Submit",
    "SystemClock",
    "WriterCounters",
    "WriterFailed",
    "WriterStats",
    "simulation",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
