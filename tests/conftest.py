"""Shared test helpers.

Tests that need a Debian tool call :func:`require_tool`: without the tool they skip, unless
``REQUIRE_SYSTEM_TOOLS=1`` (as in CI), where they fail so a missing install step cannot hide.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """Path of system tool ``name``; skip (or fail under REQUIRE_SYSTEM_TOOLS=1) if absent."""
    path = shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{name}", os.X_OK)), None
    )
    if path is None:
        message = f"system tool {name!r} is not installed (run: make system-deps)"
        if os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def repo() -> Path:
    """The repository root."""
    return REPO
