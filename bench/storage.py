"""Storage throughput in one run: PostgreSQL bulk inserts of fills (asyncpg COPY against
executemany) and the pool's acquire latency under 50 concurrent tasks, then chdb inserts
of bars and equity rows.

    .venv/bin/python bench/storage.py [--dsn postgresql://postgres@127.0.0.1:5432/test]
                                      [--rows 50000]

The two halves are bench/storage_pg.py and bench/storage_ch.py (each runs alone too).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import storage_ch  # noqa: E402
import storage_pg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    print("== PostgreSQL ==")
    asyncio.run(storage_pg.main(args.dsn, args.rows))
    print("== ClickHouse (embedded chdb) ==")
    storage_ch.main()


if __name__ == "__main__":
    main()
