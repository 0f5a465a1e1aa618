"""PjsuaThread: the endpoint's threads, idle cost, prompt stop and safe object lifetimes.

Runs in a child process: one pjsua2 endpoint per process, and this one must not share the
test runner's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from gateway.adapters.sip.endpoint import EndpointSettings, endpoint_config
from tests.conftest import REPO


def _child(module: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``tests.adapters.sip.<module>`` (one endpoint per process); it and its JSON line."""
    proc = subprocess.run(
        [sys.executable, "-m", f"tests.adapters.sip.{module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("{"))
    return proc, json.loads(line)


def test_endpoint_thread_model_idle_cost_and_stop() -> None:
    """Commands run on pjsua-cmd; idle, no polling thread but ours; stop cuts a 5 s poll short.

    Idle, the process wakes about once a second (its 3 s sleep, the 5 s poll): the bound of 10
    wake-ups a second leaves room for a loaded machine but not for a 10 ms poller (100) or an
    idle media clock (50). Its idle CPU, which depends on the host, is bench/media.py's.

    An object still referenced when the endpoint is destroyed is disowned (no abort at exit).
    The asyncio thread, where such a reference may be dropped, is registered with pjlib.
    """
    proc, result = _child("endpoint_child")
    assert result["cmd_thread"].startswith("pjsua-cmd")
    assert result["registered"] is True
    # start() ran in a worker thread; register_thread() then covers the asyncio thread
    assert (result["loop_registered_before"], result["loop_registered"]) == (False, True)
    assert result["codecs"] == ["PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"]
    assert result["idle_wakeups_per_s"] <= 10, result
    assert "clock" not in result["threads"]  # no media clock without calls
    assert "media" not in result["threads"]  # no pjmedia worker polling every 10 ms
    assert result["stop_s"] < 1.0, result  # the wake, not the 5 s poll timeout
    assert result["kept_owned"] is False
    assert "sip_object_outlived_endpoint" in proc.stdout  # structlog defaults to stdout


def test_endpoint_config_is_the_measured_model() -> None:
    """No pjsua worker threads, media on the SIP ioqueue, an 8 kHz bridge, no auto-close."""
    cfg = endpoint_config(EndpointSettings(max_calls=3))
    ua, med = cfg.uaConfig, cfg.medConfig
    assert (ua.threadCnt, ua.mainThreadOnly, ua.maxCalls) == (0, False, 3)
    assert (med.hasIoqueue, med.threadCnt) == (False, 0)
    assert (med.clockRate, med.sndClockRate, med.audioFramePtime) == (8000, 8000, 20)
    assert (med.noVad, med.ecTailLen, med.sndAutoCloseTime) == (True, 0, -1)


def test_a_slow_command_does_not_stall_the_poll_thread() -> None:
    """While a command holds the call slots for 2 s, an object due for burial waits for a later
    poll: SIP (and, on the same thread, RTP) keeps being served. Blocking there held a second
    OPTIONS for the rest of the command (1.7 s)."""
    _proc, result = _child("bury_child")
    assert all(s is not None and s < 0.5 for s in result["answered_s"]), result
