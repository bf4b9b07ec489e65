"""The result of one optimisation: weights, who won and why, and the quantum run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sigmax.portfolio.config import OptimiserConfig


class QuantumInfo(BaseModel):
    """One QAOA/VQE solve: circuit, resources, and how close it came."""

    model_config = ConfigDict(frozen=True)

    method: str
    selection: list[str] | None = Field(description="assets of the best feasible readout")
    cost: float | None
    gap: float | None = Field(description="cost - exact optimum (objective units)")
    relative_gap: float | None = Field(description="gap / (worst feasible - optimum)")
    approximation_ratio: float | None = Field(description="1 - relative_gap")
    p_optimum: float | None
    p_feasible: float
    most_likely: str
    qubits: int
    depth: int
    parameters: int
    shots: int | None = Field(description="None: exact statevector evaluation")
    readout_shots: int
    iterations: int
    final_objective: float
    runtime_s: float
    cvar_alpha: float
    warm_start: bool
    layers_or_reps: int
    penalty: float
    device: str
    qasm: str
    drawing: str
    notes: list[str] = []


class Alternative(BaseModel):
    """One K-subset held equally: its selection cost, annual return and volatility."""

    model_config = ConfigDict(frozen=True)

    assets: list[str]
    cost: float
    expected_return: float
    volatility: float


class OptimisationResult(BaseModel):
    """Everything the CLI, the report and the API show about one optimisation."""

    model_config = ConfigDict(frozen=True)

    config: OptimiserConfig
    assets: list[str]
    weights: dict[str, float]
    cash: float = Field(description="share left uninvested (Kelly weighting only)")
    selection: list[str]
    solver: str = Field(description="who produced the selection: classical-exhaustive, ...")
    requested_solver: str
    reason: str = Field(description="why that solver's answer was used")
    weighting: str = Field(description="mean-variance QP or kelly (and why)")
    selection_cost: float
    exact_cost: float
    worst_cost: float
    gap: float
    expected_return: float
    volatility: float
    utility: float
    exact_method: str
    exact_runtime_s: float
    quantum: QuantumInfo | None = None
    alternatives: list[Alternative] = []
    estimate: dict[str, Any] = {}
    data: dict[str, Any] = {}
    runtime_s: float

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, text: str) -> OptimisationResult:
        return cls.model_validate(json.loads(text))
