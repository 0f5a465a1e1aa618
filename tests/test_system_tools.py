"""The Debian tools later tests drive (SIPp, Kamailio, espeak-ng, sox) are installed and run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

pytestmark = pytest.mark.system


@pytest.mark.parametrize(
    ("tool", "args", "expect"),
    [
        ("sipp", ["-v"], "SIPp v3"),
        ("kamailio", ["-v"], "kamailio 5"),
        ("espeak-ng", ["--version"], "eSpeak NG"),
        ("sox", ["--version"], "SoX v"),
    ],
)
def test_tool_runs_and_reports_version(tool: str, args: list[str], expect: str) -> None:
    """Each tool starts and prints the version family the project is written against."""
    path = require_tool(tool)
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=20, check=False)
    assert expect in done.stdout + done.stderr


def test_espeak_renders_speech_to_wav(tmp_path: Path) -> None:
    """espeak-ng writes a non-trivial WAV file: the demo's caller voice depends on it."""
    path = require_tool("espeak-ng")
    out = tmp_path / "hello.wav"
    subprocess.run([path, "-w", str(out), "What are your opening hours?"], check=True, timeout=20)
    data = out.read_bytes()
    assert data[:4] == b"RIFF"
    assert len(data) > 10_000
