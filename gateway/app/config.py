"""Read agent-graph files and resolve the Python callables they name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.core.agents.loader import LoadedGraph, parse_graph
from gateway.core.agents.references import Loc
from gateway.errors import ConfigError, ConfigIssue

__all__ = ["load_graph_file", "resolve_callable"]


def resolve_callable(path: str) -> Callable[..., Any]:
    """Import ``package.module:function``; raise ``LookupError`` saying what is missing."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"cannot import module {module_name!r}: {exc}") from None
    target = getattr(module, attr, None)
    if target is None:
        raise LookupError(f"module {module_name!r} has no {attr!r}")
    if not callable(target):
        raise LookupError(f"{path!r} is not callable")
    return target  # type: ignore[no-any-return]


def load_graph_file(path: str | Path, *, resolve_imports: bool = True) -> LoadedGraph:
    """Read, parse and validate a graph file; optionally check its Python callables import.

    Raises :class:`ConfigError` with every problem found, each as ``FILE:LINE: message``.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(name, None, "", f"cannot read file: {exc}")]) from None
    return parse_graph(text, name, extra_checks=(import_issues,) if resolve_imports else ())


def import_issues(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Every ``python:`` tool and guardrail callable in raw graph data that does not import."""
    issues: list[tuple[Loc, str]] = []
    for loc, path in _python_refs(data):
        try:
            resolve_callable(path)
        except LookupError as exc:
            issues.append((loc, str(exc)))
    return issues


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _python_refs(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    refs: list[tuple[Loc, str]] = [
        (("tools", i, "python"), tool["python"])
        for i, tool in _dicts(data.get("tools"))
        if _is_import_path(tool.get("python"))
    ]
    for a, agent in _dicts(data.get("agents")):
        rails = agent.get("guardrails")
        for kind in ("output", "input"):
            for g, rail in _dicts(rails.get(kind) if isinstance(rails, dict) else None):
                if rail.get("type") == "python" and _is_import_path(rail.get("function")):
                    refs.append(
                        (("agents", a, "guardrails", kind, g, "function"), rail["function"])
                    )
    return refs


def _is_import_path(value: Any) -> bool:
    return isinstance(value, str) and ":" in value
