"""``voicegw emulator`` as a real subprocess: serves a session, stops cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

from gateway.emulator.cli import add_emulator_command, server_from_args
from tests.emulator.client import connect

VOICEGW = str(Path(sys.executable).with_name("voicegw"))


async def _listening_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    assert line.startswith("voicegw emulator listening on ws://127.0.0.1:"), line
    return line.rsplit(" ", 1)[1].strip()


async def test_the_emulator_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    """Start on port 0 with a scenario, hold a session, SIGTERM: exit 0 and logs as JSON."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text('version: 1\ngreeting: "Hello from the command line."\n')
    proc = await asyncio.create_subprocess_exec(
        VOICEGW,
        "--log-format=json",
        "emulator",
        "--port=0",
        f"--scenario={scenario}",
        "--latency-ms=0",
        "--gap-ms=1",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = await _listening_url(proc)
        async with connect(url) as client:
            await client.send({"type": "response.create"})
            events = await client.until("response.done")
        spoken = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
        assert spoken["transcript"] == "Hello from the command line."
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stderr is not None
    logs = [json.loads(line) for line in (await proc.stderr.read()).decode().splitlines()]
    assert logs[0]["event"] == "emulator_started"
    assert "session_opened" in [entry["event"] for entry in logs]
    assert logs[-1]["event"] == "emulator_stopped"


def test_an_invalid_scenario_exits_2_with_located_errors(tmp_path: Path) -> None:
    """A bad scenario file: exit status 2 and FILE:LINE: path: message on stderr."""
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("version: 1\nrules:\n  - say: hello\n")
    done = subprocess.run(
        [VOICEGW, "emulator", f"--scenario={scenario}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert f"{scenario}:3: rules[0]: a rule needs exactly one trigger" in done.stderr


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulator_command(parser.add_subparsers())
    return parser.parse_args(["emulator", *argv])


def test_fault_flags_override_the_scenario_faults(tmp_path: Path) -> None:
    """Each fault flag lands in the server's faults; the scenario's others are kept."""
    scenario = tmp_path / "faults.yaml"
    scenario.write_text("faults: {response_delay_ms: 50, drop_after_s: 9}\n")
    server = server_from_args(
        _args(
            f"--scenario={scenario}",
            "--drop-after-s=5",
            "--error-after-s=1",
            "--error-after-s=2",
            "--error-code=boom",
            "--refuse=1",
            "--refuse-status=502",
            "--stall-after-ms=300",
            "--stall-for-ms=100",
        )
    )
    faults = server.faults
    assert faults.response_delay_ms == 50 and faults.drop_after_s == 5
    assert [(e.after_s, e.code) for e in faults.errors] == [(1, "boom"), (2, "boom")]
    assert (faults.refuse_connections, faults.refuse_status) == (1, 502)
    assert (faults.stall_after_ms, faults.stall_for_ms) == (300, 100)


@pytest.mark.parametrize(
    ("argv", "negotiated"), [((), ["permessage-deflate"]), (("--ws-compression=none",), [])]
)
async def test_ws_compression_flag(argv: tuple[str, ...], negotiated: list[str]) -> None:
    """By default a client's permessage-deflate offer is accepted; --ws-compression=none
    declines it."""
    server = server_from_args(_args("--port=0", *argv))
    async with server:
        headers = {"Authorization": "Bearer k"}
        async with websockets.connect(server.url + "?model=m", additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            assert [ext.name for ext in ws.protocol.extensions] == negotiated


def test_defaults_without_flags() -> None:
    """No flags: the built-in scenario, no faults, port 8765 on loopback."""
    server = server_from_args(_args())
    assert server.scenario.rules == () and server.faults.errors == ()
    assert server.faults.drop_after_s is None
