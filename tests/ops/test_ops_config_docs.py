"""docs/CONFIGURATION.md is generated from ``Settings`` and must be kept up to date."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.script_module import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_script(ROOT / "scripts" / "gen_config_docs.py", "gen_config_docs")


def test_configuration_md_is_up_to_date(gen: ModuleType) -> None:
    committed = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert committed == gen.render(), (
        "docs/CONFIGURATION.md is out of date: run .venv/bin/python scripts/gen_config_docs.py"
    )


def test_render_ignores_the_environment(gen: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = gen.render()
    monkeypatch.setenv("SIGMAX_HOME", "/elsewhere")
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", "postgresql://u:p@db/x")
    monkeypatch.setenv("SIGMAX_REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example:8200")
    assert gen.render() == baseline


def test_every_field_is_documented(gen: ModuleType) -> None:
    from sigmax.config import Settings

    text = gen.render()
    for name in (
        "SIGMAX_RISK__MAX_DRAWDOWN_PCT",
        "SIGMAX_GRAPH__TREND__FAST_PERIOD",
        "SIGMAX_PAPER__TAKER_FEE_BPS",
        "SIGMAX_BACKTEST__CASH",
        "SIGMAX_LOG_LEVEL",
        "SIGMAX_POSTGRES_DSN",
        "POSTGRES_POOL_SIZE",
        "SIGMAX_REDIS_URL",
        "SIGMAX_CLICKHOUSE_URL",
        "SIGMAX_VAULT_ADDR",
        "BAO_TOKEN",
        "SIGMAX_NATS_URL",
        "SIGMAX_API_RATE_TRADING",
    ):
        assert f"`{name}`" in text, name
    rows = sum(1 for s in gen.collect() for _ in s.rows)
    leaves = 0

    def count(model: type) -> None:
        nonlocal leaves
        for info in model.model_fields.values():  # type: ignore[attr-defined]
            ann = info.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                count(ann)
            else:
                leaves += 1

    count(Settings)
    from serve_app.config import APIConfig

    count(APIConfig)
    assert rows == leaves
    # the paper section shows the defaults Settings builds, not the model's zeros
    assert "| `SIGMAX_PAPER__TAKER_FEE_BPS` | `Decimal` | `10` |" in text


def test_check_mode(gen: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "CONFIGURATION.md"
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0
