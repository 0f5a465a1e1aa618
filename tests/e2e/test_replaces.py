"""An INVITE with Replaces aimed at one of the gateway's calls (a PBX's attended transfer onto
it) is refused, since pjsua would otherwise accept it behind the application's back."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.adapters.sip.conftest import Peers
from tests.e2e.harness import stack

pytestmark = pytest.mark.system

GRAPH = """
name: replaces
session: {audio_format: audio/pcmu}
phone: {greeting: "Hello, this is the test line."}
agents: [{name: desk, instructions: "Desk."}]
routes: {default: desk}
"""


async def test_an_invite_replacing_a_gateway_call_is_refused_603(tmp_path: Path) -> None:
    """A transferor (probe X) takes a call, calls the gateway itself, then REFERs its caller to
    the gateway with Replaces naming X's gateway call. The caller's INVITE with Replaces gets
    603 (recorded, as every refused INVITE is), the transferor hears 603 in the NOTIFY, and the
    gateway's call with X goes on and is recorded like any other: no call without a handler."""
    with stack(tmp_path) as s:
        s.start_emulator('fallback: "Hi there."\n')
        gateway = s.start_gateway(GRAPH)
        group = Peers()
        try:
            x = await group.start(
                "answer", "--consult-to", s.gateway_uri, "--calls", "2", "--xfer-after", "1"
            )
            caller = await group.start(
                "call", "--to", f"sip:x@127.0.0.1:{x.port}", "--calls", "1", "--seconds", "5"
            )
            assert await caller.finish(40) == 0, caller.output()
            assert (s.ready() or {}).get("active_calls") == 1  # X's call, not replaced
            gateway.popen.send_signal(signal.SIGTERM)  # drain: the gateway ends X's call
            assert gateway.popen.wait(30) == 0
            await x.finish(30)
        finally:
            await group.close()
        finals = [e for e in x.all("transfer_status") if e["final"]]
        assert [e["code"] for e in finals] == [603], x.output()
        cdrs = {c["outcome"]: c for c in s.cdrs()}
        assert set(cdrs) == {"ended_by_gateway", "refused_sip_stack"}
        cdr = cdrs["ended_by_gateway"]  # X's call
        assert cdr["sip_codes"] == [180, 200]
        assert cdrs["refused_sip_stack"]["sip_codes"] == [603]  # the INVITE with Replaces
        refused = [e for e in gateway.events() if e.get("event") == "sip_replaces_refused"]
        assert [(e["status"], e["call_id"]) for e in refused] == [(603, cdr["call_id"])]
