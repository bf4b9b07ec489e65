"""Finding a strategy class from its spec: a built-in name, ``PATH.py:ClassName`` or
``module:ClassName``.

Everything that runs a strategy (backtest, sweep and walk-forward workers, paper
sessions) goes through :func:`strategy_class`, so a user's strategy works wherever a
built-in one does. A spec is a plain string: a Ray worker is sent the spec and loads
the class itself.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import get_args

from sigmax.strategies.base import Strategy, StrategyError, StrategyParams, TargetUnit

SPEC_FORMS = "a built-in name, PATH.py:ClassName or module:ClassName"


def is_user_spec(spec: str) -> bool:
    """True for ``PATH.py:ClassName`` and ``module:ClassName`` (not a built-in name)."""
    return ":" in spec


def strategy_class(spec: str, builtins: dict[str, type[Strategy]]) -> type[Strategy]:
    """The strategy class ``spec`` names; ``builtins`` maps the built-in names."""
    if not is_user_spec(spec):
        if spec in builtins:
            return builtins[spec]
        raise StrategyError(
            f"unknown strategy {spec!r}; choose one of {', '.join(sorted(builtins))}, "
            "or a user strategy as PATH.py:ClassName or module:ClassName"
        )
    where, _, class_name = spec.rpartition(":")
    if not where or not class_name.isidentifier():
        raise StrategyError(f"strategy {spec!r}: expected {SPEC_FORMS}")
    module = _load_file(Path(where)) if where.endswith(".py") else _import_module(where)
    return _checked_class(spec, getattr(module, class_name, None), class_name, where)


def _load_file(path: Path) -> ModuleType:
    """Run the strategy file as a module of its own (again on every load, so an edited
    file is picked up), registered in ``sys.modules`` as pydantic models need."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise StrategyError(f"strategy file {path} not found")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"sigmax_user_strategy_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"strategy file {path}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise StrategyError(f"strategy file {path}: {type(exc).__name__}: {exc}") from exc
    return module


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise StrategyError(f"strategy module {name!r} not found ({exc})") from exc
    except Exception as exc:
        raise StrategyError(f"strategy module {name}: {type(exc).__name__}: {exc}") from exc


def _checked_class(spec: str, found: object, class_name: str, where: str) -> type[Strategy]:
    """``found`` if it is a usable Strategy class, else a StrategyError saying why not."""
    if found is None:
        raise StrategyError(f"strategy {spec!r}: {where} has no class {class_name}")
    if not (inspect.isclass(found) and issubclass(found, Strategy)):
        raise StrategyError(
            f"strategy {spec!r}: {class_name} is not a subclass of sigmax.strategies.Strategy"
        )
    name = getattr(found, "name", None)
    if not isinstance(name, str) or not name:
        raise StrategyError(f"strategy {spec!r}: {class_name} needs a class attribute name")
    units = get_args(TargetUnit)
    if getattr(found, "unit", None) not in units:
        raise StrategyError(
            f"strategy {spec!r}: {class_name}.unit must be one of {', '.join(units)}, "
            f"got {getattr(found, 'unit', None)!r}"
        )
    if not (inspect.isclass(found.Params) and issubclass(found.Params, StrategyParams)):
        raise StrategyError(
            f"strategy {spec!r}: {class_name}.Params must subclass sigmax.strategies.StrategyParams"
        )
    if inspect.isabstract(found):
        missing = ", ".join(sorted(found.__abstractmethods__))
        raise StrategyError(f"strategy {spec!r}: {class_name} does not implement {missing}")
    return found
