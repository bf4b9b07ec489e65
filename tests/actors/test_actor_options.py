"""Every actor's and task's name, placement and restart policy comes from actors/options.py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "actors" / "options.py"
POLICY_TYPES = {"Role", "TaskPolicy"}


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("actors").rglob("*.py"), *ROOT.joinpath("serve_app").rglob("*.py")]
    return [f for f in files if f != POLICY_FILE]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _inline_policies(path: Path) -> list[tuple[int, str]]:
    """Lines and callees of ``@ray.remote(num_cpus=...)``, ``X.options(name=...)`` and
    ``Role(...)`` calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        literal_keywords = [k.arg for k in node.keywords if k.arg is not None]
        remote_or_options = called == "ray.remote" or called.endswith(".options")
        if (remote_or_options and literal_keywords) or called.split(".")[-1] in POLICY_TYPES:
            found.append((node.lineno, called))
    return found


def test_no_actor_or_task_policy_outside_actors_options() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} {called}"
        for path in _sources()
        for line, called in _inline_policies(path)
    ]
    assert found == []


def test_the_scan_sees_an_inline_policy(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import ray\n"
        "@ray.remote(num_cpus=1)\n"
        "def f(): ...\n"
        "A = Role('x', num_cpus=1)\n"
        "f.options(name='x', lifetime='detached')\n"
        "f.options(**POLICY.options())\n"
    )
    assert _inline_policies(sample) == [(2, "ray.remote"), (4, "Role"), (5, "f.options")]
