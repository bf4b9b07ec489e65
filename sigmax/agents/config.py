"""Frozen configuration of the analysts, the debate, the arbitrator, the optimiser,
the default risk gate, the optional LLM analyst and the decision graph that groups them.

Dependency-free (pydantic only) so the lead can compose them into one ``Settings``.
Periods are in the graph's decision bars: 4-hour windows by default
(``GraphConfig.cadence``), or the data's own bars where those are as coarse or coarser.
The sizer annualises volatility from the bars' timeframe
(:func:`sigmax.data.timeframes.bars_per_year`) unless ``bars_per_year`` overrides it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Role = Literal["directional", "contrarian"]
#: The analysts that argue against the move by design: a stretched close (mean
#: reversion) and a greedy crowd (contrarian sentiment) reduce size, they do not vote.
DEFAULT_ROLES: dict[str, Role] = {"mean_reversion": "contrarian", "sentiment": "contrarian"}
#: The graph decides on 4-hour windows by default: in the walk-forward study
#: (docs/STRATEGY.md) it met all four aims of issue 16 at 4h and failed two deciding
#: every bar. On data as coarse as 4h or coarser it decides every bar as before.
DEFAULT_CADENCE = "4h"


class TrendConfig(BaseModel):
    """Moving-average alignment and crossover, with ADX as trend strength."""

    model_config = _FROZEN

    fast_period: int = Field(default=20, ge=2, le=1000, description="Fast EMA period (bars).")
    slow_period: int = Field(default=50, ge=3, le=2000, description="Slow EMA period (bars).")
    adx_period: int = Field(default=14, ge=2, le=200, description="ADX period (bars).")
    adx_strong: float = Field(
        default=40.0,
        gt=0.0,
        le=100.0,
        description="ADX at which confidence reaches 1 (linear below).",
    )
    spread_full: float = Field(
        default=0.03,
        gt=0.0,
        le=1.0,
        description="Relative fast/slow EMA spread that gives the spread part its full score.",
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> TrendConfig:
        if self.fast_period >= self.slow_period:
            raise ValueError(
                f"trend: fast_period ({self.fast_period}) must be < slow_period "
                f"({self.slow_period})"
            )
        return self


class MomentumConfig(BaseModel):
    """RSI and MACD histogram momentum."""

    model_config = _FROZEN

    rsi_period: int = Field(default=14, ge=2, le=200, description="RSI period (bars).")
    rsi_band: float = Field(
        default=20.0,
        gt=0.0,
        le=50.0,
        description="RSI distance from 50 that gives the RSI part score 1.",
    )
    macd_fast: int = Field(default=12, ge=2, le=500, description="MACD fast EMA period (bars).")
    macd_slow: int = Field(default=26, ge=3, le=1000, description="MACD slow EMA period (bars).")
    macd_signal: int = Field(default=9, ge=1, le=500, description="MACD signal EMA period (bars).")
    hist_full: float = Field(
        default=0.003,
        gt=0.0,
        le=1.0,
        description="MACD histogram as a fraction of price that gives the MACD part score 1.",
    )
    rsi_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Weight of RSI in the score; MACD gets the rest."
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MomentumConfig:
        if self.macd_fast >= self.macd_slow:
            raise ValueError(
                f"momentum: macd_fast ({self.macd_fast}) must be < macd_slow ({self.macd_slow})"
            )
        return self


class MeanReversionConfig(BaseModel):
    """Bollinger bands: z-score of the close against its moving mean."""

    model_config = _FROZEN

    period: int = Field(default=20, ge=2, le=1000, description="Bollinger / z-score window (bars).")
    band_dev: float = Field(
        default=2.0, gt=0.0, le=10.0, description="Band width in standard deviations."
    )
    z_full: float = Field(
        default=2.0,
        gt=0.0,
        le=10.0,
        description="|z| at which score and confidence reach full size.",
    )


class VolatilityConfig(BaseModel):
    """Realised volatility, ATR and the market regime."""

    model_config = _FROZEN

    vol_window: int = Field(
        default=24, ge=2, le=5000, description="Short realised-vol window (bars)."
    )
    baseline_window: int = Field(
        default=168, ge=3, le=20000, description="Baseline realised-vol window (bars)."
    )
    atr_period: int = Field(default=14, ge=2, le=500, description="ATR period (bars).")
    efficiency_window: int = Field(
        default=24,
        ge=2,
        le=5000,
        description="Window of the efficiency ratio |net move| / path length.",
    )
    high_vol_ratio: float = Field(
        default=1.5,
        gt=1.0,
        le=10.0,
        description="Short/baseline vol ratio above which regime=high-vol.",
    )
    trend_efficiency: float = Field(
        default=0.3,
        gt=0.0,
        lt=1.0,
        description="Efficiency ratio at or above which regime=trending.",
    )
    trending_confidence: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Confidence in the trending regime."
    )
    ranging_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Confidence in the ranging regime."
    )
    high_vol_confidence: float = Field(
        default=0.25, ge=0.0, le=1.0, description="Confidence in the high-vol regime."
    )
    bars_per_year: float | None = Field(
        default=None,
        gt=0.0,
        description="Bars per year, to annualise vol; None: from the bars' timeframe.",
    )

    @model_validator(mode="after")
    def _windows(self) -> VolatilityConfig:
        if self.vol_window >= self.baseline_window:
            raise ValueError(
                f"volatility: vol_window ({self.vol_window}) must be < baseline_window "
                f"({self.baseline_window})"
            )
        return self


class SentimentConfig(BaseModel):
    """Market-data fear-and-greed index (not news or social sentiment)."""

    model_config = _FROZEN

    vol_window: int = Field(
        default=24, ge=2, le=5000, description="Short realised-vol window (bars)."
    )
    vol_baseline: int = Field(
        default=168, ge=3, le=20000, description="Baseline vol window (bars)."
    )
    momentum_window: int = Field(
        default=168,
        ge=2,
        le=20000,
        description="Window of the moving mean the close is compared with.",
    )
    momentum_full: float = Field(
        default=0.10,
        gt=0.0,
        le=10.0,
        description="Close above/below its mean (fraction) for 100/0.",
    )
    volume_short: int = Field(
        default=24, ge=1, le=5000, description="Short mean-volume window (bars)."
    )
    volume_long: int = Field(
        default=168, ge=2, le=20000, description="Long mean-volume window (bars)."
    )
    drawdown_window: int = Field(
        default=336,
        ge=2,
        le=20000,
        description="Window of the rolling high the drawdown is taken from.",
    )
    drawdown_full: float = Field(
        default=0.20,
        gt=0.0,
        lt=1.0,
        description="Drawdown (fraction) that maps to extreme fear (0).",
    )
    contrarian: bool = Field(
        default=True,
        description="True: greed is bearish and fear bullish; False: follow the crowd.",
    )

    @model_validator(mode="after")
    def _windows(self) -> SentimentConfig:
        if self.vol_window >= self.vol_baseline or self.volume_short >= self.volume_long:
            raise ValueError("sentiment: short windows must be shorter than their baselines")
        return self


class DebateConfig(BaseModel):
    """Bull/bear debate: rounds of rebuttal."""

    model_config = _FROZEN

    rounds: int = Field(default=2, ge=0, le=10, description="Rebuttal rounds; 0 = no rebuttal.")
    rebuttal_discount: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Factor applied to the other side's weakest evidence in each round.",
    )


class ArbitratorConfig(BaseModel):
    """Confidence-weighted combination of the debated evidence into a target position."""

    model_config = _FROZEN

    position_step: float = Field(
        default=0.25, gt=0.0, le=1.0, description="Target positions are multiples of this fraction."
    )
    allow_short: bool = Field(default=False, description="False: targets in [0, 1]; True: [-1, 1].")
    min_confidence: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Signals below this confidence are ignored."
    )
    conviction_gain: float = Field(
        default=2.0, gt=0.0, le=20.0, description="Multiplier from net conviction to raw position."
    )
    hysteresis: float = Field(
        default=0.2,
        ge=0.0,
        lt=0.5,
        description=(
            "Dead band between levels as a fraction of position_step: a level is entered only "
            "when the raw target is within (0.5 - hysteresis) * step of it, else the previous "
            "target is kept. 0 = plain rounding (memoryless)."
        ),
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="Per-agent weight by agent name; missing names = 1."
    )
    roles: dict[str, Role] = Field(
        default_factory=lambda: dict(DEFAULT_ROLES),
        description=(
            "Per-agent role by agent name; missing names are directional. Directional "
            "analysts vote on the direction; contrarian ones only damp (or veto) the size "
            "when they disagree with it."
        ),
    )
    contrarian_damping: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Size is multiplied by 1 - contrarian_damping * pressure, where pressure in "
            "[0, 1] is the weighted contrarian disagreement with the direction."
        ),
    )
    contrarian_veto: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Contrarian pressure at or above which entries and adds are vetoed; None: off.",
    )

    @model_validator(mode="after")
    def _weights(self) -> ArbitratorConfig:
        bad = {k: v for k, v in self.weights.items() if not 0.0 <= v <= 100.0}
        if bad:
            raise ValueError(f"arbitrator: weights must be in [0, 100], got {bad}")
        return self


class SizingConfig(BaseModel):
    """Position sizing by volatility target: the decision graph's ``optimiser`` node.

    Not the portfolio optimiser (:class:`sigmax.portfolio.OptimiserConfig`), which
    chooses weights across assets.
    """

    model_config = _FROZEN

    target_vol: float = Field(
        default=0.6, gt=0.0, le=10.0, description="Annualised volatility the position is sized to."
    )
    vol_window: int = Field(default=168, ge=2, le=20000, description="Realised-vol window (bars).")
    bars_per_year: float | None = Field(
        default=None,
        gt=0.0,
        description="Bars per year, to annualise vol; None: from the bars' timeframe.",
    )


class TurnoverConfig(BaseModel):
    """Turnover control after sizing: a minimum holding time and a yearly budget.

    Both only hold back entries and adds (a larger |target|); exits to flat and
    reductions (weaker conviction, higher volatility, the risk gate) always go through.
    """

    model_config = _FROZEN

    min_hold_hours: float = Field(
        default=24.0,
        ge=0.0,
        le=24.0 * 365,
        description=(
            "After any change of the target, no entry or add for this long (calendar "
            "hours, turned into bars by the timeframe); 0 = off."
        ),
    )
    max_per_year: float | None = Field(
        default=48.0,
        gt=0.0,
        description=(
            "Turnover budget: sum of |target changes| (fractions of equity) per year. A "
            "bucket of a month's allowance, refilled every bar; exits are charged but "
            "never refused. None = no budget. The default leaves room under 60x a year "
            "for exits and the engine's rebalancing."
        ),
    )


class RiskGateConfig(BaseModel):
    """The graph's default risk gate."""

    model_config = _FROZEN

    max_leverage: float = Field(
        default=1.0, gt=0.0, le=10.0, description="Largest |target position| (fraction of equity)."
    )


class LLMConfig(BaseModel):
    """Optional LLM analyst (per-bar only, off by default, excluded from backtests)."""

    model_config = _FROZEN

    enabled: bool = Field(default=False, description="Add the LLM analyst to the live graph.")
    provider: Literal["openai", "anthropic", "ollama"] = Field(
        default="ollama", description="Chat-model provider."
    )
    model: str = Field(default="llama3.1", min_length=1, description="Provider's model name.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    timeout_s: float = Field(
        default=20.0, gt=0.0, le=600.0, description="Request timeout (seconds)."
    )
    max_tokens: int = Field(
        default=400, ge=16, le=8192, description="Answer length limit (tokens)."
    )
    base_url: str | None = Field(
        default=None, description="Endpoint override (e.g. a local ollama)."
    )
    recent_bars: int = Field(default=24, ge=2, le=500, description="Bars summarised in the prompt.")
    max_untrusted_chars: int = Field(
        default=2000, ge=1, le=100_000, description="Longest untrusted text the guard lets through."
    )
    reject_suspicious: bool = Field(
        default=True, description="True: drop suspicious texts; False: neutralise and keep them."
    )


class RLAgentConfig(BaseModel):
    """The trained RL policy (``sigmax train``) as an analyst: off until a checkpoint is set."""

    model_config = _FROZEN

    checkpoint: str | None = Field(
        default=None,
        description="A checkpoint (or checkpoint directory) of `sigmax train`; None = no RL agent.",
    )
    confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Confidence the graph gives the policy's target."
    )


class GraphConfig(BaseModel):
    """Everything the decision graph needs, one section per node."""

    model_config = _FROZEN

    trend: TrendConfig = Field(default_factory=TrendConfig, description="Trend analyst.")
    momentum: MomentumConfig = Field(
        default_factory=MomentumConfig, description="Momentum analyst."
    )
    mean_reversion: MeanReversionConfig = Field(
        default_factory=MeanReversionConfig, description="Mean-reversion analyst."
    )
    volatility: VolatilityConfig = Field(
        default_factory=VolatilityConfig, description="Volatility analyst."
    )
    sentiment: SentimentConfig = Field(
        default_factory=SentimentConfig, description="Market-sentiment analyst."
    )
    debate: DebateConfig = Field(default_factory=DebateConfig, description="Bull/bear debate.")
    arbitrator: ArbitratorConfig = Field(
        default_factory=ArbitratorConfig, description="Arbitrator."
    )
    optimiser: SizingConfig = Field(
        default_factory=SizingConfig, description="Position sizer (volatility target)."
    )
    turnover: TurnoverConfig = Field(
        default_factory=TurnoverConfig, description="Turnover control (hold time, budget)."
    )
    risk: RiskGateConfig = Field(default_factory=RiskGateConfig, description="Default risk gate.")
    llm: LLMConfig = Field(default_factory=LLMConfig, description="Optional LLM analyst.")
    rl: RLAgentConfig = Field(default_factory=RLAgentConfig, description="Optional RL agent.")
    agent_timeout_s: float = Field(
        default=2.0,
        gt=0.0,
        le=600.0,
        description="Per-bar deadline of each analyst node (seconds).",
    )
    live_runner: Literal["straight", "langgraph"] = Field(
        default="straight",
        description=(
            "How a live bar runs the graph: 'straight' steps the built graph's nodes in "
            "the calling thread (well under a millisecond of overhead); 'langgraph' "
            "invokes LangGraph per bar (about 7 ms more). Both decide the same."
        ),
    )
    cadence: str | None = Field(
        default=DEFAULT_CADENCE,
        description=(
            "Decide on coarser bars than the data's (e.g. 4h, 1d: UTC-aligned windows; the "
            "analysts' periods then count those bars), holding the target in between; "
            "fills and risk checks keep the data's bars. 4h by default (the walk-forward "
            "study in docs/STRATEGY.md). None (empty or 'none' in the environment), or not "
            "coarser than the data (e.g. daily bars): decide at every bar."
        ),
    )

    @field_validator("cadence", mode="before")
    @classmethod
    def _cadence_none(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        return value

    @model_validator(mode="after")
    def _cadence(self) -> GraphConfig:
        if self.cadence is not None:
            from sigmax.data.timeframes import timeframe_ns

            try:
                timeframe_ns(self.cadence)
            except ValueError as exc:
                raise ValueError(f"graph cadence: {exc}") from None
        return self
