"""A port's call to an actor that does not answer in time fails as unavailable, naming both."""

from __future__ import annotations

import time
from typing import Any

import pytest

from actors.ports import ActorCallTimeout, RiskPort, call_actor
from sigmax.errors import UnavailableError


@pytest.fixture(scope="module")
def slow_risk_double(ray_cluster: Any) -> Any:
    """Test double: a real actor standing in for the risk actor, answering after 2 s."""

    class SlowRiskActorDouble:
        def pause(self, reason: str, operator: str, cause: str) -> str:
            time.sleep(2.0)
            return "paused"

    handle = ray_cluster.remote(num_cpus=0)(SlowRiskActorDouble).remote()
    yield handle
    ray_cluster.kill(handle)


def test_a_port_call_past_its_timeout_raises_unavailable(slow_risk_double: Any) -> None:
    port = RiskPort(slow_risk_double, timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(ActorCallTimeout) as timed_out:
        port.pause("slow", operator="test")
    assert time.monotonic() - started < 1.5  # it did not wait for the answer
    assert isinstance(timed_out.value, UnavailableError)
    assert (timed_out.value.actor, timed_out.value.method) == ("risk", "pause")
    assert str(timed_out.value) == "actor 'risk' did not answer 'pause' within 0.2s; try again"


def test_a_call_within_its_timeout_or_without_one_answers(slow_risk_double: Any) -> None:
    assert RiskPort(slow_risk_double, timeout_s=10).pause("slow", operator="test") == "paused"
    answer = call_actor(
        slow_risk_double, "pause", "slow", "test", "manual", actor="risk", timeout_s=None
    )
    assert answer == "paused"
