"""The actor runtime: the arena supervisor, agent actors, the event writer, the Arena API and the driver."""

import logging

from store import Synchronous as Synchronous

from ._agent import AgentActor as AgentActor
from ._agent import StrategyFactory as StrategyFactory
from ._arena import Arena as Arena
from ._clock import Clock as Clock
from ._clock import SimClock as SimClock
from ._clock import SystemClock as SystemClock
from ._driver import derive_seed as derive_seed
from ._driver import fund_equally as fund_equally
from ._driver import run_simulation as run_simulation
from ._evaluate import BUY_AND_HOLD as BUY_AND_HOLD
from ._evaluate import Evaluation as Evaluation
from ._evaluate import EvaluationRow as EvaluationRow
from ._evaluate import evaluate as evaluate
from ._floor import TradingFloor as TradingFloor
from ._frame_files import FORMATS as FORMATS
from ._frame_files import read_frame as read_frame
from ._frame_files import write_frames as write_frames
from ._frames import FRAMES as FRAMES
from ._frames import frame as frame
from ._frames import frames as frames
from ._ids import IdGenerator as IdGenerator
from ._ids import SequentialIds as SequentialIds
from ._islands import Island as Island
from ._islands import IslandDiedError as IslandDiedError
from ._islands import IslandRounds as IslandRounds
from ._islands import IslandsReport as IslandsReport
from ._islands import IslandSummary as IslandSummary
from ._islands import LocalIslands as LocalIslands
from ._islands import drive_islands as drive_islands
from ._islands_audit import MigrationAudit as MigrationAudit
from ._islands_audit import MigrationMismatch as MigrationMismatch
from ._islands_audit import cross_check as cross_check
from ._islands_audit import island_files as island_files
from ._islands_manifest import ISLANDS_MANIFEST as ISLANDS_MANIFEST
from ._islands_manifest import IslandsManifest as IslandsManifest
from ._islands_manifest import read_manifest as read_manifest
from ._islands_ray import RayIslands as RayIslands
from ._islands_run import run_islands as run_islands
from ._manifest import RunManifest as RunManifest
from ._manifest import feed_identity as feed_identity
from ._messages import AgentFailurePolicy as AgentFailurePolicy
from ._messages import GetMetrics as GetMetrics
from ._messages import OnBars as OnBars
from ._migration import Emigrant as Emigrant
from ._pooled import ActorPool as ActorPool
from ._pooled import PooledActor as PooledActor
from ._pooled import default_workers as default_workers
from ._reports import AllocationBreakdown as AllocationBreakdown
from ._reports import ConservationReport as ConservationReport
from ._reports import CycleReport as CycleReport
from ._reports import breakdown_of as breakdown_of
from ._run_report import AgentSummary as AgentSummary
from ._run_report import Progress as Progress
from ._run_report import SimulationReport as SimulationReport
from ._run_report import top_agents as top_agents
from ._sink import EventSink as EventSink
from ._sink import NullSink as NullSink
from ._subscriptions import DEFAULT_MAX_PENDING as DEFAULT_MAX_PENDING
from ._subscriptions import Subscription as Subscription
from ._subscriptions import SubscriptionState as SubscriptionState
from ._supervisor import MAX_RESTARTS as MAX_RESTARTS
from ._supervisor import ArenaSupervisor as ArenaSupervisor
from ._timeouts import ASK_TIMEOUT as ASK_TIMEOUT
from ._timeouts import FLUSH_TIMEOUT as FLUSH_TIMEOUT
from ._timeouts import STEP_TIMEOUT as STEP_TIMEOUT
from ._timeouts import STOP_TIMEOUT as STOP_TIMEOUT

__all__ = [
    "ASK_TIMEOUT",
    "BUY_AND_HOLD",
    "DEFAULT_MAX_PENDING",
    "FLUSH_TIMEOUT",
    "FORMATS",
    "FRAMES",
    "ISLANDS_MANIFEST",
    "MAX_RESTARTS",
    "STEP_TIMEOUT",
    "STOP_TIMEOUT",
    "ActorPool",
    "AgentActor",
    "AgentFailurePolicy",
    "AgentSummary",
    "AllocationBreakdown",
    "Arena",
    "ArenaSupervisor",
    "Clock",
    "ConservationReport",
    "CycleReport",
    "Emigrant",
    "Evaluation",
    "EvaluationRow",
    "EventSink",
    "GetMetrics",
    "IdGenerator",
    "Island",
    "IslandDiedError",
    "IslandRounds",
    "IslandSummary",
    "IslandsManifest",
    "IslandsReport",
    "LocalIslands",
    "MigrationAudit",
    "MigrationMismatch",
    "NullSink",
    "OnBars",
    "PooledActor",
    "Progress",
    "RayIslands",
    "RunManifest",
    "SequentialIds",
    "SimClock",
    "SimulationReport",
    "StrategyFactory",
    "Subscription",
    "SubscriptionState",
    "Synchronous",
    "SystemClock",
    "TradingFloor",
    "breakdown_of",
    "cross_check",
    "default_workers",
    "derive_seed",
    "drive_islands",
    "evaluate",
    "feed_identity",
    "frame",
    "frames",
    "fund_equally",
    "island_files",
    "read_frame",
    "read_manifest",
    "run_islands",
    "run_simulation",
    "top_agents",
    "write_frames",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
