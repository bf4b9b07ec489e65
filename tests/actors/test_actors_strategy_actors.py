"""A session asks a strategy other than the agent graph in its driver: it starts no
agent actors and no decision-graph actor, and the registry finds it without one."""

from __future__ import annotations

import pytest

from actors import options
from actors.registry import find_session
from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.graph_agents import graph_agents


@pytest.mark.slow
def test_a_sma_cross_session_runs_without_agent_or_graph_actors(ray_cluster) -> None:
    settings = Settings()
    request = PaperRequest(
        start=6_050,
        bars=12,
        session_id="no-graph",
        persist=False,
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    system = start_system(settings, request)
    try:
        assert system.agents == {} and system.graph is None
        names = [
            options.DECISION_GRAPH.options("no-graph")["name"],
            *(
                options.AGENT.options(f"no-graph:{a.name}")["name"]
                for a in graph_agents(settings.graph)
            ),
        ]
        for name in names:
            with pytest.raises(ValueError):
                ray_cluster.get_actor(name, namespace=options.NAMESPACE)
        reports = run_paper(system, request)
        assert len(reports) == 12
        assert any(r.fills for r in reports)  # it traded, deciding in the driver
        handles = find_session("no-graph")
        assert handles.decision_graph is None and handles.risk is not None
    finally:
        system.shutdown()
