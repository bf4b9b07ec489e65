"""The import contracts in ``.importlinter`` (CONTRIBUTING.md, "Layering") hold, and they
catch an upward import: entry points -> serve_app -> actors -> the sigmax library, no
cycles inside sigmax, no Ray in the library."""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
PACKAGES = ("sigmax", "actors", "serve_app")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run on the packages under ``root`` with its ``.importlinter``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_sources(target: Path) -> None:
    """The three packages' Python files and the contracts, copied under ``target``."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n == "__pycache__" or not (Path(folder, n).is_dir() or n.endswith(".py"))
        ]

    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=not_python)
    shutil.copy(CONFIG, target / ".importlinter")


def test_the_import_contracts_hold() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract", "named"),
    [
        ("sigmax/risk/x.py", "import actors\n", "Four layers", "sigmax.risk.x -> actors"),
        ("sigmax/data/x.py", "from serve_app import api\n", "Four layers", "sigmax.data.x ->"),
        (
            "sigmax/storage/x.py",
            "from sigmax.cli import app\n",
            "the entry points sit above",
            "sigmax.storage.x -> sigmax.cli",
        ),
        ("actors/x.py", "import serve_app\n", "Four layers", "actors.x -> serve_app"),
        ("sigmax/model_extra.py", "", "every sigmax module is declared", "- sigmax.model_extra"),
        ("sigmax/execution/x.py", "import sigmax.trading\n", "No cycles", ".execution -> .trading"),
        ("sigmax/trading/x.py", "import ray\n", "does not import Ray", "sigmax.trading.x -> ray"),
    ],
)
def test_an_upward_import_breaks_the_contracts(
    tmp_path: Path, module: str, source: str, contract: str, named: str
) -> None:
    copy_sources(tmp_path)
    (tmp_path / module).write_text(source)
    run = lint_imports(tmp_path)
    assert run.returncode != 0, run.stdout
    broken = " ".join(run.stdout.split("Broken contracts", 1)[-1].split())  # unwrapped
    assert contract in broken, run.stdout
    assert named in broken, run.stdout


def _library_lists(parser: configparser.ConfigParser) -> dict[str, set[str]]:
    layers = parser["importlinter:contract:layers"]["layers"].split("\n")
    container = parser["importlinter:contract:library-under-entry-points"]["layers"]
    no_ray = parser["importlinter:contract:no-ray-in-library"]["source_modules"]
    return {
        "layers": {m.strip() for m in layers[-1].split(":")},
        "library-under-entry-points": {
            f"sigmax.{m.strip()}" for m in container.split("\n")[-1].split(":")
        },
        "no-ray-in-library": set(no_ray.split()),
    }


def test_the_three_contracts_name_the_same_library_modules() -> None:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    lists = _library_lists(parser)
    assert lists["layers"] == lists["library-under-entry-points"] == lists["no-ray-in-library"]
    assert not lists["layers"] & {"sigmax.cli", "sigmax.jobs"}


def _imports_ray(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "ray" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ray"


def _module_level_ray_imports(path: Path) -> list[int]:
    """Lines importing ray outside any function body (so at import time)."""
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if _imports_ray(child):
                found.append(child.lineno)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_sigmax_never_imports_ray_at_module_level() -> None:
    offenders = {
        str(p.relative_to(ROOT)): lines
        for p in sorted((ROOT / "sigmax").rglob("*.py"))
        if (lines := _module_level_ray_imports(p))
    }
    assert offenders == {}
