"""``OptimiserConfig``: every knob of one portfolio optimisation, frozen and validated."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Solver = Literal["auto", "classical", "qaoa", "vqe"]
Shrinkage = Literal["identity", "constant-correlation", "none"]
Weighting = Literal["mean-variance", "kelly"]
Device = Literal["CPU", "GPU"]

DEFAULT_ASSETS = ("BTC", "ETH", "LTC", "XRP", "EOS")


class OptimiserConfig(BaseModel):
    """What to optimise and how.

    The objective is the mean-variance utility ``mu.w - (risk_aversion / 2) w'Sigma w`` on
    annualised log-return estimates (``risk_aversion = 1`` is the full-Kelly growth
    optimum); the selection step picks exactly ``budget`` assets, the weighting step
    spreads 100 % over them within ``[min_weight, max_weight]``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assets: tuple[str, ...] = DEFAULT_ASSETS
    budget: int = Field(3, ge=1, description="number of assets to hold (K)")
    risk_aversion: float = Field(1.0, gt=0.0, description="lambda of the mean-variance utility")
    min_weight: float = Field(0.05, ge=0.0, le=1.0, description="lower bound of a held weight")
    max_weight: float = Field(1.0, gt=0.0, le=1.0, description="upper bound of a held weight")
    timeframe: str = Field("1d", description="bar size the returns are computed on")
    lookback: int | None = Field(
        None, ge=30, description="use only the last N common bars (default: all)"
    )
    shrinkage: Shrinkage = "constant-correlation"
    weighting: Weighting = "mean-variance"
    kelly_fraction: float = Field(0.5, gt=0.0, le=1.0, description="fractional Kelly multiplier")
    kelly_cap: float = Field(0.5, gt=0.0, le=1.0, description="cap of one Kelly weight")

    solver: Solver = "auto"
    exact_method: Literal["auto", "exhaustive", "highs"] = "auto"
    exhaustive_limit: int = Field(
        20, ge=1, le=26, description="largest n the exhaustive search handles (else HiGHS)"
    )
    layers: int = Field(2, ge=1, le=10, description="QAOA p")
    vqe_reps: int = Field(2, ge=1, le=10, description="entangling blocks of the VQE ansatz")
    shots: int | None = Field(
        None, ge=1, description="None: exact statevector; else shot-based Sampler V2"
    )
    readout_shots: int = Field(1024, ge=1, description="final measurements that pick the answer")
    cvar_alpha: float = Field(1.0, gt=0.0, le=1.0, description="CVaR tail; 1.0 = expectation")
    warm_start: bool = True
    warm_start_epsilon: float = Field(0.25, ge=0.0, lt=0.5, description="Egger et al. epsilon")
    maxiter: int = Field(200, ge=1, description="COBYLA iterations per quantum solve")
    seed: int = 7
    deadline_s: float | None = Field(60.0, gt=0.0, description="quantum wall-clock budget")
    gap_tolerance: float = Field(
        1e-6, ge=0.0, description="relative gap above which the quantum answer is rejected"
    )
    device: Device = "CPU"

    @model_validator(mode="after")
    def _check(self) -> OptimiserConfig:
        assets = tuple(a.strip().upper() for a in self.assets)
        if not assets or any(not a for a in assets):
            raise ValueError("assets: give at least one non-empty asset name")
        if len(set(assets)) != len(assets):
            raise ValueError(f"assets: duplicates in {', '.join(assets)}")
        object.__setattr__(self, "assets", assets)
        n = len(assets)
        if self.budget > n:
            raise ValueError(f"budget {self.budget} exceeds the {n} assets given")
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} > max_weight {self.max_weight}")
        if self.budget * self.max_weight < 1.0 - 1e-12:
            raise ValueError(
                f"infeasible bounds: {self.budget} assets x max_weight {self.max_weight} < 1"
            )
        if self.budget * self.min_weight > 1.0 + 1e-12:
            raise ValueError(
                f"infeasible bounds: {self.budget} assets x min_weight {self.min_weight} > 1"
            )
        return self
