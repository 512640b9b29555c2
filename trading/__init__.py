"""The pure trading domain: market data, genomes, strategies, the paper broker, metrics and evolution."""

from ._bar import Bar as Bar
from ._book import MIN_TRADE_NOTIONAL as MIN_TRADE_NOTIONAL
from ._book import PerformanceBook as PerformanceBook
from ._broker import BrokerConfig as BrokerConfig
from ._broker import Fill as Fill
from ._broker import Rejection as Rejection
from ._broker import execute as execute
from ._builtins import BUILTIN_STRATEGIES as BUILTIN_STRATEGIES
from ._builtins import make_strategy as make_strategy
from ._builtins import mutate_genome as mutate_genome
from ._builtins import random_genome as random_genome
from ._csv import CsvFeed as CsvFeed
from ._feed import MarketFeed as MarketFeed
from ._feed import infer_interval as infer_interval
from ._feed import steps as steps
from ._genome import Genome as Genome
from ._genome import ParamValue as ParamValue
from ._metrics import AgentMetrics as AgentMetrics
from ._metrics import PerformanceTracker as PerformanceTracker
from ._performance import AgentPerformance as AgentPerformance
from ._performance import PerformanceReport as PerformanceReport
from ._performance import RunningPerformance as RunningPerformance
from ._performance import buy_and_hold_curve as buy_and_hold_curve
from ._performance import performance as performance
from ._planner import Child as Child
from ._planner import CyclePlan as CyclePlan
from ._planner import Demotion as Demotion
from ._planner import Evidence as Evidence
from ._planner import Graduation as Graduation
from ._planner import Kill as Kill
from ._planner import fitness_ranking as fitness_ranking
from ._planner import plan_cycle as plan_cycle
from ._policy import CALMAR_DRAWDOWN_FLOOR as CALMAR_DRAWDOWN_FLOOR
from ._policy import DemotionRules as DemotionRules
from ._policy import EvolutionPolicy as EvolutionPolicy
from ._policy import FitnessMeasure as FitnessMeasure
from ._policy import GraduationThresholds as GraduationThresholds
from ._policy import TierWeights as TierWeights
from ._policy import WithinTier as WithinTier
from ._policy import fitness_of as fitness_of
from ._policy import shrinkage as shrinkage
from ._selection import HIGHER_IS_WORSE as HIGHER_IS_WORSE
from ._selection import METRICS as METRICS
from ._selection import check_selection as check_selection
from ._selection import select_underperformers as select_underperformers
from ._space import Param as Param
from ._space import ParameterSpace as ParameterSpace
from ._space import Strategies as Strategies
from ._space import StrategySpec as StrategySpec
from ._strategy import Order as Order
from ._strategy import Portfolio as Portfolio
from ._strategy import Strategy as Strategy
from ._synthetic import SyntheticFeed as SyntheticFeed

__all__ = [
    "BUILTIN_STRATEGIES",
    "CALMAR_DRAWDOWN_FLOOR",
    "HIGHER_IS_WORSE",
    "METRICS",
    "MIN_TRADE_NOTIONAL",
    "AgentMetrics",
    "AgentPerformance",
    "Bar",
    "BrokerConfig",
    "Child",
    "CsvFeed",
    "CyclePlan",
    "Demotion",
    "DemotionRules",
    "Evidence",
    "EvolutionPolicy",
    "Fill",
    "FitnessMeasure",
    "Genome",
    "Graduation",
    "GraduationThresholds",
    "Kill",
    "MarketFeed",
    "Order",
    "Param",
    "ParamValue",
    "ParameterSpace",
    "PerformanceBook",
    "PerformanceReport",
    "PerformanceTracker",
    "Portfolio",
    "Rejection",
    "RunningPerformance",
    "Strategies",
    "Strategy",
    "StrategySpec",
    "SyntheticFeed",
    "TierWeights",
    "WithinTier",
    "buy_and_hold_curve",
    "check_selection",
    "execute",
    "fitness_of",
    "fitness_ranking",
    "infer_interval",
    "make_strategy",
    "mutate_genome",
    "performance",
    "plan_cycle",
    "random_genome",
    "select_underperformers",
    "shrinkage",
    "steps",
]
