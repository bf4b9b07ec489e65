"""The risk engine as a Ray actor: the single writer of limits and trading state."""

from __future__ import annotations

from typing import Any

import ray

from sigmax.model import Decision, Fill, OrderRequest, RiskVerdict
from sigmax.risk import RiskConfig, RiskContext, RiskEngine


@ray.remote
class RiskActor:
    """Every order of the system passes ``check`` here; pause/kill state lives here."""

    def __init__(self, config_json: str, snapshot: dict[str, Any] | None = None) -> None:
        self.engine = RiskEngine(RiskConfig.model_validate_json(config_json))
        if snapshot:
            self.engine.restore(snapshot)

    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        return self.engine.check(order, ctx)

    def on_equity(self, ts_ns: int, equity: float) -> None:
        self.engine.on_equity(ts_ns, equity)

    def on_fill(self, fill: Fill) -> None:
        self.engine.on_fill(fill)

    def record_decision(self, decision: Decision) -> None:
        self.engine.record_decision(decision)

    def pause(self, reason: str, operator: str = "operator") -> str:
        self.engine.pause(reason, operator=operator)
        return self.state()

    def resume(self, operator: str, force: bool = False) -> str:
        self.engine.resume(operator, force=force)
        return self.state()

    def kill(self, reason: str, operator: str = "operator") -> str:
        self.engine.kill(reason, operator=operator)
        return self.state()

    def update_limits(self, changes: dict[str, Any], operator: str = "operator") -> str:
        return self.engine.update_limits(operator=operator, **changes).model_dump_json()

    def state(self) -> str:
        return str(self.engine.state.value)

    def status(self) -> dict[str, Any]:
        return {"state": self.state(), "reason": self.engine.state_reason}

    def snapshot(self) -> dict[str, Any]:
        return self.engine.snapshot()

    def audit_records(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            {"seq": r.seq, "ts": r.ts, "kind": r.kind, "payload": r.payload, "hash": r.hash}
            for r in self.engine.audit.records(kind)
        ]
