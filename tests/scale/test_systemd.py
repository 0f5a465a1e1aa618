"""The service files in deploy/systemd pass ``systemd-analyze verify``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool

pytestmark = pytest.mark.system

UNITS = REPO / "deploy" / "systemd"


def _installed_copy(tmp_path: Path) -> list[Path]:
    """The units as installed here: ExecStart paths point at this checkout's voicegw (verify
    checks that every command exists)."""
    voicegw = Path(sys.executable).with_name("voicegw")
    kamailio = shutil.which("kamailio") or "/usr/sbin/kamailio"
    copies = []
    for unit in sorted(UNITS.glob("*.service")):
        text = unit.read_text()
        text = text.replace("/opt/voicegw/.venv/bin/voicegw", str(voicegw))
        text = text.replace("WorkingDirectory=/opt/voicegw", f"WorkingDirectory={REPO}")
        text = text.replace("/usr/sbin/kamailio", kamailio)
        copy = tmp_path / unit.name
        copy.write_text(text)
        copies.append(copy)
    return copies


def test_service_files_verify_cleanly(tmp_path: Path) -> None:
    """systemd-analyze verify reports nothing for the gateway and Kamailio units."""
    tool = require_tool("systemd-analyze")
    units = _installed_copy(tmp_path)
    assert [u.name for u in units] == ["voicegw-kamailio.service", "voicegw.service"]
    done = subprocess.run(
        [tool, "verify", *map(str, units)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    mentions = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert mentions == [], done.stderr


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    """The check has teeth: a misspelt directive in a copy is reported."""
    tool = require_tool("systemd-analyze")
    unit = _installed_copy(tmp_path)[1]
    unit.write_text(unit.read_text().replace("KillMode=mixed", "KilMode=mixed"))
    done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert "Unknown key" in done.stderr


def test_the_gateway_unit_stops_through_the_supervisor() -> None:
    """SIGTERM goes to the supervisor only (it drains the workers), with time to drain."""
    text = (UNITS / "voicegw.service").read_text()
    assert "KillMode=mixed" in text
    assert "KillSignal=SIGTERM" in text
    assert "ExecStart=/opt/voicegw/.venv/bin/voicegw --log-format json serve" in text
    assert "EnvironmentFile=/etc/voicegw/voicegw.env" in text
