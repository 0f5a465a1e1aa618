"""gateway.core stays sans-I/O: no module in it imports I/O, threads, clocks or adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.core

FORBIDDEN = {
    "asyncio",
    "socket",
    "selectors",
    "ssl",
    "select",
    "threading",
    "_thread",
    "multiprocessing",
    "subprocess",
    "time",
    "http.client",
    "http.server",
    "urllib.request",
    "pjsua2",
    "websockets",
    "h11",
    "httpx",
    "aiohttp",
    "requests",
    "signal",
}
"""Modules (and their submodules) the core may not import directly. Pure helpers such as
``urllib.parse`` are fine, and the stdlib may use anything underneath."""

ALLOWED_GATEWAY = ("gateway.core", "gateway.errors")

CORE = Path(gateway.core.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(root: Path) -> list[str]:
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        for line, module in _imports(path):
            io = any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
            outside_core = module.startswith("gateway") and not module.startswith(ALLOWED_GATEWAY)
            if io or outside_core:
                bad.append(f"{path.relative_to(root.parent)}:{line}: imports {module}")
    return bad


def test_core_imports_no_io_modules() -> None:
    """No file under gateway/core imports an I/O, threading or clock module, or an adapter."""
    assert _violations(CORE) == []


def test_the_check_finds_a_violation(tmp_path: Path) -> None:
    """The scanner flags an I/O import and an adapter import, and lets json through."""
    offender = tmp_path / "core" / "bad.py"
    offender.parent.mkdir()
    offender.write_text(
        "import asyncio\nfrom gateway.adapters import sip\nimport json\n"
        "from urllib.parse import quote\nimport urllib.request\n"
    )
    assert _violations(offender.parent) == [
        "core/bad.py:1: imports asyncio",
        "core/bad.py:2: imports gateway.adapters",
        "core/bad.py:5: imports urllib.request",
    ]
