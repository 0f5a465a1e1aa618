"""``voicegw kamailio-config`` writes a front Kamailio accepts, for one or several machines."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.e2e.harness import REPO, VOICEGW

pytestmark = pytest.mark.system


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VOICEGW, "kamailio-config", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


def test_written_config_passes_kamailios_own_check(tmp_path: Path) -> None:
    """Two machines of three workers: six destinations, and `kamailio -c` accepts the cfg."""
    done = _run(
        "--workers", "3", "--worker-address", "10.0.0.11", "--worker-address", "10.0.0.12",
        "--address", "127.0.0.1", "--port", "5099", "--trusted", "192.0.2.0/24",
        "--out-dir", str(tmp_path), "--ctl-socket", str(tmp_path / "ctl"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = (tmp_path / "dispatcher.list").read_text().splitlines()
    assert [line.split()[1] for line in listed if not line.startswith("#")] == [
        "sip:10.0.0.11:5070", "sip:10.0.0.11:5071", "sip:10.0.0.11:5072",
        "sip:10.0.0.12:5070", "sip:10.0.0.12:5071", "sip:10.0.0.12:5072",
    ]  # fmt: skip
    config = (tmp_path / "kamailio.cfg").read_text()
    assert f'#!substdef "!DISPATCHER_LIST!{tmp_path}/dispatcher.list!g"' in config
    assert '#!substdef "!TRUSTED_NETS!192.0.2.0/24!g"' in config
    check = subprocess.run(
        [require_tool("kamailio"), "-c", "-f", str(tmp_path / "kamailio.cfg")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr[-2000:]


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    """No workers, or more calls per worker than pjsua2 allows: refused, nothing written."""
    assert _run("--workers", "0", "--out-dir", str(tmp_path)).returncode == 2
    assert _run("--workers", "2", "--max-calls", "5", "--out-dir", str(tmp_path)).returncode == 2
    assert not (tmp_path / "kamailio.cfg").exists()
