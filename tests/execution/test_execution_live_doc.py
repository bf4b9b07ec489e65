"""docs/LIVE.md's example runs as written against the Binance spot simulator (a test
double); its placeholders (BASE_URL, ENVIRONMENT, PRICE, NOW) are given here."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.doubles.binance_spot_simulator import API_KEY, SECRET, BinanceSpotSimulatorDouble

LIVE = Path(__file__).resolve().parents[2] / "docs" / "LIVE.md"


def test_the_live_page_example_runs(sim: BinanceSpotSimulatorDouble) -> None:
    [block] = re.findall(r"^```python\n(.*?)^```", LIVE.read_text(encoding="utf-8"), re.S | re.M)
    names = {
        "BASE_URL": sim.base_url,
        "ENVIRONMENT": {
            "SIGMAX_EXCHANGE_BINANCE_API_KEY": API_KEY,
            "SIGMAX_EXCHANGE_BINANCE_SECRET": SECRET,
        },
        "PRICE": sim.price,
        "NOW": datetime(2024, 1, 1, tzinfo=UTC),
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(LIVE), "exec"), names)  # noqa: S102 - our own docs page
    printed = out.getvalue().splitlines()
    expected = [line.split("# ")[1] for line in block.splitlines() if "print(" in line]
    assert printed == expected
    assert len(sim.orders_with_client_id("doc-1")) == 1
