"""An empty or 'none' cadence in the environment means "decide every bar"."""

from __future__ import annotations

import pytest

from sigmax.agents.config import GraphConfig
from sigmax.config import Settings


@pytest.mark.parametrize("raw", ["", "none", "None", " NONE "])
def test_empty_or_none_cadence_means_every_bar(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_GRAPH__CADENCE", raw)
    assert Settings().graph.cadence is None
    assert GraphConfig(cadence=raw).cadence is None


def test_a_cadence_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_GRAPH__CADENCE", "4h")
    assert Settings().graph.cadence == "4h"


def test_a_bad_cadence_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="graph cadence"):
        GraphConfig(cadence="4 hours")
