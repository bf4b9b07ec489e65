"""pip-audit's verdict: a known vulnerability fails; so does auditing nothing in CI
(pip-audit itself says "No known vulnerabilities found" and exits 0 when no
vulnerability service answered and every package was skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "scripts" / "pip_audit_gate.py"


def _gate(
    tmp_path: Path, deps: list[dict[str, Any]], *flags: str
) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": deps, "fixes": []}))
    return subprocess.run(
        [sys.executable, str(GATE), str(report), *flags],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


SKIPPED = {"name": "httpx", "version": "0.28.1", "skip_reason": "Dependency not found on PyPI"}
CLEAN = {"name": "ray", "version": "2.60.0", "vulns": []}
VULNERABLE = {
    "name": "jinja2", "version": "3.1.3",
    "vulns": [{"id": "GHSA-h75v-3vvj-5mfj", "fix_versions": ["3.1.4"]}],
}  # fmt: skip


def test_nothing_audited_fails_when_audit_is_required(tmp_path: Path) -> None:
    required = _gate(tmp_path, [SKIPPED, SKIPPED], "--require-audited")
    assert required.returncode == 1
    assert "0 of 2 packages audited" in required.stdout
    local = _gate(tmp_path, [SKIPPED, SKIPPED])  # .ci/run offline: reported, not failed
    assert local.returncode == 0
    assert "NOT audited" in local.stdout


def test_audited_packages_pass_and_a_vulnerability_fails(tmp_path: Path) -> None:
    clean = _gate(tmp_path, [CLEAN, SKIPPED], "--require-audited")
    assert clean.returncode == 0, clean.stdout
    assert "1 packages audited" in clean.stdout
    vulnerable = _gate(tmp_path, [CLEAN, VULNERABLE], "--require-audited")
    assert vulnerable.returncode == 1
    assert "jinja2 3.1.3: GHSA-h75v-3vvj-5mfj (fixed in 3.1.4)" in vulnerable.stdout


def test_pip_audit_exit_code_counts(tmp_path: Path) -> None:
    assert _gate(tmp_path, [CLEAN], "--pip-audit-exit", "1").returncode == 1


def test_the_ci_pip_audit_job_requires_packages_to_be_audited() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["pip-audit"]["steps"])
    assert "--format json" in script
    assert "scripts/pip_audit_gate.py" in script and "--require-audited" in script
