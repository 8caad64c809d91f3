"""Packages whose `__init__` imports far more than a function uses, made lazy.

Powertools' `event_handler` package imports every resolver it has (AppSync, Bedrock, VPC
Lattice, ... and asyncio) for the one class the `api` function uses, and its
`utilities.data_classes` package imports some forty event classes, of which the REST
resolver needs seven and the stream's BatchProcessor three. Each costs 10-30 ms of every
cold start (bench/cold_start.py).

`lazy_packages` registers such a package without running its `__init__`. The names that
`__init__` re-exports with `from .sub import Name` resolve on first use, by importing
that one submodule: `from aws_lambda_powertools.utilities.data_classes import ALBEvent`
still works, and loads `alb_event` alone. Submodules import as usual. The export table is
read from the package's own `__init__` source, so it follows the installed version. A name
the `__init__` defines itself (not re-exported) runs the real `__init__` then, once.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types


class LazyPackage(types.ModuleType):
    """A package module whose re-exported names load on first access."""

    _lazy_exports: dict[str, tuple[str, str]]

    def __getattr__(self, name: str):
        exports = self.__dict__.get("_lazy_exports", {})
        if name in exports:
            module, attr = exports[name]
            value = getattr(importlib.import_module(module), attr)
        elif name in self.__dict__.get("_lazy_defines", ()):
            _run_init(self)
            return getattr(self, name)
        else:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        types.ModuleType.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value) -> None:
        # Importing a submodule binds it on its package. When `__init__` re-exports a
        # name of the same spelling (`from .event_source import event_source`), the
        # package's attribute is that name, as the real `__init__` leaves it.
        target = self.__dict__.get("_lazy_exports", {}).get(name)
        if target is not None and isinstance(value, types.ModuleType) and value.__name__ == target[0]:
            value = getattr(value, target[1])
        types.ModuleType.__setattr__(self, name, value)


def lazy_packages(*names: str) -> None:
    """Register each package lazily, unless it is already imported (then nothing changes)."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} is not an installed package")
        module = importlib.util.module_from_spec(spec)
        exports, defines = _read_init(name, spec.origin)
        module.__class__ = LazyPackage
        module.__dict__.update(_lazy_exports=exports, _lazy_defines=defines)
        sys.modules[name] = module


def _read_init(package: str, origin: str) -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
    """`from .sub import Name` re-exports of the package's `__init__`, and the names it
    binds any other way (assignments, functions, plain imports)."""
    with open(origin, "rb") as f:
        tree = ast.parse(f.read(), origin)
    exports: dict[str, tuple[str, str]] = {}
    defines: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.names[0].name != "*":
            if node.level == 1:
                source = f"{package}.{node.module}"
            elif node.level == 0 and node.module.startswith(package + "."):
                source = node.module
            else:
                defines.update(alias.asname or alias.name for alias in node.names)
                continue
            for alias in node.names:
                exports[alias.asname or alias.name] = (source, alias.name)
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    defines.add(child.id)
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    defines.add(child.name)
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    defines.update((a.asname or a.name).split(".")[0] for a in child.names)
    return exports, frozenset(defines)


def _run_init(module: LazyPackage) -> None:
    """Run the package's real `__init__` in its namespace (for a name only it defines)."""
    spec = module.__spec__
    if spec is None or spec.loader is None:
        raise ImportError(f"{module.__name__} has no loader to run its __init__ with")
    module.__dict__["_lazy_defines"] = frozenset()
    spec.loader.exec_module(module)
