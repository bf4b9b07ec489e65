"""The verdict on a pip-audit JSON report (``pip-audit --format json --output FILE``).

Fails (exit 1) on a known vulnerability, or when pip-audit itself failed. pip-audit
prints "No known vulnerabilities found" and exits 0 even when no vulnerability service
answered and every package was skipped: ``--require-audited`` (CI) fails that case too;
without it (``.ci/run`` on a machine without network) it is reported and passes.

    python scripts/pip_audit_gate.py REPORT [--pip-audit-exit N] [--require-audited]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _dependencies(report: Path) -> list[dict[str, Any]]:
    try:
        deps: list[dict[str, Any]] = json.loads(report.read_text()).get("dependencies", [])
    except (OSError, ValueError):
        return []
    return deps


def verdict(deps: list[dict[str, Any]], pip_audit_exit: int, require_audited: bool) -> int:
    """Print what was found; the exit status."""
    audited = [d for d in deps if "skip_reason" not in d]
    vulns = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
    for name, version, vuln in vulns:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no release"
        print(f"pip-audit: {name} {version}: {vuln['id']} (fixed in {fixes})")
    if vulns:
        return 1
    if not audited:
        print(
            f"pip-audit: 0 of {len(deps)} packages audited (exit {pip_audit_exit}): no "
            "vulnerability service answered; dependencies NOT audited"
        )
        return 1 if require_audited else 0
    print(
        f"pip-audit: {len(audited)} packages audited, no known vulnerabilities "
        f"({len(deps) - len(audited)} not found on the index)"
    )
    return 0 if pip_audit_exit == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--pip-audit-exit", type=int, default=0, help="pip-audit's exit status")
    parser.add_argument(
        "--require-audited", action="store_true", help="fail when no package was audited"
    )
    args = parser.parse_args(argv)
    return verdict(_dependencies(args.report), args.pip_audit_exit, args.require_audited)


if __name__ == "__main__":
    sys.exit(main())
