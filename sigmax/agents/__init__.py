"""Analyst agents, the bull/bear debate, the arbitrator and the position sizer.

Each analyst turns market data into a ``Signal``; the decision graph (``sigmax.graph``)
combines them. The LLM analyst (``sigmax.agents.llm``) is optional and imported lazily.
"""

from sigmax.agents.arbitrator import Arbitration, arbitrate, quantise, quantise_with_hysteresis
from sigmax.agents.base import Agent, AnalystState, LiveStateGap, SignalSeries, validate_bars
from sigmax.agents.config import (
    ArbitratorConfig,
    DebateConfig,
    GraphConfig,
    LLMConfig,
    MeanReversionConfig,
    MomentumConfig,
    RiskGateConfig,
    SentimentConfig,
    SizingConfig,
    TrendConfig,
    TurnoverConfig,
    VolatilityConfig,
)
from sigmax.agents.debate import DebateResult, SignalMatrix, run_debate
from sigmax.agents.mean_reversion import MeanReversionAgent
from sigmax.agents.momentum import MomentumAgent
from sigmax.agents.prompt_guard import GuardResult, PromptGuard
from sigmax.agents.risk_gate import RiskOutcome, cap_leverage
from sigmax.agents.roster import default_agents
from sigmax.agents.sentiment import SentimentAgent
from sigmax.agents.sizing import Sizing, vol_target
from sigmax.agents.trend import TrendAgent
from sigmax.agents.turnover import TurnoverOutcome, TurnoverState, control_turnover
from sigmax.agents.volatility import Regime, VolatilityAgent

__all__ = [
    "Agent",
    "AnalystState",
    "Arbitration",
    "ArbitratorConfig",
    "DebateConfig",
    "DebateResult",
    "GraphConfig",
    "GuardResult",
    "LLMConfig",
    "LiveStateGap",
    "MeanReversionAgent",
    "MeanReversionConfig",
    "MomentumAgent",
    "MomentumConfig",
    "SizingConfig",
    "PromptGuard",
    "Regime",
    "RiskGateConfig",
    "RiskOutcome",
    "SentimentAgent",
    "SentimentConfig",
    "SignalMatrix",
    "SignalSeries",
    "Sizing",
    "TrendAgent",
    "TrendConfig",
    "TurnoverConfig",
    "TurnoverOutcome",
    "TurnoverState",
    "VolatilityAgent",
    "VolatilityConfig",
    "arbitrate",
    "cap_leverage",
    "control_turnover",
    "default_agents",
    "quantise",
    "quantise_with_hysteresis",
    "run_debate",
    "validate_bars",
    "vol_target",
]
